"""The point-in-time engine equals the brute-force reference (tests/support/pit_reference.py)
on random data.

Each example is a small repo written to a temp folder: one or two sources, one or two views
over them with different TTLs (0 included) and keys (one key, a composite key, keys of two
entities), sometimes a field_mapping for a key and a feature, sometimes zoned timestamps.
Source event times sit on an hourly grid so ties are common; created times tie too and are
sometimes null; feature values are sometimes null. Entity rows repeat, fall before the first
event, exactly on an event, exactly on a TTL bound and a microsecond outside it.

Rows that tie on key, event time *and* created time get equal features: the rules do not
choose between them, so any choice is right and the comparison stays exact.

Two more properties pin the two packings of the engine's ordering column: whole-second data
(a BIGINT) and microsecond times spread over a century (a HUGEINT).

The Spark engine passes the same properties (``test_spark_*``, on the shared ``local[2]``
context of tests/offline/conftest.py) with fewer examples each: a Spark retrieval of a tiny
repo takes about a second, DuckDB's a few milliseconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fsctl import FeatureStore
from fsctl.offline.duckdb import pit as engine
from tests.offline.conftest import SPARK_YAML
from tests.support.pit_reference import RefView, candidates, matched_fraction, reference_join, utc

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BASE = datetime(2024, 3, 1)
STEP = timedelta(hours=1)
US = timedelta(microseconds=1)
PLUS_TWO = timezone(timedelta(hours=2))

# Entity layouts: which entities a view has, and the entity-side join keys they give.
ENTITIES = {"ent_k": ["k"], "ent_k2": ["k2"], "ent_pair": ["k", "k2"]}
LAYOUTS: list[tuple[str, ...]] = [("ent_k",), ("ent_pair",), ("ent_k2", "ent_k")]
FEATURES = {"x": "float64", "n": "int64", "s": "string"}
KEYS = [1, 2, 3]
KEYS2 = ["a", "b"]


@dataclass
class SourceSpec:
    name: str
    rows: list[dict[str, Any]]  # source column names
    timestamp_field: str = "ts"
    created_timestamp_field: str | None = "created"
    field_mapping: dict[str, str] = field(default_factory=dict)
    zoned: bool = False  # store the times as timestamp[us, tz=UTC]

    def column_for(self, name: str) -> str:
        return next((c for c, m in self.field_mapping.items() if m == name), name)


@dataclass
class ViewSpec:
    name: str
    source: SourceSpec
    entities: tuple[str, ...]
    ttl: int  # seconds

    @property
    def join_keys(self) -> list[str]:
        return [k for e in self.entities for k in ENTITIES[e]]


@dataclass
class Scenario:
    sources: list[SourceSpec]
    views: list[ViewSpec]
    features: list[tuple[str, str]]  # requested (view, feature) pairs, in order
    entities: list[dict[str, Any]]
    entity_zone: timezone | None
    full_feature_names: bool


# ---------------------------------------------------------------- building and running a repo


def _yaml(scenario: Scenario) -> str:
    docs = [
        f"kind: Entity\nname: {name}\njoin_keys: [{', '.join(keys)}]\n" for name, keys in ENTITIES.items()
    ]
    for source in scenario.sources:
        doc = f"kind: FileSource\nname: {source.name}\npath: data/{source.name}.parquet\n"
        doc += f"timestamp_field: {source.timestamp_field}\n"
        if source.created_timestamp_field:
            doc += f"created_timestamp_field: {source.created_timestamp_field}\n"
        if source.field_mapping:
            doc += (
                "field_mapping: {" + ", ".join(f"{c}: {m}" for c, m in source.field_mapping.items()) + "}\n"
            )
        docs.append(doc)
    for view in scenario.views:
        schema = "".join(f"  - {{name: {f}, dtype: {d}}}\n" for f, d in FEATURES.items())
        docs.append(
            f"kind: FeatureView\nname: {view.name}\nentities: [{', '.join(view.entities)}]\n"
            f"source: {view.source.name}\nttl: {view.ttl}\nschema:\n{schema}"
        )
    return "---\n".join(docs)


def _source_table(source: SourceSpec) -> pa.Table:
    ts_type = pa.timestamp("us", tz="UTC") if source.zoned else pa.timestamp("us")
    types = {
        source.column_for("k"): pa.int64(),
        source.column_for("k2"): pa.string(),
        source.timestamp_field: ts_type,
        source.column_for("x"): pa.float64(),
        source.column_for("n"): pa.int64(),
        source.column_for("s"): pa.string(),
    }
    if source.created_timestamp_field:
        types[source.created_timestamp_field] = ts_type
    columns = {}
    for name, type_ in types.items():
        values = [row[name] for row in source.rows]
        if pa.types.is_timestamp(type_) and source.zoned:
            values = [None if v is None else v.replace(tzinfo=timezone.utc) for v in values]
        columns[name] = pa.array(values, type=type_)
    return pa.table(columns)


def _entity_table(scenario: Scenario) -> pa.Table:
    rows = scenario.entities
    return pa.table(
        {
            "k": pa.array([r["k"] for r in rows], pa.int64()),
            "k2": pa.array([r["k2"] for r in rows], pa.string()),
            "event_timestamp": pa.array(
                [r["event_timestamp"] for r in rows], pa.timestamp("us", tz=_zone_name(scenario.entity_zone))
            ),
            "label": pa.array([r["label"] for r in rows], pa.int64()),
        }
    )


def _zone_name(zone: timezone | None) -> str | None:
    if zone is None:
        return None
    return "UTC" if zone == timezone.utc else "+02:00"


def _ref_views(scenario: Scenario) -> list[RefView]:
    return [
        RefView(
            name=view.name,
            join_keys=view.join_keys,
            rows=view.source.rows,
            ttl=timedelta(seconds=view.ttl),
            timestamp_field=view.source.timestamp_field,
            created_timestamp_field=view.source.created_timestamp_field,
            field_mapping=view.source.field_mapping,
        )
        for view in scenario.views
    ]


@contextmanager
def packings() -> Iterator[list[str]]:
    """Record the ordering column SQL the engine picks for each join (BIGINT or HUGEINT)."""
    seen: list[str] = []
    original = engine._packing

    def spy(*args: Any, **kwargs: Any) -> tuple[str, str]:
        order, probe = original(*args, **kwargs)
        seen.append(order)
        return order, probe

    with mock.patch.object(engine, "_packing", spy):
        yield seen


def check(scenario: Scenario, *, leakage_guard: bool = False, offline_yaml: str = "") -> list[str]:
    """Run the scenario through apply + get_historical_features (on the engine of
    ``offline_yaml``, DuckDB by default) and compare with the reference; returns the ordering
    columns the DuckDB engine used."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        (root / "fsctl.yaml").write_text("project: pit\nregistry: data/registry.json\n" + offline_yaml)
        (root / "defs.yaml").write_text(_yaml(scenario))
        for source in scenario.sources:
            pq.write_table(_source_table(source), root / "data" / f"{source.name}.parquet")
        store = FeatureStore(root)
        store.apply()
        with packings() as seen:
            result = store.get_historical_features(
                _entity_table(scenario),
                [f"{v}:{f}" for v, f in scenario.features],
                full_feature_names=scenario.full_feature_names,
                leakage_guard=leakage_guard,
            )
        with result:
            table = result.to_arrow()
            stats = result.stats()

    views = _ref_views(scenario)
    expected = reference_join(
        scenario.entities,
        views,
        scenario.features,
        full_feature_names=scenario.full_feature_names,
        leakage_guard=leakage_guard,
    )
    names = [f"{v}__{f}" if scenario.full_feature_names else f for v, f in scenario.features]
    assert table.column_names == ["k", "k2", "event_timestamp", "label", *names]
    actual = table.to_pylist()
    assert len(actual) == len(expected)
    for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert got == want, f"entity row {i}: {scenario.entities[i]}"
    requested = {v for v, _ in scenario.features}
    assert stats.rows == len(expected)
    assert stats.matched == {
        view.name: matched_fraction(scenario.entities, view, leakage_guard=leakage_guard)
        for view in views
        if view.name in requested
    }
    note_cases(scenario, [v for v in views if v.name in requested], leakage_guard)
    return seen


