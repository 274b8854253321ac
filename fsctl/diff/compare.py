"""Field-level comparison of two canonical objects, and what each change means.

Objects are first put in a *diffable* shape where lists of named things become
mappings keyed by name, so paths read ``schema.conv_rate.dtype``,
``versions.2.feature_service``, ``features.customer_profile`` or
``aliases.Production``. Each changed path is then classified: *breaking*
(consumers of the object may break or see different data), *non-breaking*
(compatible or additive) or *metadata-only* (description, owner, tags).

A published model version (one in the registry) is what a deployed artifact was trained
against, so a change of what the artifact *is* or *reads* is breaking: its ``uri``, its
``feature_service`` and its expected ``signature``. What is recorded *about* it is not:
description and tags are metadata-only, and ``metrics`` (often added after evaluation, well
after the version was published) and ``archived`` (retiring a version; validation refuses an
archived version behind an alias, so nothing served loses it) are non-breaking. ``traffic``
is non-breaking (its guard rails are issue 13's). The version's ``training_snapshot`` is
registry-side data (see :mod:`fsctl.definitions.training`) and never diffed.

A view's data checks (``checks``, ``row_checks``, ``check_policy``) decide which windows
materialize writes, not what a consumer reads: adding, changing or removing them is
non-breaking, with a reason saying what changed.
"""

from __future__ import annotations

from typing import Any

from fsctl.definitions.sql_query import normalise_query
from fsctl.definitions.training import SNAPSHOT_KEY
from fsctl.definitions.values import format_duration
from fsctl.diff.plan import BREAKING, METADATA, NON_BREAKING, FieldChange

_ABSENT = object()
_METADATA_KEYS = {"description", "owner", "tags"}


def diffable(obj: dict[str, Any]) -> dict[str, Any]:
    """The canonical object with named lists turned into mappings (and order kept aside)."""
    out = {k: v for k, v in obj.items() if k != "kind"}
    kind = obj.get("kind")
    if kind == "FeatureView":
        out["schema"] = {f["name"]: {k: v for k, v in f.items() if k != "name"} for f in obj["schema"]}
        out["schema_order"] = [f["name"] for f in obj["schema"]]
        for key in ("inputs", "aggregations"):  # issue 17; absent on views without aggregations
            if key in obj:
                out[key] = {f["name"]: {k: v for k, v in f.items() if k != "name"} for f in obj[key]}
    elif kind == "FeatureService":
        out["features"] = {
            s["view"]: s["features"] if s["features"] is not None else "*" for s in obj["features"]
        }
        out["features_order"] = [s["view"] for s in obj["features"]]
    elif kind == "SqlSource":  # re-indenting a query is not a change
        out["query"] = normalise_query(obj["query"])
    elif kind == "Model":  # the training snapshot is registry-side data, not a definition
        out["versions"] = {
            str(v["version"]): {k: val for k, val in v.items() if k not in ("version", SNAPSHOT_KEY)}
            for v in obj["versions"]
        }
    return out


