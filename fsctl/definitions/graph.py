"""The one dependency graph over definitions: which object feeds which.

Validation (dangling references), the plan's blocked-change analysis, ``fsctl lineage``
(:mod:`fsctl.services.lineage`) and the web UI all read this graph; nothing else derives dependencies.
It is built from the canonical form of the objects (``FsctlObject.to_dict()``, which is
also what the registry stores) or from the objects themselves, so the same code serves a
loaded repo, a plan's desired objects and any registry version.

Nodes, with their ids::

    entity:driver                      source:driver_stats_source
    view:driver_hourly_stats           feature:driver_hourly_stats:conv_rate
    service:driver_activity_v1         model:churn_classifier
    model_version:churn_classifier/2   alias:churn_classifier@Production

Edges point downstream, from what is used to what uses it, and say how (``relation``) and
through which field of the downstream object (``field``, as validation messages name it)::

    entity  --keys-->      view         (field entities[i])
    source  --feeds-->     view         (field source)
    source  --feeds-->     source       (field query: a SqlSource reads it through {{ source('name') }})
    view    --has-->       feature
    view    --selected-->  service      (field features[i]; a subset of the view's features)
    view    --selected-all--> service   (field features[i]; the whole view)
    feature --selected-->  service      (field features[i]; every feature of a whole-view selection)
    service --bound-->     model_version (field versions[i].feature_service)
    model   --has-->       model_version
    model_version --aliased--> alias    (field aliases.NAME)

A FileSource and a SqlSource are both ``source`` nodes: a view names its source without
saying which kind it is, so source names are unique across the two kinds (the loader says
so), and :func:`source_kind` tells which one a name is.

A reference to an object that is not defined is kept as an edge from a node that is not
``defined``: :meth:`DefinitionGraph.dangling` lists them for validation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fsctl.definitions.sql_query import upstream_names

# YAML kind -> node kind
NODE_KINDS = {
    "Entity": "entity",
    "FileSource": "source",
    "SqlSource": "source",
    "FeatureView": "view",
    "FeatureService": "service",
    "Model": "model",
}
# node kind -> YAML kind (a source node may also be a SqlSource: see source_kind)
YAML_KINDS = {node_kind: yaml_kind for yaml_kind, node_kind in reversed(NODE_KINDS.items())}
SOURCE_KINDS = ("FileSource", "SqlSource")
KEYS, FEEDS, HAS, BOUND, ALIASED = "keys", "feeds", "has", "bound", "aliased"
SELECTED, SELECTED_ALL = "selected", "selected-all"  # a subset of a view / the whole view
SELECTIONS = (SELECTED, SELECTED_ALL)

Documents = Mapping[str, Mapping[str, Mapping[str, Any]]]  # kind -> name -> canonical dict


class Node(NamedTuple):
    """A node; a tuple, so building and hashing thousands of them is cheap."""

    kind: str  # entity source view feature service model model_version alias
    name: str  # view:feature for a feature, model/3 for a version, model@Alias for an alias

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    def __str__(self) -> str:
        return self.id


class Edge(NamedTuple):
    upstream: Node
    downstream: Node
    relation: str
    field: str | None = None  # the downstream object's field that makes the reference


def entity(name: str) -> Node:
    return Node("entity", name)


def source(name: str) -> Node:
    return Node("source", name)


def view(name: str) -> Node:
    return Node("view", name)


def feature(view_name: str, name: str) -> Node:
    return Node("feature", f"{view_name}:{name}")


def service(name: str) -> Node:
    return Node("service", name)


def model(name: str) -> Node:
    return Node("model", name)


def model_version(model_name: str, number: int) -> Node:
    return Node("model_version", f"{model_name}/{number}")


def alias(model_name: str, name: str) -> Node:
    return Node("alias", f"{model_name}@{name}")


def join_keys(view: Any, entities: Mapping[str, Any]) -> tuple[str, ...]:
    """The one rule for a view's join keys: its entities' keys, in the order the view lists
    its entities. ``view`` and the values of ``entities`` may be definition objects or their
    canonical dicts; an entity missing from ``entities`` is skipped (validation reports it)."""

    def get(obj: Any, name: str) -> Any:
        return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)

    return tuple(k for e in get(view, "entities") if e in entities for k in get(entities[e], "join_keys"))


def is_online(view: Mapping[str, Any]) -> bool:
    """The one rule for a view's ``online`` flag: a view (its canonical dict) is served online
    unless it says ``online: false``."""
    return bool(view.get("online", True))


def has_online_views(documents: Documents) -> bool:
    """Whether any view among ``documents`` (kind -> name -> canonical dict) is online: what
    the online store of a registry holds, and what makes a switch of store matter."""
    return any(is_online(v) for v in documents.get("FeatureView", {}).values())


def source_kind(documents: Mapping[str, Mapping[str, Any]], name: str) -> str | None:
    """Which kind of source ``name`` is in ``documents`` (kind -> name -> anything), or None."""
    return next((kind for kind in SOURCE_KINDS if name in documents.get(kind, {})), None)


def find_source(documents: Mapping[str, Mapping[str, Any]], name: str) -> Any:
    """The source ``name`` (FileSource or SqlSource) of ``documents``, or None."""
    kind = source_kind(documents, name)
    return None if kind is None else documents[kind][name]


def yaml_kind(documents: Mapping[str, Mapping[str, Any]], node: Node) -> str | None:
    """The YAML kind of a defined object node (None for features, versions, aliases)."""
    if node.kind == "source":
        return source_kind(documents, node.name) or "FileSource"
    return YAML_KINDS.get(node.kind)


def object_node(kind: str, name: str) -> Node:
    """The node of a definition object, by its YAML kind."""
    return Node(NODE_KINDS[kind], name)


@dataclass
class DefinitionGraph:
    """Nodes that are defined, and every edge between nodes (defined or not)."""

    defined: set[Node] = field(default_factory=set)
    edges: list[Edge] = field(default_factory=list)
    _index: tuple[dict[Node, list[Edge]], dict[Node, list[Edge]]] | None = field(default=None, repr=False)

    def _add(self, edge: Edge) -> None:
        self.edges.append(edge)
        self._index = None

    def _indexes(self) -> tuple[dict[Node, list[Edge]], dict[Node, list[Edge]]]:
        """(downstream edges by node, upstream edges by node), built on the first query:
        validation only walks ``dangling()`` and never pays for them."""
        if self._index is None:
            down: dict[Node, list[Edge]] = {}
            up: dict[Node, list[Edge]] = {}
            for edge in self.edges:
                down.setdefault(edge.upstream, []).append(edge)
                up.setdefault(edge.downstream, []).append(edge)
            self._index = (down, up)
        return self._index

    @property
    def _down(self) -> dict[Node, list[Edge]]:
        return self._indexes()[0]

    @property
    def _up(self) -> dict[Node, list[Edge]]:
        return self._indexes()[1]

    # -- queries ---------------------------------------------------------------------

    def has(self, node: Node) -> bool:
        return node in self.defined

    def downstream_edges(self, node: Node) -> list[Edge]:
        return list(self._down.get(node, ()))

    def upstream_edges(self, node: Node) -> list[Edge]:
        return list(self._up.get(node, ()))

    def children(self, node: Node, *relations: str) -> list[Node]:
        """Defined nodes directly downstream of ``node`` (through one of ``relations`` if
        given), sorted."""
        return sorted(
            {
                e.downstream
                for e in self._down.get(node, ())
                if (not relations or e.relation in relations) and e.downstream in self.defined
            }
        )

    def parents(self, node: Node, *relations: str) -> list[Node]:
        """Nodes directly upstream of ``node`` (defined or not; through one of ``relations``
        if given), sorted."""
        return sorted({e.upstream for e in self._up.get(node, ()) if not relations or e.relation in relations})

    def downstream(self, start: Iterable[Node]) -> list[Node]:
        """Every defined node reachable downstream of ``start`` (not including it), sorted."""
        return self._walk(start, self._down, lambda e: e.downstream)

    def upstream(self, start: Iterable[Node]) -> list[Node]:
        """Every defined node reachable upstream of ``start`` (not including it), sorted."""
        return self._walk(start, self._up, lambda e: e.upstream)

    def _walk(self, start: Iterable[Node], index: Mapping[Node, list[Edge]], step: Any) -> list[Node]:
        first = set(start)
        seen: set[Node] = set()
        todo = list(first)
        while todo:
            node = todo.pop()
            for edge in index.get(node, ()):
                nxt = step(edge)
                if nxt not in seen and nxt in self.defined:
                    seen.add(nxt)
                    todo.append(nxt)
        return sorted(seen - first)

    def fed_views(self, node: Node) -> list[Node]:
        """The views a source feeds, directly or through SQL sources that read it, sorted."""
        found: set[Node] = set()
        seen = {node}
        todo = [node]
        while todo:
            for child in self.children(todo.pop(), FEEDS):
                if child.kind == "view":
                    found.add(child)
                elif child not in seen:
                    seen.add(child)
                    todo.append(child)
        return sorted(found)

    def source_cycles(self) -> list[list[Node]]:
        """Sources that read themselves through SQL source queries: each cycle once, as the
        path from its smallest node back to it."""
        cycles: list[list[Node]] = []
        sources = sorted(n for n in self.defined if n.kind == "source")
        done: set[Node] = set()
        for start in sources:
            stack: list[tuple[Node, list[Node]]] = [(start, [start])]
            while stack:
                node, path = stack.pop()
                for child in self.children(node, FEEDS):
                    if child == start and not any(c in done for c in path):
                        cycles.append([*path, start])
                    elif child.kind == "source" and child not in path and child > start:
                        stack.append((child, [*path, child]))
            done.add(start)
        return cycles

    def dangling(self) -> Iterator[Edge]:
        """Edges whose upstream node is not defined: references to missing objects, in
        the order the objects were added."""
        return (e for e in self.edges if e.upstream not in self.defined)

    def aliases_of(self, version: Node) -> list[str]:
        """Alias names pointing at a model version, sorted."""
        return sorted(n.name.partition("@")[2] for n in self.children(version, ALIASED))


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a canonical dict or of a definition object (``schema`` is ``schema_`` there)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, "schema_" if name == "schema" else name, default)


def build_graph(documents: Documents | Mapping[str, Mapping[str, Any]]) -> DefinitionGraph:
    """The graph of ``documents``: kind -> name -> canonical dict, or -> definition object
    (the loader builds it from the objects it has, without dumping them)."""
    graph = DefinitionGraph()
    views = documents.get("FeatureView", {})
    for kind in NODE_KINDS:
        for name in documents.get(kind, {}):
            graph.defined.add(object_node(kind, name))
    for name, doc in documents.get("SqlSource", {}).items():
        for upstream in upstream_names(_get(doc, "query", "")):
            graph._add(Edge(source(upstream), source(name), FEEDS, "query"))
    for name, doc in views.items():
        node = view(name)
        for i, entity_name in enumerate(_get(doc, "entities", ())):
            graph._add(Edge(entity(entity_name), node, KEYS, f"entities[{i}]"))
        graph._add(Edge(source(_get(doc, "source")), node, FEEDS, "source"))
        for spec in _get(doc, "schema", ()):
            child = feature(name, _get(spec, "name"))
            graph.defined.add(child)
            graph._add(Edge(node, child, HAS))
    for name, doc in documents.get("FeatureService", {}).items():
        node = service(name)
        for i, selection in enumerate(_get(doc, "features", ())):
            where = f"features[{i}]"
            view_name = _get(selection, "view")
            chosen = _get(selection, "features")
            graph._add(Edge(view(view_name), node, SELECTED_ALL if chosen is None else SELECTED, where))
            if chosen is None:  # the whole view: every feature it has
                chosen = [_get(f, "name") for f in _get(views.get(view_name, {}), "schema", ())]
            elif view_name not in views:
                continue  # the missing view is the problem to report, not each feature
            for feature_name in chosen:
                graph._add(Edge(feature(view_name, feature_name), node, SELECTED, where))
    for name, doc in documents.get("Model", {}).items():
        node = model(name)
        for i, version in enumerate(_get(doc, "versions", ())):
            child = model_version(name, _get(version, "version"))
            graph.defined.add(child)
            graph._add(Edge(node, child, HAS))
            graph._add(
                Edge(service(_get(version, "feature_service")), child, BOUND, f"versions[{i}].feature_service")
            )
        for alias_name, number in (_get(doc, "aliases") or {}).items():
            child = alias(name, alias_name)
            graph.defined.add(child)
            graph._add(Edge(model_version(name, number), child, ALIASED, f"aliases.{alias_name}"))
    return graph