def note_cases(scenario: Scenario, views: list[RefView], leakage_guard: bool) -> None:
    """Label the example with the rules it exercised (pytest --hypothesis-show-statistics)."""
    entities = scenario.entities
    if len({repr(sorted(e.items())) for e in entities}) < len(entities):
        event("duplicate entity rows")
    for view in views:
        created_field = view.created_timestamp_field or ""
        for entity in entities:
            at = utc(entity["event_timestamp"])
            assert at is not None
            keyed = [
                r
                for r in view.rows
                if r[view.timestamp_field] is not None
                and all(r[view.column_for(k)] == entity[k] for k in view.join_keys)
            ]
            if keyed and all(utc(r[view.timestamp_field]) > at for r in keyed):
                event("entity time before the key's first event")
            winners = candidates(view, entity, leakage_guard=leakage_guard)
            if not winners:
                if view.ttl and any(utc(r[view.timestamp_field]) == at - view.ttl - US for r in keyed):
                    event("a row one microsecond outside the TTL")
                continue
            t = utc(winners[0][view.timestamp_field])
            if t == at:
                event("match exactly at the entity time")
            if view.ttl and t == at - view.ttl:
                event("match exactly on the TTL bound")
            peers = [r for r in keyed if utc(r[view.timestamp_field]) == t]
            created = [r.get(created_field) for r in peers]
            if len(set(created)) > 1:
                event("event-time tie broken by created time")
            if None in created and winners[0].get(created_field) is not None:
                event("a null created time lost a tie")
            if len(peers) > 1 and set(created) == {None}:
                event("tie among null created times")
            if leakage_guard:
                if utc(winners[0][created_field]) == at:
                    event("guard: created exactly at the entity time")
                if any(t < utc(r[view.timestamp_field]) <= at for r in keyed):
                    event("guard: skipped a later row created too late or never")


