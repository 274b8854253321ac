"""Build a :class:`~fsctl.diff.plan.Plan` from desired objects and a registry snapshot.

Pure: no I/O. Objects are compared in canonical form (see ``FsctlObject.to_dict``).
A breaking change or a deletion is *blocked* when objects that remain after
the apply still depend on what changes: views on an entity or source, services
selecting the affected features, model versions bound to those services and
the aliases pointing at them, as the dependency graph of the desired objects
(:mod:`fsctl.definitions.graph`) says. Blocked plans cannot be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsctl.definitions import graph as g
from fsctl.definitions.graph import DefinitionGraph, build_graph
from fsctl.definitions.values import KIND_ORDER
from fsctl.diff.compare import compare
from fsctl.diff.plan import (
    ADD,
    BREAKING,
    DELETE,
    METADATA,
    NON_BREAKING,
    UPDATE,
    Blocked,
    Change,
    Plan,
    fingerprint,
)

Objects = Mapping[str, Mapping[str, dict[str, Any]]]
_SEVERITY = {METADATA: 0, NON_BREAKING: 1, BREAKING: 2}


def build_plan(
    project: str,
    registry: str,
    registry_version: int,
    current: Objects,
    desired: Objects,
) -> Plan:
    changes: list[Change] = []
    for kind in KIND_ORDER:
        before, after = current.get(kind, {}), desired.get(kind, {})
        for name in sorted(set(before) | set(after)):
            if name not in before:
                changes.append(Change(kind, name, ADD, impact=NON_BREAKING))
            elif name not in after:
                changes.append(Change(kind, name, DELETE, impact=BREAKING))
            else:
                fields = tuple(compare(kind, before[name], after[name]))
                if fields:
                    impact = max((f.impact for f in fields), key=_SEVERITY.__getitem__)
                    changes.append(Change(kind, name, UPDATE, fields=fields, impact=impact))
    desired_plain = {k: dict(v) for k, v in desired.items() if v}
    return Plan(
        online_changes=_online_changes(current.get("FeatureView", {}), desired.get("FeatureView", {})),
        project=project,
        registry=registry,
        registry_version=registry_version,
        changes=tuple(changes),
        blocked=tuple(_blocked(changes, desired)),
        desired=desired_plain,
        definitions_hash=fingerprint(desired_plain),
    )


def _online_changes(
    before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]
) -> tuple[tuple[str, str], ...]:
    """Online tables to create (views that become online) and drop (views that stop being online)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        was = name in before and before[name].get("online", True)
        now = name in after and after[name].get("online", True)
        if now and not was:
            changes.append(("create", name))
        elif was and not now:
            changes.append(("drop", name))
    return tuple(changes)


def _model_dependents(desired: Objects, graph: DefinitionGraph, services: list[str]) -> list[str]:
    """Model versions bound to ``services`` (with their aliases), by model name and in the
    order each model lists its versions."""
    bound = {v for s in services for v in graph.children(g.service(s), g.BOUND)}
    out = []
    for model_name, model in sorted(desired.get("Model", {}).items()):
        for version in model.get("versions", []):
            node = g.model_version(model_name, version["version"])
            if node in bound:
                aliases = graph.aliases_of(node)
                label = f"Model {model_name} v{version['version']}"
                out.append(label + (f" ({', '.join(aliases)})" if aliases else ""))
    return out


def _dependents_of_view(desired: Objects, graph: DefinitionGraph, view: str, features: set[str] | None) -> list[str]:
    """Services selecting ``view`` (only those selecting one of ``features``, or the whole
    view, when ``features`` is given), then the model versions bound to them."""
    if features is None:
        found = graph.children(g.view(view), *g.SELECTIONS)
    else:
        found = graph.children(g.view(view), g.SELECTED_ALL)
        found += [s for f in features for s in graph.children(g.feature(view, f), g.SELECTED)]
    services = sorted({n.name for n in found})
    return [f"FeatureService {s}" for s in services] + _model_dependents(desired, graph, services)


def _dependents(desired: Objects, graph: DefinitionGraph, change: Change) -> list[str]:
    kind, name = change.kind, change.name
    if kind in ("Entity", "FileSource"):
        views = [n.name for n in graph.children(g.object_node(kind, name), g.KEYS, g.FEEDS)]
        out = [f"FeatureView {v}" for v in views]
        for v in views:
            out += [d for d in _dependents_of_view(desired, graph, v, None) if d not in out]
        return out
    if kind == "FeatureView":
        features: set[str] | None = None
        if change.action == UPDATE and all(
            f.path.startswith("schema.") or f.impact != BREAKING for f in change.fields
        ):
            features = {f.path.split(".")[1] for f in change.fields if f.impact == BREAKING}
        return _dependents_of_view(desired, graph, name, features)
    if kind == "FeatureService":
        return _model_dependents(desired, graph, [name])
    if kind == "Model":
        versions = {
            f.path.split(".")[1]
            for f in change.fields
            if f.impact == BREAKING and f.path.startswith("versions.")
        }
        aliased = sorted(
            (alias, number)
            for number in versions
            if number.isdigit()
            for alias in graph.aliases_of(g.model_version(name, int(number)))
        )
        return [f"alias {alias} of Model {name} (version {number})" for alias, number in aliased]
    return []


def _blocked(changes: list[Change], desired: Objects) -> list[Blocked]:
    breaking = [c for c in changes if c.breaking]
    if not breaking:
        return []
    graph = build_graph(desired)
    out = []
    for change in breaking:
        dependents = _dependents(desired, graph, change)
        if dependents:
            reason = "; ".join(change.reasons) or "breaking change"
            out.append(Blocked(change.kind, change.name, reason, tuple(dependents)))
    return out