def diff_values(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Changed paths between two diffable values, sorted; a key on one side only is one change."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            b, a = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if b is _ABSENT:
                out.append((sub, None, a))
            elif a is _ABSENT:
                out.append((sub, b, None))
            elif b != a:
                out.extend(diff_values(b, a, sub))
        return out
    return [] if before == after else [(path, before, after)]


def _names(value: Any) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def _ttl(seconds: Any) -> str:
    return "no limit" if not seconds else format_duration(int(seconds))


def classify(kind: str, path: str, before: Any, after: Any) -> tuple[str, str]:
    """(impact, reason) of one changed path of an object of ``kind``."""
    parts = path.split(".")
    head = parts[0]
    # description/owner/tags of the object, of one feature (schema.F.tags) or of a version
    nested = head in ("schema", "versions", "inputs", "aggregations") and len(parts) > 2 and parts[2] in _METADATA_KEYS
    if head in _METADATA_KEYS or nested:
        return METADATA, f"{path} changed"
    if kind == "Entity" and head == "join_keys":
        return BREAKING, f"join keys changed from {_names(before)} to {_names(after)}"
    if kind == "FileSource":
        if head == "path":
            return BREAKING, f"source location changed from {before} to {after}: views on it read other data"
        if head == "format":
            return BREAKING, f"source format changed from {before} to {after}: views on it read other data"
        if head in ("version", "timestamp"):
            was = "latest" if before is None else f"{head} {before}"
            now = "latest" if after is None else f"{head} {after}"
            return BREAKING, f"Delta table pin changed from {was} to {now}: views on it read another version"
        return BREAKING, f"{head} changed: views on this source read different columns"
    if kind == "SqlSource":
        if head == "query":
            return BREAKING, "query changed: views on this source read other data"
        return BREAKING, f"{head} changed: views on this source read different columns"
    if kind == "FeatureView":
        return _classify_view(parts, before, after)
    if kind == "FeatureService" and head == "features_order":
        return NON_BREAKING, "order of the service's views changed"
    if kind == "FeatureService" and head == "features":
        view = parts[1]
        if after is None:
            return BREAKING, f"view '{view}' removed from the service"
        if before is None:
            return NON_BREAKING, f"view '{view}' added to the service"
        old = None if before == "*" else set(before)
        new = None if after == "*" else set(after)
        if new is None or (old is not None and old <= new):
            return NON_BREAKING, f"features of '{view}' added"
        removed = sorted(old - new) if old is not None else sorted(set())
        what = ", ".join(removed) if removed else "features not in the new subset"
        return BREAKING, f"features of '{view}' removed from the service: {what}"
    if kind == "Model":
        if head == "aliases":
            alias = parts[1]
            if after is None:
                return BREAKING, f"alias {alias} removed"
            if before is None:
                return NON_BREAKING, f"alias {alias} added at version {after}"
            return NON_BREAKING, f"alias {alias} moves from version {before} to {after}"
        if head == "traffic":
            return NON_BREAKING, "traffic split changed"
        if head == "missing_features":
            return NON_BREAKING, f"missing features: {after or 'error'} (was {before or 'error'})"
        if head == "versions":
            return _classify_version(parts, before, after)
    return NON_BREAKING, f"{path} changed"


def _classify_version(parts: list[str], before: Any, after: Any) -> tuple[str, str]:
    """A change of a published model version (``versions.N.FIELD...``); see the module docstring."""
    version = parts[1]
    if len(parts) == 2:
        if after is None:
            return BREAKING, f"version {version} removed"
        return NON_BREAKING, f"version {version} added"
    field = parts[2]
    if field == "metrics":
        return NON_BREAKING, f"metrics of version {version} changed"
    if field == "archived":
        if after:
            return NON_BREAKING, f"version {version} archived"
        return NON_BREAKING, f"version {version} no longer archived"
    return BREAKING, f"version {version} changed {field}: a published version must not change"


def _classify_view(parts: list[str], before: Any, after: Any) -> tuple[str, str]:
    head = parts[0]
    if head == "schema":
        feature = parts[1] if len(parts) > 1 else ""
        if after is None:
            return BREAKING, f"feature '{feature}' removed"
        if before is None:
            return NON_BREAKING, f"feature '{feature}' added"
        if parts[-1] == "dtype":
            return BREAKING, f"dtype of '{feature}' changed from {before} to {after}"
        return NON_BREAKING, f"feature '{feature}' changed"
    if head == "schema_order":
        return NON_BREAKING, "feature order changed"
    if head == "entities":
        return BREAKING, f"entities changed from {_names(before)} to {_names(after)}"
    if head == "source":
        return BREAKING, f"source changed from '{before}' to '{after}'"
    if head == "ttl":
        old, new = before or 0, after or 0
        if new != 0 and (old == 0 or new < old):
            return BREAKING, f"TTL shortened from {_ttl(old)} to {_ttl(new)}: older values become null"
        return NON_BREAKING, f"TTL lengthened from {_ttl(old)} to {_ttl(new)}"
    if head == "key_dtypes":
        if len(parts) == 1:  # recorded for the first time (a registry applied before fsctl read them), or dropped
            shown = ", ".join(f"{k} {v}" for k, v in (after or before or {}).items())
            if after:
                return NON_BREAKING, f"join key dtypes read from the source and recorded ({shown}): reads check key values"
            return NON_BREAKING, f"join key dtypes no longer recorded ({shown})"
        return _classify_key_dtype(parts[1], before, after)
    if head == "online":
        if before and not after:
            return BREAKING, "online serving turned off"
        return NON_BREAKING, "online serving turned on"
    if head in ("checks", "row_checks", "check_policy"):
        return NON_BREAKING, _check_reason(parts, before, after)
    if head in ("aggregations", "inputs", "slide"):
        return _classify_aggregation(parts, before, after)
    return NON_BREAKING, f"{'.'.join(parts)} changed"


def _classify_aggregation(parts: list[str], before: Any, after: Any) -> tuple[str, str]:
    """Time-window aggregations (issue 17) are the data of their features: a change to how one
    is computed changes its values at every time (breaking; its data fingerprint changes, so
    materialization starts again from scratch); its feature's addition or removal is also
    shown under ``schema``."""
    head = parts[0]
    if head == "slide":
        return BREAKING, (
            f"slide changed from {_ttl(before) if before else 'none'} to {_ttl(after) if after else 'none'}: "
            "every aggregated value changes at other times; materialized again from scratch"
        )
    if len(parts) == 1:  # a view that starts or stops aggregating
        what = "added" if before is None else "removed" if after is None else "changed"
        return (BREAKING if head == "aggregations" else NON_BREAKING), f"{head} {what}"
    name = parts[1]
    if head == "inputs":
        if len(parts) == 2:
            return NON_BREAKING, f"input column '{name}' {'added' if before is None else 'removed' if after is None else 'changed'}"
        return NON_BREAKING, f"input column '{name}' {parts[2]} changed from {before} to {after}"
    if len(parts) == 2:
        if before is None:
            return NON_BREAKING, f"aggregation '{name}' added"
        if after is None:
            return BREAKING, f"aggregation '{name}' removed"
    field, old, new = parts[-1], before, after
    if field == "window":
        old, new = _ttl(before), _ttl(after)
    return BREAKING, (
        f"aggregation '{name}' {field} changed from {old} to {new}: its values change; "
        "materialized again from scratch"
    )


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _check_reason(parts: list[str], before: Any, after: Any) -> str:
    """Data checks (issue 14) are what materialize verifies before it writes: adding,
    changing or removing one changes which windows are written, never the data a consumer
    reads, so every such change is non-breaking; the reason says what changed."""
    head = parts[0]
    if head == "check_policy":
        old, new = before or "reject", after or "reject"
        if new == "reject":
            return f"check policy: reject (was {old}): a window failing a data check is no longer written"
        return f"check policy: {new} (was {old}): a window failing a data check is written and reported"
    if head == "row_checks":
        if len(parts) == 1:
            if before is None:
                return f"row checks added: {_shown(after)}"
            if after is None:
                return "row checks removed"
            return f"row checks: {_shown(after)} (were {_shown(before)})"
        return f"row check {parts[1]}: {_shown(after)} (was {_shown(before)})"
    feature = parts[1] if len(parts) > 1 else ""
    if len(parts) <= 2:
        if before is None:
            return f"data checks on '{feature}' added: {_shown(after)}"
        if after is None:
            return f"data checks on '{feature}' removed"
        return f"data checks on '{feature}' changed"
    return f"data check {parts[2]} of '{feature}': {_shown(after)} (was {_shown(before)})"


_KEY_FAMILIES = {"int32": "integer", "int64": "integer"}


def _classify_key_dtype(key: str, before: Any, after: Any) -> tuple[str, str]:
    """A join key's dtype, as read from the view's source (see fsctl.loader.key_types)."""
    if before is None:
        return NON_BREAKING, f"join key '{key}' is {after} in the source (recorded: reads check key values)"
    if after is None:
        return NON_BREAKING, f"join key '{key}' no longer has a recorded dtype"
    if _KEY_FAMILIES.get(before, before) == _KEY_FAMILIES.get(after, after):
        return NON_BREAKING, f"join key '{key}' changed from {before} to {after} in the source"
    return BREAKING, (
        f"join key '{key}' changed from {before} to {after} in the source: entity rows and "
        "requests typed for the old keys no longer match"
    )


def compare(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """Every changed field of one object, classified, in path order."""
    b, a = diffable(before), diffable(after)
    changes = []
    # additions and removals are shown per item already; an order change alone is shown as such
    order_noise = {
        "schema_order": set(b.get("schema", {})) != set(a.get("schema", {})),
        "features_order": set(b.get("features", {})) != set(a.get("features", {})),
    }
    for path, old, new in diff_values(b, a):
        if order_noise.get(path):
            continue
        impact, reason = classify(kind, path, old, new)
        changes.append(FieldChange(path=path, before=old, after=new, impact=impact, reason=reason))
    return changes
