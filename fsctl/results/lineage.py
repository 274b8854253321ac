"""The result of ``fsctl lineage``: the part of the dependency graph around one object.

:class:`Lineage` holds it twice, for its two readers: as a graph (nodes and edges, what the
JSON and Mermaid outputs show) and as two trees grown from the root (what the text shows:
upstream, what the object reads; downstream, what reads it). Both come from the same walk
(:mod:`fsctl.services.lineage`), so every edge of a tree is an edge of the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UPSTREAM, DOWNSTREAM, BOTH = "upstream", "downstream", "both"


@dataclass(frozen=True)
class LineageNode:
    id: str  # the graph's node id: view:driver_hourly_stats, feature:driver_hourly_stats:conv_rate
    kind: str  # entity source view feature service model model_version alias
    name: str  # view:feature for a feature, model/3 for a version, model@Alias for an alias
    # Extra keys of the JSON node: view/feature, model/version/alias, owner, and
    # protected (an alias in project.protected_aliases; a version such an alias names).
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def protected(self) -> bool:
        return bool(self.attrs.get("protected"))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, **self.attrs}


@dataclass(frozen=True)
class LineageEdge:
    """An edge pointing downstream: from what is used to what uses it."""

    source: str  # node id
    target: str  # node id
    relation: str  # keys feeds has selected selected-all bound aliased
    features: tuple[str, ...] = ()  # a view -> service selection of some features: which

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.source, "to": self.target, "relation": self.relation}
        if self.features:
            out["features"] = list(self.features)
        return out


@dataclass(frozen=True)
class Branch:
    """A node of a text tree. ``repeated``: the node was expanded earlier in the same tree,
    so its children are not shown again."""

    node: str  # node id
    children: tuple[Branch, ...] = ()
    repeated: bool = False
    features: tuple[str, ...] = ()  # the features a selection edge to this node carries


@dataclass(frozen=True)
class Lineage:
    root: str  # node id
    direction: str  # both | upstream | downstream
    registry: str
    registry_version: int
    nodes: tuple[LineageNode, ...]  # the root first, then by kind and name
    edges: tuple[LineageEdge, ...]
    upstream: Branch | None  # None when not asked for
    downstream: Branch | None
    protected_aliases: tuple[str, ...] = ()

    def node(self, node_id: str) -> LineageNode:
        return next(n for n in self.nodes if n.id == node_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "registry": self.registry,
            "registry_version": self.registry_version,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }
