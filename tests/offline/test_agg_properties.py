"""Time-window aggregations of the DuckDB engine equal the brute-force reference
(tests/support/agg_reference.py) on random data, for every function.

Source rows sit on a half-hour grid with some microsecond offsets, so event-time ties are
common; created times tie too and are sometimes null; values are sometimes null (and some
keys have only nulls). Entity rows fall exactly on an event, a microsecond either side, on
a window bound ``event + window`` and a microsecond either side, and before every event
(empty windows). Views are asked with and without ``slide``. Rows that tie on key, event
time *and* created time get equal values: the rules do not choose between them.

Materialization is checked against the same reference: the records as of the window END
(aligned down to the slide) for each key with a row in reach.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsctl.offline.duckdb import DuckDBEngine
from fsctl.offline.entity_input import EntityInput
from fsctl.offline.requests import (
    AggregationSpec,
    FeatureRef,
    FeatureSpec,
    LatestRequest,
    PointInTimeRequest,
    SourceSpec,
    ViewSpec,
    Window,
)
from tests.support.agg_reference import US, aggregate, align

SETTINGS = dict(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BASE_US = int((datetime(2024, 3, 1, tzinfo=timezone.utc) - EPOCH).total_seconds()) * US
HALF_HOUR = 1800 * US
INPUTS = {"x": "float64", "n": "int64", "s": "string"}
FUNCTIONS = {
    "x": ["sum", "count", "avg", "min", "max", "count_distinct", "last"],
    "n": ["sum", "count", "avg", "min", "max", "count_distinct", "last"],
    "s": ["count", "min", "max", "count_distinct", "last"],
}
WINDOWS = [3600, 7200, 3 * 3600]


def _time(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


row = st.fixed_dictionaries(
    {
        "k": st.sampled_from([1, 2, 3]),
        "t": st.builds(lambda slot, off: BASE_US + slot * HALF_HOUR + off, st.integers(0, 12), st.sampled_from([0, 0, 0, 1, -1, 7])),
        "c": st.one_of(st.none(), st.builds(lambda n: BASE_US + n * HALF_HOUR, st.integers(0, 3))),
        "x": st.one_of(st.none(), st.integers(-20, 20).map(lambda v: v / 2)),
        "n": st.one_of(st.none(), st.integers(-5, 5)),
        "s": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    }
)


def _untie(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    out = []
    for r in rows:
        same = first.setdefault((r["k"], r["t"], r["c"]), r)
        out.append({**r, **{c: same[c] for c in INPUTS}})
    return out


def _source(folder: Path, rows: list[dict[str, Any]]) -> SourceSpec:
    table = pa.table(
        {
            "k": pa.array([r["k"] for r in rows], pa.int64()),
            "ts": pa.array([_time(r["t"]) for r in rows], pa.timestamp("us")),
            "created": pa.array([None if r["c"] is None else _time(r["c"]) for r in rows], pa.timestamp("us")),
            "x": pa.array([r["x"] for r in rows], pa.float64()),
            "n": pa.array([r["n"] for r in rows], pa.int64()),
            "s": pa.array([r["s"] for r in rows], pa.string()),
        }
    )
    path = folder / "events.parquet"
    pq.write_table(table, path)
    return SourceSpec("events", str(path), "parquet", "ts", "created")


def _view(source: SourceSpec, slide: int, pick: list[tuple[str, str, int]]) -> ViewSpec:
    from fsctl.definitions.aggregation import output_dtype

    aggs = tuple(
        AggregationSpec(f"{c}_{f}_{w}", c, f, w, output_dtype(f, INPUTS[c]), INPUTS[c]) for c, f, w in pick
    )
    return ViewSpec(
        "agg", source, ("k",), tuple(FeatureSpec(a.name, a.dtype) for a in aggs), aggregations=aggs, slide=slide
    )


def _probes(rows: list[dict[str, Any]], extra: list[int]) -> list[tuple[int, int]]:
    """(key, time µs) entity rows around the events and their window bounds."""
    out = []
    for r in rows:
        for w in (0, *WINDOWS):
            for d in (-1, 0, 1):
                out.append((r["k"], r["t"] + w * US + d))
    out += [(k, BASE_US - HALF_HOUR) for k in (1, 2, 3, 4)]  # before every event; key 4 has none
    out += [(1, t) for t in extra]
    return out


def _expected(rows: list[dict[str, Any]], view: ViewSpec, key: int, at: int) -> list[Any]:
    mine = [r for r in rows if r["k"] == key]
    return [aggregate(mine, a.function, a.column, a.window, align(at, view.slide)) for a in view.aggregations]


picks = st.lists(
    st.sampled_from([(c, f, w) for c, fs in FUNCTIONS.items() for f in fs for w in WINDOWS]),
    min_size=1,
    max_size=8,
    unique=True,
)


@settings(**SETTINGS)
@given(
    rows=st.lists(row, min_size=1, max_size=30),
    pick=picks,
    slide=st.sampled_from([0, 0, 1800, 3600]),
    extra=st.lists(st.integers(BASE_US - HALF_HOUR, BASE_US + 20 * HALF_HOUR), max_size=5),
)
def test_historical_equals_brute_force(rows: list[dict[str, Any]], pick: list[tuple[str, str, int]], slide: int, extra: list[int]) -> None:
    rows = _untie(rows)
    with tempfile.TemporaryDirectory() as folder:
        view = _view(_source(Path(folder), rows), slide, pick)
        probes = _probes(rows, extra)
        entities = pa.table(
            {
                "k": pa.array([k for k, _ in probes], pa.int64()),
                "event_timestamp": pa.array([_time(t) for _, t in probes], pa.timestamp("us", tz="UTC")),
            }
        )
        request = PointInTimeRequest(
            EntityInput("the entity rows", frame=entities),
            (view,),
            tuple(FeatureRef("agg", f.name, f.name) for f in view.features),
        )
        engine = DuckDBEngine()
        result = engine.historical(request).to_arrow().to_pylist()
        for (key, at), got in zip(probes, result, strict=True):
            expected = _expected(rows, view, key, at)
            actual = [got[f.name] for f in view.features]
            assert actual == expected, (key, at, view.features)


@settings(**SETTINGS)
@given(
    rows=st.lists(row, min_size=1, max_size=30),
    pick=picks,
    slide=st.sampled_from([0, 1800, 3600]),
    end_slot=st.integers(0, 16),
    end_offset=st.sampled_from([0, 1, -1, 600 * US]),
    start_slots=st.one_of(st.none(), st.integers(1, 10)),
)
def test_materialized_values_equal_brute_force(
    rows: list[dict[str, Any]], pick: list[tuple[str, str, int]], slide: int, end_slot: int, end_offset: int, start_slots: int | None
) -> None:
    rows = _untie(rows)
    end_us = BASE_US + end_slot * HALF_HOUR + end_offset
    start_us = None if start_slots is None else end_us - start_slots * HALF_HOUR
    with tempfile.TemporaryDirectory() as folder:
        view = _view(_source(Path(folder), rows), slide, pick)
        engine = DuckDBEngine()
        window = Window(None if start_us is None else _time(start_us), _time(end_us))
        records = [r for batch in engine.latest(LatestRequest(view, window)).batches(7) for r in batch]
        engine.close()
    at = align(end_us, slide)
    longest = max(w for _, _, w in pick) * US
    low = None if start_us is None else min(align(start_us, slide), at) - longest
    keys = sorted({r["k"] for r in rows if r["t"] <= at and (low is None or r["t"] > low)})
    assert sorted(int(r[0]) for r in records) == keys
    for key, event_us, created_us, values in records:
        assert event_us == at and created_us is None
        expected = _expected(rows, view, int(key), at)
        assert list(json.loads(values).values()) == expected


def test_composite_string_keys_and_field_mapping() -> None:
    """Keys of two columns (one a string, mapped from another source column name) and a
    mapped input column; source rows with a null key are never read."""
    rows = [
        {"cust": 1, "region": "eu", "t": BASE_US, "amt": 1.5},
        {"cust": 1, "region": "us", "t": BASE_US, "amt": 10.0},
        {"cust": 1, "region": "eu", "t": BASE_US + 3600 * US, "amt": 2.0},
        {"cust": 1, "region": None, "t": BASE_US, "amt": 100.0},
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.parquet"
        pq.write_table(
            pa.table(
                {
                    "cust": pa.array([r["cust"] for r in rows], pa.int64()),
                    "zone": pa.array([r["region"] for r in rows], pa.string()),
                    "ts": pa.array([_time(r["t"]) for r in rows], pa.timestamp("us")),
                    "amount_raw": pa.array([r["amt"] for r in rows], pa.float64()),
                }
            ),
            path,
        )
        source = SourceSpec("s", str(path), "parquet", "ts", None, (("zone", "region"), ("amount_raw", "amount")))
        aggs = (
            AggregationSpec("total", "amount", "sum", 7200, "float64", "float64"),
            AggregationSpec("n", "amount", "count", 7200, "int64", "float64"),
        )
        view = ViewSpec(
            "v", source, ("cust", "region"), tuple(FeatureSpec(a.name, a.dtype) for a in aggs), aggregations=aggs
        )
        probes = [(1, "eu", BASE_US + 3600 * US), (1, "us", BASE_US + 7200 * US), (1, "xx", BASE_US), (2, "eu", BASE_US)]
        entities = pa.table(
            {
                "cust": pa.array([p[0] for p in probes], pa.int64()),
                "region": pa.array([p[1] for p in probes], pa.string()),
                "event_timestamp": pa.array([_time(p[2]) for p in probes], pa.timestamp("us", tz="UTC")),
            }
        )
        request = PointInTimeRequest(
            EntityInput("the entity rows", frame=entities), (view,), (FeatureRef("v", "total", "total"), FeatureRef("v", "n", "v__n"))
        )
        got = [(r["total"], r["v__n"]) for r in DuckDBEngine().historical(request).to_arrow().to_pylist()]
    assert got == [(3.5, 2), (None, 0), (None, 0), (None, 0)]


def test_an_aggregation_view_and_a_plain_view_in_one_request() -> None:
    """Both kinds in one retrieval: the plain view's ASOF join and the aggregation's window
    pass come out on the same entity rows, in input order, with extra columns kept."""
    rows = [
        {"k": 1, "t": BASE_US, "c": None, "x": 1.5, "n": 1, "s": "a"},
        {"k": 1, "t": BASE_US + HALF_HOUR, "c": None, "x": 2.0, "n": 2, "s": "b"},
        {"k": 2, "t": BASE_US, "c": None, "x": None, "n": 3, "s": "c"},
    ]
    with tempfile.TemporaryDirectory() as folder:
        source = _source(Path(folder), rows)
        aggregated = _view(source, 0, [("x", "sum", 3600), ("n", "count", 3600)])
        plain = ViewSpec("plain", source, ("k",), (FeatureSpec("s", "string"),))
        probes = [(2, BASE_US + 1), (1, BASE_US + HALF_HOUR), (1, BASE_US - 1)]
        entities = pa.table(
            {
                "label": pa.array([10, 20, 30], pa.int64()),
                "k": pa.array([k for k, _ in probes], pa.int64()),
                "event_timestamp": pa.array([_time(t) for _, t in probes], pa.timestamp("us", tz="UTC")),
            }
        )
        request = PointInTimeRequest(
            EntityInput("the entity rows", frame=entities),
            (plain, aggregated),
            (
                FeatureRef("plain", "s", "s"),
                FeatureRef("agg", "x_sum_3600", "x_sum"),
                FeatureRef("agg", "n_count_3600", "n_count"),
            ),
        )
        got = DuckDBEngine().historical(request).to_arrow().to_pylist()
    assert [(r["label"], r["k"], r["s"], r["x_sum"], r["n_count"]) for r in got] == [
        (10, 2, "c", None, 1),
        (20, 1, "b", 3.5, 2),
        (30, 1, None, None, 0),
    ]
