"""Text, JSON and Mermaid rendering of a :class:`~fsctl.results.lineage.Lineage`.

* text: the upstream tree (what the object reads), then the downstream tree (what reads
  it), kinds named, protected aliases marked; a node met again in the same tree is shown
  once more with ``(see above)`` instead of its branch;
* json: DESIGN's ``{"nodes": [{"id", "kind", "name", ...}], "edges": [{"from", "to"}]}``
  plus ``root``, ``direction``, ``registry``, ``registry_version``, ``relation`` on edges;
* mermaid: a fenced ```` ```mermaid ```` block holding a ``flowchart LR``, ready to paste
  into a pull-request comment or a Markdown file (GitHub draws it); node ids are ``n0``,
  ``n1``, ... (the root is ``n0``), labels quoted, the root and protected aliases styled.
"""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.lineage import Branch, Lineage, LineageNode

KIND_WORDS = {"model_version": "model version"}


def label(node: LineageNode) -> str:
    return f"{KIND_WORDS.get(node.kind, node.kind)} {node.name}"


def _marks(node: LineageNode) -> str:
    if node.kind == "alias" and node.protected:
        return "  [protected]"
    if node.kind == "model_version" and node.protected:
        return "  [behind a protected alias]"
    return ""


def lineage_text(result: Lineage) -> str:
    root = result.node(result.root)
    where = f" in registry {result.registry} (version {result.registry_version})" if result.registry else ""
    lines = [f"Lineage of {label(root)}{where}"]
    for title, tree, nothing in (
        ("Upstream: what it reads", result.upstream, "nothing upstream"),
        ("Downstream: what reads it", result.downstream, "nothing reads it"),
    ):
        if tree is None:
            continue
        lines += ["", title]
        lines += _tree(result, tree) if tree.children else [f"  ({nothing})"]
    lines += _versions_summary(result)
    return "\n".join(lines) + "\n"


def _tree(result: Lineage, top: Branch) -> list[str]:
    lines = [label(result.node(top.node)) + _marks(result.node(top.node))]
    branches = {b.node for b in _branches(top) if b.children}  # nodes with a branch to point back to

    def walk(branch: Branch, prefix: str) -> None:
        for i, child in enumerate(branch.children):
            last = i == len(branch.children) - 1
            node = result.node(child.node)
            text = label(node)
            if child.features:
                text += f" ({', '.join(child.features)})"
            text += _marks(node)
            if child.repeated and child.node in branches:
                text += "  (see above)"
            lines.append(f"{prefix}{'└── ' if last else '├── '}{text}")
            walk(child, prefix + ("    " if last else "│   "))

    walk(top, "")
    return lines


def _branches(top: Branch) -> list[Branch]:
    out, todo = [], [top]
    while todo:
        branch = todo.pop()
        out.append(branch)
        todo.extend(branch.children)
    return out


def _versions_summary(result: Lineage) -> list[str]:
    """Which model versions read the object, and which of them a protected alias names (not
    for a model, a version or an alias: their versions are their own, not readers)."""
    if result.downstream is None or result.node(result.root).kind in ("model", "model_version", "alias"):
        return []
    below = {b.node for b in _branches(result.downstream)}
    versions = [n for n in result.nodes if n.kind == "model_version" and n.id in below]
    if not versions:
        return []
    named = []
    for n in versions:
        guards = [a for a in n.attrs["aliases"] if a in result.protected_aliases]
        named.append(n.name + (f" ({', '.join(guards)})" if guards else ""))
    behind = sum(1 for n in versions if n.protected)
    count = f"{len(versions)} model version{'s' if len(versions) != 1 else ''}"
    return ["", f"Read by {count}, {behind} behind a protected alias: {', '.join(named)}"]


def lineage_json(result: Lineage) -> str:
    return dumps(result.to_dict())


# Mermaid node shapes by kind: sources are cylinders, features rounded, aliases stadiums.
_SHAPES = {"source": ('[("', '")]'), "feature": ('("', '")'), "alias": ('(["', '"])')}


def mermaid_label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (names are already plain; this is a guard)."""
    for char, entity in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, entity)
    return text


def lineage_mermaid(result: Lineage) -> str:
    ids = {node.id: f"n{i}" for i, node in enumerate(result.nodes)}
    lines = ["```mermaid", "flowchart LR"]
    for node in result.nodes:
        opening, closing = _SHAPES.get(node.kind, ('["', '"]'))
        text = label(node) + (" (protected)" if node.kind == "alias" and node.protected else "")
        lines.append(f"  {ids[node.id]}{opening}{mermaid_label(text)}{closing}")
    for edge in result.edges:
        lines.append(f"  {ids[edge.source]} --> {ids[edge.target]}")
    lines.append("  classDef root stroke-width:3px,stroke:#1f6feb,fill:#ddf4ff")
    lines.append("  classDef protected stroke-width:2px,stroke:#cf222e,fill:#ffebe9")
    lines.append(f"  class {ids[result.root]} root")
    protected = [ids[n.id] for n in result.nodes if n.kind == "alias" and n.protected and n.id != result.root]
    if protected:
        lines.append(f"  class {','.join(protected)} protected")
    lines.append("```")
    return "\n".join(lines) + "\n"
