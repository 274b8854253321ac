"""One small materialization end to end, in-process, against every online store: sqlite,
dynamodb (moto over HTTP), redis, postgres and mysql (real servers: redis-server, Postgres,
MariaDB), and with the registry and the state document on S3 (moto).

Every combination must give identical results: the same run summaries and, read straight
from the store, the same records as a brute-force computation from the source rows. The
repo has three views so keys of several types are covered: an int key, a string key
(non-ASCII too) and a two-part key; values of several dtypes, nulls included.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.results.materialize import MaterializeResult
from fsctl.services.apply import apply_definitions, teardown
from fsctl.workspace import open_workspace
from tests.support.online_ports import publisher, read_records, run_materialize
from tests.support.s3 import endpoint_env

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2025, 6, 1, tzinfo=UTC)

DEFS = """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: Entity
name: city
join_keys: [city]
---
kind: FileSource
name: trips_src
path: data/trips.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FeatureView
name: by_driver
entities: [driver]
source: trips_src
ttl: 1d
schema:
  - {name: conv_rate, dtype: float64}
  - {name: trips, dtype: int64}
  - {name: label, dtype: string}
  - {name: active, dtype: bool}
  - {name: last_seen, dtype: timestamp}
---
kind: FeatureView
name: by_city
entities: [city]
source: trips_src
schema:
  - {name: conv_rate, dtype: float64}
  - {name: label, dtype: string}
---
kind: FeatureView
name: by_driver_city
entities: [driver, city]
source: trips_src
ttl: 7d
schema:
  - {name: trips, dtype: int64}
  - {name: active, dtype: bool}
"""
VIEWS = {
    "by_driver": (("driver_id",), ("conv_rate", "trips", "label", "active", "last_seen")),
    "by_city": (("city",), ("conv_rate", "label")),
    "by_driver_city": (("driver_id", "city"), ("trips", "active")),
}
CITIES = ["Berlin", "São Paulo", "東京", "a b", "x\u001fy"]

Row = dict[str, Any]
SPECIAL = {3: math.nan, 7: math.inf, 9: -math.inf, 13: 1e-300}  # floats that JSON handles specially


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def make_rows() -> list[Row]:
    rows = []
    for i in range(60):
        event = h((i * 7) % 72 - 24)  # from T0 - 24h to T0 + 47h
        rows.append(
            {
                "driver_id": i % 13,
                "city": CITIES[i % len(CITIES)],
                "event_timestamp": event,
                "created": None if i % 4 == 0 else event + timedelta(minutes=i),
                "conv_rate": None if i % 11 == 0 else SPECIAL.get(i % 17, i / 64),
                "trips": i * 1_000_000_007,
                "label": f"row {i} ü",
                "active": i % 3 == 0,
                "last_seen": event - timedelta(seconds=i, microseconds=i),
            }
        )
    # Ties on the event time: the later created wins, a null created loses.
    rows.append({**rows[5], "created": rows[5]["created"] + timedelta(seconds=1), "label": "tie winner"})
    rows.append({**rows[6], "created": None, "label": "tie loser"})
    return rows


def write_source(path: Path, rows: list[Row]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    types = {
        "driver_id": pa.int64(),
        "city": pa.string(),
        "event_timestamp": ts,
        "created": ts,
        "conv_rate": pa.float64(),
        "trips": pa.int64(),
        "label": pa.string(),
        "active": pa.bool_(),
        "last_seen": ts,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({c: pa.array([r[c] for r in rows], t) for c, t in types.items()}), path)


def expected(rows: list[Row], view: str, start: datetime | None, end: datetime) -> dict[tuple[Any, ...], Any]:
    """Brute force: per key, (event_ts, created_ts, values) of the latest row in [start, end)."""
    keys, features = VIEWS[view]
    best: dict[tuple[Any, ...], Row] = {}

    def order(r: Row) -> tuple[datetime, int, datetime]:
        return (r["event_timestamp"], 0 if r["created"] is None else 1, r["created"] or EPOCH)

    for r in rows:
        if r["event_timestamp"] >= end or (start is not None and r["event_timestamp"] < start):
            continue
        key = tuple(r[k] for k in keys)
        if key not in best or order(r) > order(best[key]):
            best[key] = r
    return {
        key: (
            us(r["event_timestamp"]),
            None if r["created"] is None else us(r["created"]),
            {f: r[f] for f in features},
        )
        for key, r in best.items()
    }


@dataclass
class Setup:
    online_store: str  # the online_store section of fsctl.yaml
    registry: str
    state: Callable[[], dict[str, Any]]  # the stored state document


@pytest.fixture(params=["sqlite", "dynamodb", "redis", "postgres", "mysql", "sqlite+s3-registry"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    kind = request.param
    local_state = tmp_path / "repo/data/registry.state.json"
    registry = "data/registry.json"
    state: Callable[[], dict[str, Any]] = lambda: json.loads(local_state.read_text())  # noqa: E731
    online = "{type: sqlite, path: data/online.db}"
    if kind in ("dynamodb", "sqlite+s3-registry"):
        server = request.getfixturevalue("s3_server")
        for name, value in endpoint_env(server.endpoint).items():
            monkeypatch.setenv(name, value)
        if kind == "dynamodb":
            prefix = f"m{uuid.uuid4().hex[:10]}_"
            online = f"{{type: dynamodb, endpoint_url: '{server.endpoint}', region: us-east-1, table_prefix: {prefix}}}"
        else:
            bucket = server.new_bucket()
            registry = f"s3://{bucket}/registry.json"
            client = server.client()

            def state() -> dict[str, Any]:
                body = client.get_object(Bucket=bucket, Key="registry.state.json")["Body"].read()
                return dict(json.loads(body))

            assert not local_state.exists()
    elif kind == "redis":
        online = f"{{type: redis, url: '{request.getfixturevalue('redis_server').url}'}}"
    elif kind == "postgres":
        from tests.support import postgres_server

        online = postgres_server.online_section(request.getfixturevalue("postgres_server"))
    elif kind == "mysql":
        from tests.support import mariadb_server

        online = mariadb_server.online_section(request.getfixturevalue("mariadb_server"))
    yield Setup(online, registry, state)
    if kind == "sqlite+s3-registry":
        assert not local_state.exists()  # nothing was kept locally


def read_all(root: Path, view: str, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
    with open_workspace(root) as ws:
        records = read_records(ws, view, keys)
    return {
        k: (r.event_ts, r.created_ts, r.values) for k, r in zip(keys, records, strict=True) if r is not None
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal values, NaN equal to NaN."""
    nan = {k for k, v in b.items() if isinstance(v, float) and math.isnan(v)}
    got_nan = {k for k, v in a.items() if isinstance(v, float) and math.isnan(v)}
    return nan == got_nan and {k: v for k, v in a.items() if k not in nan} == {
        k: v for k, v in b.items() if k not in nan
    }


