"""Use case: ``fsctl lineage OBJECT``: what an applied object reads (upstream) and what reads
it (downstream), from the registry, over the one dependency graph
(:mod:`fsctl.definitions.graph`).

OBJECT is a name (an entity, source, view, service or model), ``Kind/name`` when a name is
used by several kinds (``FeatureView/trips``, the spelling ``--allow-breaking`` takes; a
word such as ``view/trips`` works too), ``view:feature``, ``model/VERSION`` or
``model@ALIAS``. A version is ASCII digits, a name starts with a letter, so ``a/3`` is
always a model version and ``a/b`` a kind and a name. Models, features and ``Kind/name``
are looked up by :class:`fsctl.services.catalog.Catalog`, with the messages of every other
command; only ``Kind/name`` and a bare name's kind are resolved here.

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

import re
from typing import Any

from fsctl.definitions import graph as g
from fsctl.definitions.graph import DefinitionGraph, Node, build_graph
from fsctl.errors import UsageError, did_you_mean
from fsctl.registry import RegistryReader
from fsctl.results.lineage import BOTH, DOWNSTREAM, UPSTREAM, Branch, Lineage, LineageEdge, LineageNode
from fsctl.services.browse import resolve_kind
from fsctl.services.catalog import Catalog
from fsctl.services.project import Project

KIND_RANK = {
    k: i
    for i, k in enumerate(
        ("entity", "source", "view", "feature", "service", "model", "model_version", "alias")
    )
}


def lineage(project: Project, registry: RegistryReader, ref: str, direction: str = BOTH) -> Lineage:
    """The lineage of ``ref`` in the registry's current version."""
    return build_lineage(Catalog(project, registry), ref, direction)


def build_lineage(catalog: Catalog, ref: str, direction: str = BOTH) -> Lineage:
    """The lineage of ``ref`` among the catalog's objects; aliases in the project's
    ``protected_aliases`` are protected."""
    documents = catalog.objects
    graph = build_graph(documents)
    root = resolve_object(catalog, graph, ref)
    walk = _Walk(graph, root)
    up = walk.tree(walk.parents) if direction in (BOTH, UPSTREAM) else None
    down = walk.tree(walk.children) if direction in (BOTH, DOWNSTREAM) else None
    protected_aliases = catalog.project.protected_aliases
    order = sorted(walk.nodes - {root}, key=_rank)
    nodes = tuple(_node(graph, documents, n, set(protected_aliases)) for n in (root, *order))
    rank = {n.id: i for i, n in enumerate(nodes)}
    edges = tuple(sorted(walk.edges.values(), key=lambda e: (rank[e.source], rank[e.target])))
    return Lineage(
        root.id, direction, catalog.project.registry_uri, catalog.version, nodes, edges, up, down, protected_aliases
    )


def _rank(node: Node) -> tuple[int, str, int]:
    """Nodes by kind, then name; a model's versions by number (2 before 10)."""
    if node.kind == "model_version":
        model_name, _, number = node.name.rpartition("/")
        return KIND_RANK[node.kind], model_name, int(number)
    return KIND_RANK[node.kind], node.name, 0


# -- resolving OBJECT ------------------------------------------------------------------------


def resolve_object(catalog: Catalog, graph: DefinitionGraph, ref: str) -> Node:
    """The node ``ref`` names (see the module docstring), or a UsageError that says how to
    name it: the candidates of an ambiguous name, the closest name of a misspelt one. Models,
    features and named kinds are looked up by the catalog, as every command does."""
    text = ref.strip()
    if not text:
        raise UsageError("name the object to show the lineage of", hint=_FORMS)
    if "@" in text:
        model_name, alias_name, _ = catalog.model_version(text)
        return g.alias(model_name, str(alias_name))
    if ":" in text:
        return g.feature(*catalog.feature(text))
    if "/" in text:
        left, _, right = text.partition("/")
        if re.fullmatch("[0-9]+", right):
            model_name, _, version = catalog.model_version(text)
            return g.model_version(model_name, int(version["version"]))
        kind = resolve_kind(left)
        catalog.get(kind, right)
        return g.object_node(kind, right)
    return _bare_name(catalog, graph, text)


_FORMS = "give NAME, Kind/NAME (FeatureView/NAME, ...), VIEW:FEATURE, MODEL/VERSION or MODEL@ALIAS"


def _bare_name(catalog: Catalog, graph: DefinitionGraph, name: str) -> Node:
    documents = catalog.objects
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
        hint = did_you_mean(name, every, "objects", otherwise=_FORMS)
    raise UsageError(f"no object named '{name}' in {catalog.where}", hint=hint)


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
    return sorted(found.items(), key=lambda item: _rank(item[0]))


# -- nodes -------------------------------------------------------------------------------------


def _node(graph: DefinitionGraph, documents: g.Documents, node: Node, protected: set[str]) -> LineageNode:
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
        kind = g.yaml_kind(documents, node) or ""
        if kind == "SqlSource":
            attrs["sql"] = True
        owner = documents.get(kind, {}).get(node.name, {}).get("owner")
        if owner:
            attrs["owner"] = owner
    return LineageNode(node.id, node.kind, node.name, attrs)
