"""Use case: ``fsctl lineage OBJECT``: what an applied object reads (upstream) and what reads
it (downstream), from the registry, over the one dependency graph
(:mod:`fsctl.definitions.graph`).

OBJECT is a name (an entity, source, view, service or model), ``Kind/name`` when a name is
used by several kinds (``FeatureView/trips``, the spelling ``--allow-breaking`` takes; a
word such as ``view/trips`` works too), ``view:feature``, ``model/VERSION`` or
``model@ALIAS``. A version is all digits, a name starts with a letter, so ``a/3`` is
always a model version and ``a/b`` a kind and a name.

What the walk shows, to keep trees readable and answers exact:

* a view's features are nodes only when the object is that view or one of its features:
  a view's downstream then goes through its features (which services read which feature),
  any other walk goes from views to services directly;
* downstream ends at aliases; a model is reached only from itself: its upstream is what
  each of its versions reads, its downstream its versions and their aliases;
* an alias in the project's ``protected_aliases`` is ``protected``, and so is a version
  that such an alias names (it is "behind a protected alias").
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from fsctl.definitions import graph as g
from fsctl.definitions.config import DEFAULT_PROTECTED_ALIASES
from fsctl.definitions.graph import DefinitionGraph, Node, build_graph
from fsctl.errors import UsageError
from fsctl.registry import RegistryReader
from fsctl.results.lineage import BOTH, DOWNSTREAM, UPSTREAM, Branch, Lineage, LineageEdge, LineageNode
from fsctl.services.browse import resolve_kind
from fsctl.services.catalog import nothing_applied
from fsctl.services.project import Project

Documents = Mapping[str, Mapping[str, Mapping[str, Any]]]

KIND_RANK = {
    k: i
    for i, k in enumerate(
        ("entity", "source", "view", "feature", "service", "model", "model_version", "alias")
    )
}
_YAML_KIND = {node_kind: yaml_kind for yaml_kind, node_kind in g.NODE_KINDS.items()}


def lineage(project: Project, registry: RegistryReader, ref: str, direction: str = BOTH) -> Lineage:
    """The lineage of ``ref`` in the registry's current version."""
    snapshot = registry.read()
    if not snapshot.exists or not any(snapshot.objects.values()):
        raise nothing_applied(registry.location, snapshot.version)
    where = f"the registry {project.registry_uri} (version {snapshot.version})"
    return build_lineage(
        snapshot.objects,
        ref,
        direction,
        project.protected_aliases,
        project.registry_uri,
        snapshot.version,
        where,
    )


def build_lineage(
    documents: Documents,
    ref: str,
    direction: str = BOTH,
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES,
    registry: str = "",
    registry_version: int = 0,
    where: str = "the registry",
) -> Lineage:
    """The lineage of ``ref`` among ``documents`` (kind -> name -> canonical dict)."""
    graph = build_graph(documents)
    root = resolve_object(graph, documents, ref, where)
    walk = _Walk(graph, root)
    up = walk.tree(walk.parents) if direction in (BOTH, UPSTREAM) else None
    down = walk.tree(walk.children) if direction in (BOTH, DOWNSTREAM) else None
    protected = set(protected_aliases)
    order = sorted(walk.nodes - {root}, key=lambda n: (KIND_RANK[n.kind], n.name))
    nodes = tuple(_node(graph, documents, n, protected) for n in (root, *order))
    rank = {n.id: i for i, n in enumerate(nodes)}
    edges = tuple(sorted(walk.edges.values(), key=lambda e: (rank[e.source], rank[e.target])))
    return Lineage(
        root.id, direction, registry, registry_version, nodes, edges, up, down, tuple(protected_aliases)
    )


# -- resolving OBJECT ------------------------------------------------------------------------