# ---------------------------------------------------------------- strategies


def equal_features_on_full_ties(source: SourceSpec) -> None:
    """Rows with the same key, event time and created time get the first one's features."""
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in source.rows:
        tie = (
            row[source.column_for("k")],
            row[source.timestamp_field],
            row.get(source.created_timestamp_field or ""),
        )
        if tie in first:
            for feature in FEATURES:
                row[source.column_for(feature)] = first[tie][source.column_for(feature)]
        else:
            first[tie] = row


def feature_values(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "x": draw(st.none() | st.sampled_from([0.0, -1.5, 2.25, 1e300, 3.0]) | st.floats(allow_nan=False)),
        "n": draw(st.none() | st.integers(-(2**63), 2**63 - 1)),
        "s": draw(st.none() | st.sampled_from(["", "a", "b", "é"])),
    }


@st.composite
def grid_sources(draw: st.DrawFn, name: str, *, need_created: bool, unit: timedelta | None) -> SourceSpec:
    """Event times on an hourly grid (and sometimes null); created times near them."""
    mapped = draw(st.booleans())
    source = SourceSpec(
        name=name,
        rows=[],
        timestamp_field=draw(st.sampled_from(["ts", "event_timestamp"])),
        created_timestamp_field="created" if need_created else draw(st.sampled_from(["created", None])),
        field_mapping={"key_col": "k", "x_raw": "x"} if mapped else {},
        zoned=draw(st.booleans()),
    )
    if unit is None:
        unit = draw(st.sampled_from([timedelta(seconds=1), timedelta(milliseconds=1), US]))
    offsets = [timedelta(0), unit, 2 * unit, -unit, -STEP, 30 * unit]
    for _ in range(draw(st.integers(0, 25))):
        index = None if draw(st.integers(0, 19)) == 0 else draw(st.integers(0, 6))  # null event times too
        t = None if index is None else BASE + index * STEP
        created = None
        if t is not None and draw(st.integers(0, 3)) > 0:
            created = t + draw(st.sampled_from(offsets))
        key = None if draw(st.integers(0, 19)) == 0 else draw(st.sampled_from(KEYS))  # null keys too
        row = {
            source.column_for("k"): key,
            source.column_for("k2"): draw(st.sampled_from(KEYS2)),
            source.timestamp_field: t,
        }
        if source.created_timestamp_field:
            row[source.created_timestamp_field] = created
        values = feature_values(draw)
        row.update({source.column_for(f): v for f, v in values.items()})
        source.rows.append(row)
    equal_features_on_full_ties(source)
    return source


