"""A brute-force point-in-time join, written plainly, to check the engine against.

DESIGN.md section 3, rule by rule: for each entity row and each requested view, take the
source rows with the same join keys (after field_mapping) and an event time ``t`` with
``entity_ts - ttl <= t <= entity_ts`` (no lower bound when the TTL is 0); with the leakage
guard also ``created is not None and created <= entity_ts``. The latest ``t`` wins; among
rows with that ``t`` the latest created time wins, a null created time losing. No row:
nulls. Output rows come in input order with all their entity columns, then the features in
the requested order, named ``feature`` or ``view__feature``.

Only lists of dicts and loops: no DuckDB, no pandas. Naive datetimes are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

ENTITY_TIME = "event_timestamp"


@dataclass
class RefView:
    """A feature view and its source's rows, as the reference sees them."""

    name: str
    join_keys: list[str]  # entity-side key names
    rows: list[dict[str, Any]]  # source rows, keyed by *source* column names
    ttl: timedelta = timedelta(0)
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    field_mapping: dict[str, str] = field(default_factory=dict)  # source column -> name

    def column_for(self, name: str) -> str:
        for column, mapped in self.field_mapping.items():
            if mapped == name:
                return column
        return name


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def candidates(view: RefView, entity: dict[str, Any], *, leakage_guard: bool = False) -> list[dict[str, Any]]:
    """Every source row the rules allow for ``entity`` and that none of the others beats.

    More than one row comes back only when rows tie on join keys, event time and created time:
    the rules do not choose between those."""
    entity_ts = utc(entity[ENTITY_TIME])
    assert entity_ts is not None, "entity rows need a time"
    allowed = []
    for row in view.rows:
        same_keys = True
        for key in view.join_keys:
            value = row.get(view.column_for(key))
            if value is None or value != entity[key]:
                same_keys = False
        if not same_keys:
            continue
        t = utc(row[view.timestamp_field])
        if t is None or t > entity_ts:
            continue
        if view.ttl > timedelta(0) and t < entity_ts - view.ttl:
            continue
        created = None
        if view.created_timestamp_field is not None:
            created = utc(row[view.created_timestamp_field])
        if leakage_guard and (created is None or created > entity_ts):
            continue
        allowed.append((t, created, row))

    if not allowed:
        return []
    latest_t = allowed[0][0]
    for t, _, _ in allowed:
        if t > latest_t:
            latest_t = t
    at_latest = [(created, row) for t, created, row in allowed if t == latest_t]

    # Among rows with the latest event time, the latest created time wins; None loses.
    best: datetime | None = None
    for created, _ in at_latest:
        if created is not None and (best is None or created > best):
            best = created
    return [row for created, row in at_latest if created == best]


def reference_join(
    entities: Sequence[dict[str, Any]],
    views: Sequence[RefView],
    features: Sequence[tuple[str, str]],
    *,
    full_feature_names: bool = False,
    leakage_guard: bool = False,
) -> list[dict[str, Any]]:
    """The point-in-time join of ``entities`` with ``features`` ((view, feature) pairs, in the
    requested order). Rows whose best match is a tie of several source rows take the first of
    them in source order; tests give such rows equal feature values."""
    by_name = {view.name: view for view in views}
    out = []
    for entity in entities:
        row = dict(entity)
        chosen: dict[str, dict[str, Any] | None] = {}
        for view_name, feature in features:
            if view_name not in chosen:
                rows = candidates(by_name[view_name], entity, leakage_guard=leakage_guard)
                chosen[view_name] = rows[0] if rows else None
            match = chosen[view_name]
            name = f"{view_name}__{feature}" if full_feature_names else feature
            if match is None:
                row[name] = None
            else:
                row[name] = match[by_name[view_name].column_for(feature)]
        out.append(row)
    return out


def matched_fraction(
    entities: Sequence[dict[str, Any]], view: RefView, *, leakage_guard: bool = False
) -> float:
    """The share of entity rows that found a row for ``view``."""
    if not entities:
        return 0.0
    found = 0
    for entity in entities:
        if candidates(view, entity, leakage_guard=leakage_guard):
            found += 1
    return found / len(entities)