def resolve_object(
    graph: DefinitionGraph, documents: Documents, ref: str, where: str = "the registry"
) -> Node:
    """The node ``ref`` names (see the module docstring), or a UsageError that says how to
    name it: the candidates of an ambiguous name, the closest name of a misspelt one."""
    text = ref.strip()
    if not text:
        raise UsageError("name the object to show the lineage of", hint=_FORMS)
    if "@" in text:
        model_name, _, alias_name = text.partition("@")
        aliases = _model(documents, model_name, where).get("aliases") or {}
        if alias_name not in aliases:
            raise UsageError(
                f"model '{model_name}' has no alias '{alias_name}' in {where}",
                hint=_pick(alias_name, aliases, "its aliases"),
            )
        return g.alias(model_name, alias_name)
    if ":" in text:
        view_name, _, feature_name = text.partition(":")
        doc = _named(documents, "FeatureView", view_name, where)
        names = [f["name"] for f in doc.get("schema", ())]
        if feature_name not in names:
            raise UsageError(
                f"view '{view_name}' has no feature '{feature_name}'",
                hint=_pick(feature_name, names, "its features"),
            )
        return g.feature(view_name, feature_name)
    if "/" in text:
        left, _, right = text.partition("/")
        if right.isdigit():
            versions = [int(v["version"]) for v in _model(documents, left, where).get("versions", ())]
            if int(right) not in versions:
                raise UsageError(
                    f"model '{left}' has no version {int(right)} in {where}",
                    hint=f"its versions: {', '.join(map(str, versions)) or 'none'}",
                )
            return g.model_version(left, int(right))
        kind = resolve_kind(left)
        _named(documents, kind, right, where)
        return g.object_node(kind, right)
    return _bare_name(graph, documents, text, where)


_FORMS = "give NAME, Kind/NAME (FeatureView/NAME, ...), VIEW:FEATURE, MODEL/VERSION or MODEL@ALIAS"


def _bare_name(graph: DefinitionGraph, documents: Documents, name: str, where: str) -> Node:
    kinds = [kind for kind in g.NODE_KINDS if name in documents.get(kind, {})]
    if len(kinds) == 1:
        return g.object_node(kinds[0], name)
    if kinds:
        candidates = ", ".join(f"{kind}/{name}" for kind in kinds)
        raise UsageError(
            f"'{name}' names {len(kinds)} objects: {candidates}",
            hint=f"name the kind too, e.g. `fsctl lineage {kinds[0]}/{name}`",
        )
    features = sorted(
        n.name for n in graph.defined if n.kind == "feature" and n.name.partition(":")[2] == name
    )
    if features:
        hint = f"a feature is named view:feature: {' or '.join(features)}"
    else:
        every = [n for kind in g.NODE_KINDS for n in documents.get(kind, {})]
        close = difflib.get_close_matches(name, every, n=1)
        hint = f"did you mean '{close[0]}'?" if close else _FORMS
    raise UsageError(f"no object named '{name}' in {where}", hint=hint)


def _named(documents: Documents, kind: str, name: str, where: str) -> Mapping[str, Any]:
    objects = documents.get(kind, {})
    if name not in objects:
        raise UsageError(
            f"no {kind} named '{name}' in {where}", hint=_pick(name, objects, f"the {kind} objects")
        )
    return objects[name]


def _model(documents: Documents, name: str, where: str) -> Mapping[str, Any]:
    return _named(documents, "Model", name, where)


def _pick(name: str, choices: Any, what: str) -> str:
    options = sorted(choices)
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what}: {', '.join(options)}" if options else f"{what}: none"


# -- the walk ----------------------------------------------------------------------------------