Target = tuple[Any, Any, datetime]  # (k, k2, entity time as naive UTC)


def entity_rows(
    draw: st.DrawFn, targets: st.SearchStrategy[Target], zone: timezone | None
) -> list[dict[str, Any]]:
    """1-15 entity rows, a quarter of them exact duplicates of earlier ones; times in ``zone``."""
    rows: list[dict[str, Any]] = []
    for label in range(draw(st.integers(1, 15))):
        if rows and draw(st.integers(0, 3)) == 0:
            rows.append(dict(draw(st.sampled_from(rows))))
            continue
        k, k2, when = draw(targets)
        if zone is not None:
            when = when.replace(tzinfo=timezone.utc).astimezone(zone)
        rows.append({"k": k, "k2": k2, "event_timestamp": when, "label": label})
    return rows


def targets(sources: list[SourceSpec], ttls: list[int]) -> st.SearchStrategy[Target]:
    """Mostly rows aimed at a source row: its keys, and its event time, its event time plus a
    view's TTL (the row then sits exactly on the TTL bound) or its created time; exactly, a
    microsecond either side, or half a step on. Otherwise any keys (4 and "z" are in no
    source) at a grid point, from before the first event to after the last."""
    offsets = st.sampled_from([timedelta(0), timedelta(0), US, -US, STEP / 2])
    anywhere = st.tuples(
        st.sampled_from([*KEYS, 4]),
        st.sampled_from([*KEYS2, "z"]),
        st.builds(lambda i, off: BASE + i * STEP + off, st.integers(-2, 9), offsets),
    )
    aimed: list[Target] = []
    for source in sources:
        for row in source.rows:
            t, k = row[source.timestamp_field], row[source.column_for("k")]
            if t is None or k is None:
                continue
            anchors = [t] + [t + timedelta(seconds=ttl) for ttl in ttls if ttl]
            if row.get(source.created_timestamp_field or "") is not None:
                anchors.append(row[source.created_timestamp_field or ""])
            aimed += [(k, row[source.column_for("k2")], anchor) for anchor in anchors]
    if not aimed:
        return anywhere
    near = st.builds(lambda target, off: (*target[:2], target[2] + off), st.sampled_from(aimed), offsets)
    return near | near | anywhere


@st.composite
def scenarios(draw: st.DrawFn, *, need_created: bool = False, unit: timedelta | None = None) -> Scenario:
    sources = [draw(grid_sources("s0", need_created=need_created, unit=unit))]
    if draw(st.booleans()):
        sources.append(draw(grid_sources("s1", need_created=need_created, unit=unit)))
    ttl_choices = [0, 3600, 7200, 10800, 5400]
    views = []
    for i in range(draw(st.integers(1, 2))):
        views.append(
            ViewSpec(
                name=f"v{i}",
                source=draw(st.sampled_from(sources)),
                entities=draw(st.sampled_from(LAYOUTS)),
                ttl=draw(st.sampled_from(ttl_choices)),
            )
        )
    features: list[tuple[str, str]] = []
    for view in views:
        chosen = draw(st.lists(st.sampled_from(list(FEATURES)), min_size=1, max_size=3, unique=True))
        features.extend((view.name, f) for f in chosen)
    features = draw(st.permutations(features))
    names = [f for _, f in features]
    full = draw(st.booleans()) or len(set(names)) < len(names)
    zone = draw(st.sampled_from([None, timezone.utc, PLUS_TWO]))
    entities = entity_rows(draw, targets(sources, [v.ttl for v in views]), zone)
    return Scenario(sources, views, list(features), entities, zone, full)


# ---------------------------------------------------------------- properties


@settings(max_examples=90, **SETTINGS)
@given(scenarios())
def test_engine_equals_reference(scenario: Scenario) -> None:
    check(scenario)


@settings(max_examples=60, **SETTINGS)
@given(scenarios(need_created=True))
def test_engine_equals_reference_with_leakage_guard(scenario: Scenario) -> None:
    check(scenario, leakage_guard=True)