def counts(rows: list[Row], view: str, start: datetime, end: datetime) -> tuple[int, int]:
    """(rows in [start, end), distinct keys among them)."""
    inside = [r for r in rows if start <= r["event_timestamp"] < end]
    return len(inside), len({tuple(r[k] for k in VIEWS[view][0]) for r in inside})


def mat(root: Path, end: datetime, **options: Any) -> MaterializeResult:
    """A materialize with the repo's configured ports (as one CLI run would)."""
    with open_workspace(root) as ws:
        return run_materialize(ws, end, **options)


def summaries(result: Any) -> list[tuple[Any, ...]]:
    return [(r.view, r.status, r.start, r.end, r.rows_read, r.keys, r.keys_written) for r in result.runs]


def test_materialize_end_to_end_on_every_store(setup: Setup, make_repo: Callable[..., Path]) -> None:
    project_name = f"m{uuid.uuid4().hex[:10]}"  # the redis server and moto are shared
    root = make_repo(
        {
            "fsctl.yaml": f"project: {project_name}\nregistry: {setup.registry}\nonline_store: {setup.online_store}\n",
            "defs.yaml": DEFS,
        }
    )
    rows = make_rows()
    write_source(root / "data/trips.parquet", rows)
    with open_workspace(root) as ws:
        assert apply_definitions(ws.project, publisher(ws)).version_after == 1
    with open_workspace(root) as ws:
        assert ws.online_store().views(project_name) == set(VIEWS)

    # An explicit window, then an older one (newer values kept), then incremental runs.
    first = mat(root, h(24), start=h(0))
    assert summaries(first) == [
        (v, "succeeded", h(0), h(24), *counts(rows, v, h(0), h(24)), counts(rows, v, h(0), h(24))[1])
        for v in sorted(VIEWS)
    ]
    older = mat(root, h(0), start=h(-24))
    in_first = {v: set(expected(rows, v, h(0), h(24))) for v in VIEWS}
    new_keys = {v: len(set(expected(rows, v, h(-24), h(0))) - in_first[v]) for v in VIEWS}
    kept_newer = {v: counts(rows, v, h(-24), h(0))[1] - new_keys[v] for v in VIEWS}
    assert kept_newer["by_city"] > 0 and kept_newer["by_driver"] > 0  # the rule is exercised
    assert summaries(older) == [
        (v, "succeeded", h(-24), h(0), *counts(rows, v, h(-24), h(0)), new_keys[v]) for v in sorted(VIEWS)
    ]
    incremental = mat(root, h(48), incremental=True, views=["by_driver", "by_city"])
    assert summaries(incremental) == [
        (v, "succeeded", h(24), h(48), *counts(rows, v, h(24), h(48)), counts(rows, v, h(24), h(48))[1])
        for v in ["by_driver", "by_city"]
    ]

    everything = {
        "by_driver": expected(rows, "by_driver", None, h(48)),
        "by_city": expected(rows, "by_city", None, h(48)),
        "by_driver_city": expected(rows, "by_driver_city", None, h(24)),
    }
    for view, want in everything.items():
        keys = [*sorted(want, key=repr), (999,) if len(VIEWS[view][0]) == 1 else (999, "nowhere")]
        got = read_all(root, view, keys)
        assert got.keys() == want.keys(), view
        for key, (event_ts, created_ts, values) in want.items():
            assert got[key][:2] == (event_ts, created_ts), (view, key)
            assert same(got[key][2], values), (view, key, got[key][2], values)
            assert [type(v) for v in got[key][2].values()] == [type(v) for v in values.values()], (view, key)

    # Watermarks in the state document beside the registry, under the store they were
    # written to; the registry (which records that store) did not move.
    document = setup.state()
    with open_workspace(root) as ws:
        store_id = ws.project.online_store
        assert ws.registry().read().online_store == store_id
        assert store_id.split(":", 1)[0] == ws.online_config.type  # type:where-its-data-is
    assert {name: v["watermark"] for name, v in document["stores"][store_id].items()} == {
        "by_city": "2025-06-03T00:00:00Z",
        "by_driver": "2025-06-03T00:00:00Z",
        "by_driver_city": "2025-06-02T00:00:00Z",
    }
    assert list(document["stores"]) == [store_id] and document["views"] == {}
    assert len(document["runs"]) == 8
    assert {run["store"] for run in document["runs"]} == {store_id}
    with open_workspace(root) as ws:
        assert ws.registry().read().version == 1

    with open_workspace(root) as ws:
        result = teardown(ws.project, publisher(ws))
    assert result.version_after == 2
    with open_workspace(root) as ws:
        assert ws.online_store().views(project_name) == set()
    assert setup.state()["stores"] == {}  # the dropped tables' watermarks are forgotten with them


