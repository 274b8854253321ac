"""Build a :class:`~fsctl.diff.plan.Plan` from desired objects and a registry snapshot.

Pure: no I/O. Objects are compared in canonical form (see ``FsctlObject.to_dict``).
A breaking change or a deletion is *blocked* when objects that remain after
the apply still depend on what changes: views on an entity or source, services
selecting the affected features, model versions bound to those services and
the aliases pointing at them. Blocked plans cannot be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from fsctl.model.objects import KIND_ORDER

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


def _view_features(view: dict[str, Any]) -> list[str]:
    return [f["name"] for f in view.get("schema", [])]


def _service_uses(service: dict[str, Any], view: str, features: set[str] | None) -> bool:
    """Does the service select ``view`` (and, if given, any of ``features``)?"""
    for selection in service.get("features", []):
        if selection["view"] != view:
            continue
        if features is None or selection["features"] is None:
            return True
        return bool(features & set(selection["features"]))
    return False


def _model_dependents(desired: Objects, services: list[str]) -> list[str]:
    out = []
    for model_name, model in sorted(desired.get("Model", {}).items()):
        aliases_by_version: dict[int, list[str]] = {}
        for alias, number in sorted(model.get("aliases", {}).items()):
            aliases_by_version.setdefault(number, []).append(alias)
        for version in model.get("versions", []):
            if version["feature_service"] in services:
                aliases = aliases_by_version.get(version["version"], [])
                label = f"Model {model_name} v{version['version']}"
                out.append(label + (f" ({', '.join(aliases)})" if aliases else ""))
    return out


def _dependents_of_view(desired: Objects, view: str, features: set[str] | None) -> list[str]:
    services = sorted(
        name for name, svc in desired.get("FeatureService", {}).items() if _service_uses(svc, view, features)
    )
    return [f"FeatureService {s}" for s in services] + _model_dependents(desired, services)


def _dependents(desired: Objects, change: Change) -> list[str]:
    kind, name = change.kind, change.name
    if kind in ("Entity", "FileSource"):
        field = "entities" if kind == "Entity" else "source"
        views = sorted(
            v
            for v, obj in desired.get("FeatureView", {}).items()
            if (name in obj["entities"] if field == "entities" else obj["source"] == name)
        )
        out = [f"FeatureView {v}" for v in views]
        for v in views:
            out += [d for d in _dependents_of_view(desired, v, None) if d not in out]
        return out
    if kind == "FeatureView":
        features: set[str] | None = None
        if change.action == UPDATE and all(
            f.path.startswith("schema.") or f.impact != BREAKING for f in change.fields
        ):
            features = {f.path.split(".")[1] for f in change.fields if f.impact == BREAKING}
        return _dependents_of_view(desired, name, features)
    if kind == "FeatureService":
        return _model_dependents(desired, [name])
    if kind == "Model":
        model = desired.get("Model", {}).get(name)
        if model is None:
            return []
        versions = {
            f.path.split(".")[1]
            for f in change.fields
            if f.impact == BREAKING and f.path.startswith("versions.")
        }
        return [
            f"alias {alias} of Model {name} (version {number})"
            for alias, number in sorted(model.get("aliases", {}).items())
            if str(number) in versions
        ]
    return []


def _blocked(changes: list[Change], desired: Objects) -> list[Blocked]:
    out = []
    for change in changes:
        if not change.breaking:
            continue
        dependents = _dependents(desired, change)
        if dependents:
            reason = "; ".join(change.reasons) or "breaking change"
            out.append(Blocked(change.kind, change.name, reason, tuple(dependents)))
    return out