@settings(max_examples=40, **SETTINGS)
@given(scenarios(need_created=True, unit=timedelta(seconds=1)))
def test_whole_second_data_packs_into_bigint(scenario: Scenario) -> None:
    seen = check(scenario)
    used = {view.source.name for view in scenario.views}
    # (A source without a single event time has nothing to pack and takes the general path.)
    if all(any(row[s.timestamp_field] for row in s.rows) for s in scenario.sources if s.name in used):
        assert seen and all("HUGEINT" not in order and "// 1000000)" in order for order in seen), seen


@st.composite
def century_scenarios(draw: st.DrawFn) -> Scenario:
    """Microsecond times from 1950 to 2060, drawn from a small pool so they still tie; created
    times anywhere in that range (before the event too). Their spans need a HUGEINT."""
    moment = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2060, 1, 1))
    pool = draw(st.lists(moment, min_size=1, max_size=6, unique=True))
    source = SourceSpec(name="s0", rows=[], zoned=draw(st.booleans()))
    # Two rows of a key no entity row asks for make the spans a century wide whatever is drawn.
    for t, created in (
        (datetime(1950, 1, 1, 0, 0, 0, 1), datetime(2060, 1, 1)),
        (datetime(2059, 12, 31), datetime(1950, 6, 1)),
    ):
        source.rows.append({"k": 99, "k2": "a", "ts": t, "created": created, "x": 0.0, "n": 0, "s": "anchor"})
    for _ in range(draw(st.integers(0, 20))):
        t = draw(st.sampled_from(pool))
        created = draw(st.none() | st.sampled_from(pool) | st.sampled_from([t, t + US, t - US]) | moment)
        source.rows.append(
            {"k": draw(st.sampled_from(KEYS)), "k2": "a", "ts": t, "created": created, **feature_values(draw)}
        )
    equal_features_on_full_ties(source)
    ttls = [0, 86400, 3650 * 86400]
    views = [
        ViewSpec("v0", source, ("ent_k",), draw(st.sampled_from(ttls))),
        ViewSpec("v1", source, ("ent_k",), draw(st.sampled_from(ttls))),
    ]
    times = (
        st.builds(
            lambda t, ttl, off: t + timedelta(seconds=ttl) + off,
            st.sampled_from(pool),
            st.sampled_from([0, views[0].ttl, views[1].ttl]),
            st.sampled_from([timedelta(0), US, -US]),
        )
        | moment
    )
    zone = draw(st.sampled_from([None, PLUS_TWO]))
    entities = entity_rows(draw, st.tuples(st.sampled_from([*KEYS, 4]), st.just("a"), times), zone)
    features = [("v0", "x"), ("v1", "n"), ("v0", "s")]
    return Scenario([source], views, features, entities, zone, full_feature_names=True)


@settings(max_examples=40, **SETTINGS)
@given(century_scenarios(), st.booleans())
def test_microseconds_over_a_century_pack_into_hugeint(scenario: Scenario, guard: bool) -> None:
    seen = check(scenario, leakage_guard=guard)
    assert seen and all("HUGEINT" in order for order in seen), seen


# ---------------------------------------------------------------- the same properties on Spark

SPARK = pytest.mark.xdist_group("spark")


@SPARK
@settings(max_examples=12, **SETTINGS)
@given(scenario=scenarios())
def test_spark_equals_reference(spark_session: Any, scenario: Scenario) -> None:
    check(scenario, offline_yaml=SPARK_YAML)


@SPARK
@settings(max_examples=8, **SETTINGS)
@given(scenario=scenarios(need_created=True))
def test_spark_equals_reference_with_leakage_guard(spark_session: Any, scenario: Scenario) -> None:
    check(scenario, leakage_guard=True, offline_yaml=SPARK_YAML)


@SPARK
@settings(max_examples=6, **SETTINGS)
@given(scenario=century_scenarios(), guard=st.booleans())
def test_spark_microseconds_over_a_century(spark_session: Any, scenario: Scenario, guard: bool) -> None:
    check(scenario, leakage_guard=guard, offline_yaml=SPARK_YAML)