AGG_DEFS = """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: FileSource
name: trips_src
path: data/trips.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FeatureView
name: windows
entities: [driver]
source: trips_src
slide: 1h
inputs:
  - {name: trips, dtype: int64}
  - {name: label, dtype: string}
  - {name: city, dtype: string}
  - {name: last_seen, dtype: timestamp}
aggregations:
  - {column: trips, function: count, window: 1d, name: trips_1d}
  - {column: trips, function: sum, window: 2d, name: trips_sum_2d}
  - {column: trips, function: avg, window: 2d, name: trips_avg_2d}
  - {column: label, function: max, window: 2d, name: label_max_2d}
  - {column: city, function: count_distinct, window: 2d, name: cities_2d}
  - {column: last_seen, function: last, window: 1d, name: last_seen_1d}
"""
AGGS = [
    ("trips_1d", "count", "trips", 86400),
    ("trips_sum_2d", "sum", "trips", 2 * 86400),
    ("trips_avg_2d", "avg", "trips", 2 * 86400),
    ("label_max_2d", "max", "label", 2 * 86400),
    ("cities_2d", "count_distinct", "city", 2 * 86400),
    ("last_seen_1d", "last", "last_seen", 86400),
]


def test_aggregations_materialize_as_of_the_aligned_end_on_every_store(
    setup: Setup, make_repo: Callable[..., Path]
) -> None:
    """Time-window aggregations (issue 17): each store holds, per key, the aggregates as of
    END aligned down to the slide, with that as-of time as the record's event time and no
    created time; a later run replaces them (never-older)."""
    from tests.support.agg_reference import aggregate, align

    project_name = f"m{uuid.uuid4().hex[:10]}"
    root = make_repo(
        {
            "fsctl.yaml": f"project: {project_name}\nregistry: {setup.registry}\nonline_store: {setup.online_store}\n",
            "defs.yaml": AGG_DEFS,
        }
    )
    rows = make_rows()
    write_source(root / "data/trips.parquet", rows)
    with open_workspace(root) as ws:
        assert apply_definitions(ws.project, publisher(ws)).version_after == 1

    def want(end: datetime) -> dict[tuple[Any, ...], Any]:
        at = align(us(end), 3600)
        out = {}
        for key in sorted({r["driver_id"] for r in rows if us(r["event_timestamp"]) <= at}):
            mine = [
                {**r, "t": us(r["event_timestamp"]), "c": None if r["created"] is None else us(r["created"])}
                for r in rows
                if r["driver_id"] == key
            ]
            out[(key,)] = (at, None, {n: aggregate(mine, f, c, w, at) for n, f, c, w in AGGS})
        return out

    for end in (h(10.5), h(60)):  # the second from the watermark; rows have left some windows by then
        result = mat(root, end, incremental=True)
        assert [(r.view, r.status) for r in result.runs] == [("windows", "succeeded")]
        expected_records = want(end)
        got = read_all(root, "windows", [*expected_records, (999,)])
        assert got.keys() == expected_records.keys()
        for key, (event_ts, created_ts, values) in expected_records.items():
            assert got[key][:2] == (event_ts, created_ts), key
            assert got[key][2] == values, (key, got[key][2], values)