class _Walk:
    """Grows the two trees from the root and records every node and edge they use."""

    def __init__(self, graph: DefinitionGraph, root: Node) -> None:
        self.graph = graph
        self.root = root
        self.nodes: set[Node] = {root}
        self.edges: dict[tuple[str, str], LineageEdge] = {}

    def tree(self, step: Any) -> Branch:
        expanded: set[Node] = set()

        def grow(node: Node, features: tuple[str, ...]) -> Branch:
            if node in expanded:
                return Branch(node.id, (), True, features)
            expanded.add(node)
            children = tuple(grow(nxt, feats) for nxt, feats in step(node))
            return Branch(node.id, children, False, features)

        return grow(self.root, ())

    def _use(self, upstream: Node, downstream: Node, relation: str, features: tuple[str, ...]) -> None:
        self.nodes.update((upstream, downstream))
        self.edges[(upstream.id, downstream.id)] = LineageEdge(upstream.id, downstream.id, relation, features)

    def children(self, node: Node) -> list[tuple[Node, tuple[str, ...]]]:
        """What reads ``node``, each with the features a selection of it carries."""
        out: dict[Node, tuple[str, ...]] = {}
        for edge in self.graph.downstream_edges(node):
            nxt = edge.downstream
            if not self.graph.has(nxt):
                continue
            if nxt.kind == "feature" and node != self.root:
                continue  # a view's features only when the view is the object
            if node == self.root and node.kind == "view" and nxt.kind == "service":
                continue  # the view's services are reached through its features
            features = (
                self._selected(node, nxt) if edge.relation == g.SELECTED and node.kind == "view" else ()
            )
            self._use(node, nxt, edge.relation, features)
            out[nxt] = features
        return _ordered(out)

    def parents(self, node: Node) -> list[tuple[Node, tuple[str, ...]]]:
        """What ``node`` reads; for the root model, its versions (what each reads is above them)."""
        out: dict[Node, tuple[str, ...]] = {}
        if node == self.root and node.kind == "model":
            for version in self.graph.children(node, g.HAS):
                self._use(node, version, g.HAS, ())
                out[version] = ()
            return _ordered(out)
        for edge in self.graph.upstream_edges(node):
            prev = edge.upstream
            if not self.graph.has(prev) or prev.kind in ("model", "feature"):
                continue  # a version's model is not what it reads; features: see the docstring
            features = (
                self._selected(prev, node) if edge.relation == g.SELECTED and prev.kind == "view" else ()
            )
            self._use(prev, node, edge.relation, features)
            out[prev] = features
        return _ordered(out)

    def _selected(self, view: Node, service: Node) -> tuple[str, ...]:
        """The features of ``view`` that ``service`` selects (a subset selection)."""
        prefix = f"{view.name}:"
        return tuple(
            sorted(
                p.name.partition(":")[2]
                for p in self.graph.parents(service, g.SELECTED)
                if p.kind == "feature" and p.name.startswith(prefix)
            )
        )


def _ordered(found: dict[Node, tuple[str, ...]]) -> list[tuple[Node, tuple[str, ...]]]:
    return sorted(found.items(), key=lambda item: (KIND_RANK[item[0].kind], item[0].name))


# -- nodes -------------------------------------------------------------------------------------


def _node(graph: DefinitionGraph, documents: Documents, node: Node, protected: set[str]) -> LineageNode:
    attrs: dict[str, Any] = {}
    if node.kind == "feature":
        view_name, _, feature_name = node.name.partition(":")
        attrs = {"view": view_name, "feature": feature_name}
    elif node.kind == "model_version":
        model_name, _, number = node.name.partition("/")
        aliases = graph.aliases_of(node)
        attrs = {"model": model_name, "version": int(number), "aliases": aliases}
        attrs["protected"] = any(a in protected for a in aliases)
    elif node.kind == "alias":
        model_name, _, alias_name = node.name.partition("@")
        attrs = {
            "model": model_name,
            "alias": alias_name,
            "version": (documents["Model"][model_name].get("aliases") or {}).get(alias_name),
            "protected": alias_name in protected,
        }
    else:
        owner = documents.get(_YAML_KIND[node.kind], {}).get(node.name, {}).get("owner")
        if owner:
            attrs["owner"] = owner
    return LineageNode(node.id, node.kind, node.name, attrs)
