"""What a breaking change reaches, and whether the plan blocks it or only warns.

The planner's rule (see :mod:`fsctl.diff.builder`): a breaking change or a deletion is
judged by what depends on it in the graph of the desired objects
(:mod:`fsctl.definitions.graph`), walked from the object (or, for a view whose breaking
changes are all in its schema, from the changed features) down to the model versions:

a. a dependent model version behind a *protected* alias (one in ``models.protected_aliases``,
   in the registry now or in the desired objects): **blocked**;
b. else, when every dependent path ends in model versions that no protected alias names
   (or that are archived): a **warning**, not a block;
c. else, when something depends on it that no model version is bound to (a view read
   directly by online clients, a service without a model): **blocked**, as always.

Each path becomes a :class:`~fsctl.diff.plan.Chain` from the change (its short label) to
the version and the alias naming it, protected chains first. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsctl.definitions import graph as g
from fsctl.definitions.graph import DefinitionGraph
from fsctl.definitions.values import format_duration
from fsctl.diff.plan import BREAKING, DELETE, UPDATE, Chain, Change, FieldChange

Objects = Mapping[str, Mapping[str, dict[str, Any]]]
Path = tuple[g.Node, ...]


def change_label(change: Change) -> str:
    """The first link of a change's chains: what changes, in a few words."""
    if change.action == DELETE:
        return f"{change.kind} {change.name} deleted"
    parts = [_field_label(change.name, f) for f in change.fields if f.impact == BREAKING]
    if not parts:
        parts = [f"{gap.ref} {gap.trained} -> {gap.now or '(none)'}" for gap in change.breaks]
    return ", ".join(dict.fromkeys(parts)) or f"{change.kind} {change.name} changed"


def _value(path: str, value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if path.split(".")[-1] == "ttl" and isinstance(value, int):
        return format_duration(value) if value else "0"
    if isinstance(value, dict) and "dtype" in value:
        return str(value["dtype"])
    if isinstance(value, dict) and "feature_service" in value:
        return f"v{path.split('.')[1]}"
    return "*" if value == "*" else str(value)


def _field_label(name: str, f: FieldChange) -> str:
    if f.path == "query" and f.before is not None and f.after is not None:
        return f"{name}.query changed"  # a SQL source's query: too long for a chain link
    path = f.path.removeprefix("schema.")
    if path.endswith(".dtype"):
        path = path.removesuffix(".dtype") + " dtype"
    if f.after is None:
        return f"{name}.{path} removed"
    if f.before is None:
        return f"{name}.{path} added"
    return f"{name}.{path} {_value(f.path, f.before)} -> {_value(f.path, f.after)}"


def _services_of_view(graph: DefinitionGraph, view: str, features: set[str] | None) -> list[g.Node]:
    if features is None:
        return graph.children(g.view(view), *g.SELECTIONS)
    found = set(graph.children(g.view(view), g.SELECTED_ALL))
    found.update(s for f in features for s in graph.children(g.feature(view, f), g.SELECTED))
    return sorted(found)


def _below_view(graph: DefinitionGraph, view: str, features: set[str] | None) -> list[Path]:
    paths: list[Path] = []
    for service in _services_of_view(graph, view, features):
        versions = graph.children(service, g.BOUND)
        paths += [(service, v) for v in versions] or [(service,)]
    return paths


def _below_source(graph: DefinitionGraph, node: g.Node, seen: set[g.Node]) -> list[Path]:
    """Paths down from an entity or a source: through the views it keys or feeds, and through
    the SQL sources that read it (a query change reaches what reads the SQL source)."""
    out: list[Path] = []
    for child in graph.children(node, g.KEYS, g.FEEDS):
        if child.kind == "view":
            below = _below_view(graph, child.name, None)
            out += [(child, *p) for p in below] or [(child,)]
        elif child not in seen:
            out += [(child, *p) for p in _below_source(graph, child, seen | {node})]
    return out


def paths_from(graph: DefinitionGraph, change: Change) -> list[Path]:
    """Every way down ``graph`` from what ``change`` changes: paths ending at a model version,
    or earlier (at a view no service reads, or a service no version is bound to)."""
    kind, name = change.kind, change.name
    if kind == "Entity" or kind in g.SOURCE_KINDS:
        return _below_source(graph, g.object_node(kind, name), set())
    if kind == "FeatureView":
        features: set[str] | None = None
        if change.action == UPDATE and all(f.path.startswith("schema.") or f.impact != BREAKING for f in change.fields):
            features = {f.path.split(".")[1] for f in change.fields if f.impact == BREAKING}
            features |= {gap.feature for gap in change.breaks if gap.view == name}
        return _below_view(graph, name, features)
    if kind == "FeatureService":
        return [(v,) for v in graph.children(g.service(name), g.BOUND)]
    if kind == "Model":
        if change.action == DELETE:
            return [(v,) for v in graph.children(g.model(name), g.HAS)]
        return [(g.model_version(name, n),) for n in broken_versions(change)]
    return []


def broken_versions(change: Change) -> list[int]:
    """The versions of a Model change that it breaks (changed or removed, or left without
    what they were trained on)."""
    numbers = {
        int(f.path.split(".")[1])
        for f in change.fields
        if f.impact == BREAKING and f.path.startswith("versions.") and f.path.split(".")[1].isdigit()
    }
    numbers |= {gap.version for gap in change.breaks if gap.model == change.name}
    return sorted(numbers)


def _label(node: g.Node) -> str:
    return node.name


def aliases_of(current: Objects, desired: Objects, model: str, number: int) -> list[str]:
    """Aliases naming version ``number`` of ``model`` in the registry now or in the desired objects."""
    names: set[str] = set()
    for objects in (current, desired):
        doc = objects.get("Model", {}).get(model) or {}
        names.update(a for a, n in (doc.get("aliases") or {}).items() if n == number)
    return sorted(names)


def chains(
    change: Change,
    paths: list[Path],
    current: Objects,
    desired: Objects,
    protected_aliases: tuple[str, ...],
) -> tuple[list[Chain], list[Path]]:
    """(chains of the paths ending at a model version, protected first; the paths ending
    elsewhere)."""
    head = change_label(change)
    found: list[Chain] = []
    other: list[Path] = []
    for path in paths:
        end = path[-1]
        if end.kind != "model_version":
            other.append(path)
            continue
        model, _, number = end.name.partition("/")
        links = (head, *(_label(n) for n in path))
        kinds = ("change", *(n.kind for n in path))
        names = aliases_of(current, desired, model, int(number))
        if not names:
            found.append(Chain(links, model, int(number), kinds=kinds))
        for alias in names:
            found.append(Chain((*links, alias), model, int(number), alias, alias in protected_aliases, (*kinds, "alias")))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda c: not c.protected), other
