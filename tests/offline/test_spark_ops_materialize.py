"""Materialization with the Spark engine: the latest rows per key written into the online
store by the executors (``mapInArrow`` writers), the same records and run summaries as the
DuckDB engine, the tasks' counts summed, and the watermark moved only when every task
succeeded. The data and brute-force answers are the store contract's
(:mod:`tests.contract.test_materialize_stores`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fsctl.offline import LatestRequest, Window
from fsctl.offline.base import ExecutorWrites
from fsctl.online.sinks import StoreOpener
from fsctl.online.sqlite import SQLiteOnlineStoreConfig
from fsctl.results.materialize import MaterializeResult
from fsctl.services.apply import apply_definitions
from fsctl.services.catalog import Catalog
from fsctl.services.materialize import materialize
from fsctl.workspace import open_workspace
from tests.contract.test_materialize_stores import (
    DEFS,
    VIEWS,
    expected,
    h,
    make_rows,
    read_all,
    same,
    summaries,
    us,
    write_source,
)
from tests.support.online_ports import publisher, target_view
from tests.support.spark import make_engine

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """A new offline engine of a kind (``duckdb``, ``spark`` on the shared Spark context)."""
    return lambda kind: make_engine(request, kind)


def _repo(make_repo: Callable[..., Path], name: str, online: str) -> Path:
    root = make_repo(
        {"fsctl.yaml": f"project: {name}\nonline_store: {online}\n", "defs.yaml": DEFS}, name=name
    )
    write_source(root / "data/trips.parquet", make_rows())
    with open_workspace(root) as ws:
        apply_definitions(ws.project, publisher(ws))
    return root


def _materialize(
    root: Path, engine: Any, end: datetime, opener: Any = "configured", **options: Any
) -> MaterializeResult:
    with open_workspace(root, offline=engine) as ws:
        store_opener = ws.online_store_opener() if opener == "configured" else opener
        return materialize(
            ws.project,
            ws.registry_reader(),
            ws.state(),
            ws.online_store(),
            ws.offline_engine(),
            end,
            store_opener=store_opener,
            **options,
        )


def _no_driver_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executors write: the records never stream through the driver."""
    from fsctl.offline.spark.latest import SparkLatestRows

    def refuse(self: Any, size: int) -> Any:
        raise AssertionError("records streamed through the driver")

    monkeypatch.setattr(SparkLatestRows, "batches", refuse)


def _watermarks(root: Path) -> dict[str, str]:
    document = json.loads((root / "data/registry.state.json").read_text())
    return {view: mark["watermark"] for marks in document["stores"].values() for view, mark in marks.items()}


def _check_store(root: Path, end: datetime) -> None:
    rows = make_rows()
    for view in VIEWS:
        want = expected(rows, view, None, end)
        got = read_all(root, view, sorted(want, key=repr))
        assert got.keys() == want.keys(), view
        for key, (event_ts, created_ts, values) in want.items():
            assert got[key][:2] == (event_ts, created_ts), (view, key)
            assert same(got[key][2], values), (view, key, got[key][2], values)


def test_spark_writes_from_the_executors_what_duckdb_writes(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, engine: Callable[[str], Any]
) -> None:
    online = "{type: sqlite, path: data/online.db}"
    duck, spark = _repo(make_repo, "duck", online), _repo(make_repo, "spark", online)
    by_duckdb = _materialize(duck, engine("duckdb"), h(24), start=h(0))
    _no_driver_batches(monkeypatch)
    by_spark = _materialize(spark, engine("spark"), h(24), start=h(0))
    assert summaries(by_spark) == summaries(by_duckdb)
    assert all(r.status == "succeeded" and r.keys_sent == r.keys for r in by_spark.runs)
    assert [r.newest_event_us for r in by_spark.runs] == [r.newest_event_us for r in by_duckdb.runs]
    # an older window next: the stored newer values win on the executors too
    older = _materialize(spark, engine("spark"), h(0), start=h(-24))
    assert summaries(older) == summaries(_materialize(duck, engine("duckdb"), h(0), start=h(-24)))
    _check_store(spark, h(24))
    assert _watermarks(spark) == _watermarks(duck)


