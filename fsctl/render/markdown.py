"""Markdown rendering of a plan for a pull-request comment (templates/render/plan.md.j2)."""

from __future__ import annotations

from itertools import pairwise

from fsctl.diff import Plan
from fsctl.diff.plan import Blocked, Chain, FieldChange, PlanWarning
from fsctl.render.lineage import lineage_mermaid
from fsctl.render.text import switch_notes, unrecorded_note
from fsctl.render.values import SYMBOL, alias_fields, group_gates, plural, show
from fsctl.results.browse import VersionDiff
from fsctl.results.lineage import Lineage as Drawing
from fsctl.results.lineage import LineageEdge, LineageNode

_GATE_MARK = {"pass": ":white_check_mark: pass", "fail": ":x: fail", "unknown": ":grey_question: unknown"}


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`"


def plan_markdown(plan: Plan, title: str | None = None) -> str:
    import jinja2

    from fsctl.template_paths import templates_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "render")),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md
    template = env.get_template("plan.md.j2")
    breaking = [c for c in plan.changes if c.breaking]
    updated = [c for c in plan.changes if c.fields]
    switch = plan.store_change
    rows = []  # All changes: (action cell, object cell, impact); an alias move is its own row
    for c in plan.changes:
        moves = alias_fields(c)
        rows += [_alias_row(c.name, f) for f in moves]
        if len(moves) < len(c.fields) or not moves or c.breaks:
            rows.append((f"{SYMBOL[c.action]} {c.action}", f"{c.kind} `{c.name}`", c.impact))
    text = template.render(
        plan=plan,
        rows=rows,
        affected=_affected(plan),
        gate_groups=group_gates(plan),
        gate_mark=_GATE_MARK,
        chain_md=chain_markdown,
        title=title,
        s=plan.summary,
        breaking=breaking,
        updated=updated,
        symbol=SYMBOL,
        show=show,
        plural=plural,
        switch_notes=switch_notes(switch.before, _code) if switch else [],
        unrecorded_note=unrecorded_note(plan, _code),
    )
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def diff_markdown(result: VersionDiff) -> str:
    return plan_markdown(
        result.plan, title=f"changes in `{result.plan.project}` from version {result.before} to {result.after}"
    )


def _alias_row(model: str, f: FieldChange) -> tuple[str, str, str]:
    alias = f.path.split(".", 1)[1]
    if f.before is None:
        return "+ alias added", f"Model `{model}`: {alias} -> {f.after}", f.impact
    if f.after is None:
        return "- alias removed", f"Model `{model}`: {alias} {f.before} removed", f.impact
    return "~ alias move", f"Model `{model}`: {alias} {f.before} -> {f.after}", f.impact


def chain_markdown(chain: Chain) -> str:
    """`change` -> `service` -> `model/1` -> **`Production`** (protected aliases in bold)."""
    links = [f"`{link}`" for link in chain.links]
    if chain.protected:
        links[-1] = f"**{links[-1]}** (protected)"
    return " -> ".join(links)


def _affected(plan: Plan) -> list[tuple[str, Blocked | PlanWarning, str | None]]:
    """The entries with chains for "Models affected": (mark, entry, Mermaid block or None),
    blocked first, then allowed, then warnings; a drawing for those reaching a protected alias."""
    out: list[tuple[str, Blocked | PlanWarning, str | None]] = []
    entries: list[tuple[str, Blocked | PlanWarning]] = [(":no_entry:", b) for b in plan.blocked]
    entries += [(":warning: allowed", b) for b in plan.allowed]
    entries += [(":warning:", w) for w in plan.warnings]
    for mark, entry in entries:
        if entry.chains:
            drawing = _mermaid(entry.chains) if any(c.protected for c in entry.chains) else None
            out.append((mark, entry, drawing))
    return out


def _mermaid(chains: tuple[Chain, ...]) -> str:
    """Just the affected nodes: every link of the chains, the change as the root."""
    nodes: dict[str, LineageNode] = {}
    edges: dict[tuple[str, str], LineageEdge] = {}
    for chain in chains:
        kinds = chain.kinds or ("change",) * len(chain.links)
        ids = []
        for i, (link, kind) in enumerate(zip(chain.links, kinds, strict=False)):
            node_id = f"{kind}:{link}"
            last = i == len(chain.links) - 1
            protected = last and chain.alias is not None and chain.protected
            if node_id not in nodes or protected:
                nodes[node_id] = LineageNode(node_id, kind, link, {"protected": protected})
            ids.append(node_id)
        for a, b in pairwise(ids):
            edges.setdefault((a, b), LineageEdge(a, b, "reaches"))
    root = next(iter(nodes))
    drawing = Drawing(root, "downstream", "", 0, tuple(nodes.values()), tuple(edges.values()), None, None)
    return lineage_mermaid(drawing).rstrip("\n")