def test_the_tasks_counts_are_summed(make_repo: Callable[..., Path], engine: Callable[[str], Any]) -> None:
    root = _repo(make_repo, "counts", "{type: sqlite, path: data/online.db}")
    with open_workspace(root, offline=engine("spark")) as ws:
        spec = Catalog(ws.project, ws.registry_reader()).view_spec("by_driver")
        rows = ws.offline_engine().latest(LatestRequest(spec, Window(None, h(48))))
        assert isinstance(rows, ExecutorWrites)
        opener = ws.online_store_opener()
        assert opener is not None and opener.local  # a file: written from local executors only
        counts = rows.write(opener.for_view(target_view(ws, "by_driver")), batch_size=3)
    assert counts is not None
    assert (counts.sent, counts.written) == (rows.keys, rows.keys) == (13, 13)
    assert 1 <= counts.tasks <= 2  # two shuffle partitions, each one task that opened the store
    want = expected(make_rows(), "by_driver", None, h(48))
    assert counts.newest_event_us == max(event for event, _, _ in want.values())


def test_a_failing_writer_fails_the_run_and_keeps_the_watermark(
    make_repo: Callable[..., Path], engine: Callable[[str], Any]
) -> None:
    root = _repo(make_repo, "fails", "{type: sqlite, path: data/online.db}")
    first = _materialize(root, engine("spark"), h(24), start=h(0), views=["by_city"])
    assert first.runs[0].status == "succeeded"
    before = _watermarks(root)
    # executors open a store that cannot be opened (a folder where the database should be)
    (root / "not-a-db").mkdir()
    broken = StoreOpener(
        "fsctl.online.sqlite", "create_store", SQLiteOnlineStoreConfig(path="not-a-db"), root, True
    )
    failed = _materialize(root, engine("spark"), h(48), opener=broken, incremental=True, views=["by_city"])
    run = failed.runs[0]
    assert run.status == "failed"
    assert (
        run.error is not None and "writing into the online store from the Spark executors failed" in run.error
    )
    assert "not-a-db" in run.error
    assert _watermarks(root) == before


def test_redis_is_written_from_the_executors(
    make_repo: Callable[..., Path],
    redis_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    engine: Callable[[str], Any],
) -> None:
    root = _repo(make_repo, "viaredis", f"{{type: redis, url: '{redis_server.url}'}}")
    _no_driver_batches(monkeypatch)
    result = _materialize(root, engine("spark"), h(24))
    assert [r.status for r in result.runs] == ["succeeded"] * 3
    _check_store(root, h(24))


def test_a_hot_key_gives_the_duckdb_engines_records(tmp_path: Path, engine: Callable[[str], Any]) -> None:
    """One key holds 60% of the rows, with ties on the event time broken by the created time
    (null created times among them): the aggregate is split across tasks and still picks
    DuckDB's row for every key."""
    import collections
    import random
    from datetime import timedelta

    import pyarrow as pa
    import pyarrow.parquet as pq

    from fsctl.offline.requests import FeatureSpec, SourceSpec, ViewSpec

    rng = random.Random(5)
    n = 20_000
    keys = [0 if rng.random() < 0.6 else rng.randrange(1, 500) for _ in range(n)]
    events = [h(rng.randrange(0, 48)) for _ in range(n)]
    created = [None if rng.random() < 0.2 else e + timedelta(seconds=rng.randrange(0, 5)) for e in events]
    ts = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "k": pa.array(keys, pa.int64()),
            "event_timestamp": pa.array(events, ts),
            "created": pa.array(created, ts),
            "x": pa.array([float(i) for i in range(n)]),
        }
    )
    pq.write_table(table, tmp_path / "hot.parquet", row_group_size=2_000)
    view = ViewSpec(
        "hot",
        SourceSpec("hot", str(tmp_path / "hot.parquet"), "parquet", "event_timestamp", "created"),
        ("k",),
        (FeatureSpec("x", "float64"),),
    )
    request = LatestRequest(view, Window(h(0), h(47)))
    answers = {}
    for kind in ("duckdb", "spark"):
        made = engine(kind)
        rows = made.latest(request)
        answers[kind] = (rows.keys, rows.rows_read, sorted(r for batch in rows.batches(1_000) for r in batch))
        made.close()
    duck, spark = answers["duckdb"], answers["spark"]
    assert spark[:2] == duck[:2]
    # rows tied on (event, created) may differ in value; everything else must be identical
    assert [r[:3] for r in spark[2]] == [r[:3] for r in duck[2]]
    # a value may differ only where two rows of the key share the winning (event, created)
    tied = collections.Counter(
        (str(k), us(e), us(c) if c else None) for k, e, c in zip(keys, events, created, strict=True)
    )
    differ = [(a, b) for a, b in zip(spark[2], duck[2], strict=True) if a[3] != b[3]]
    assert all(tied[a[:3]] > 1 for a, _ in differ), differ
