"""A view with time-window aggregations, end to end as real processes: the training set has
the aggregates as of each entity time aligned down to the slide; materialize writes them as
of the window END (aligned down) and `fsctl online` and the feature server return them with
that as-of time; a
later run moves the as-of time and rewrites keys whose windows emptied (count 0, nulls);
`stats`, `check` and `status` work on the view's source rows, `describe` shows how each
feature is computed; pushing rows to it is refused.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.agg_reference import aggregate, align
from tests.support.online_ports import apply_repo

pytestmark = pytest.mark.slow

UTC = timezone.utc
T0 = datetime(2025, 6, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SLIDE = 3600

CONFIG = "project: aggcli\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
DEFS = """\
kind: Entity
name: customer
join_keys: [customer_id]
---
kind: FileSource
name: orders
path: data/orders.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FeatureView
name: customer_orders
entities: [customer]
source: orders
slide: 1h
row_checks: {min_rows: 1}
inputs:
  - {name: order_amount, dtype: float64}
  - {name: order_id, dtype: int64}
aggregations:
  - {column: order_id, function: count, window: 1d, name: orders_1d}
  - {column: order_amount, function: sum, window: 2d, name: amount_sum_2d}
  - {column: order_amount, function: avg, window: 2d, name: amount_avg_2d}
  - {column: order_amount, function: last, window: 2d, name: last_amount}
  - {column: order_id, function: count_distinct, window: 2d, name: distinct_2d}
---
kind: FeatureService
name: svc
features: [customer_orders]
"""
FEATURES = [
    ("orders_1d", "count", "order_id", 86400),
    ("amount_sum_2d", "sum", "order_amount", 2 * 86400),
    ("amount_avg_2d", "avg", "order_amount", 2 * 86400),
    ("last_amount", "last", "order_amount", 2 * 86400),
    ("distinct_2d", "count_distinct", "order_id", 2 * 86400),
]


def us(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# (customer, event time, amount or None); customer 2's rows are all older than 2d at h(60).
ROWS: list[tuple[int, datetime, float | None]] = [
    (1, h(-30), 8.0),
    (1, h(-3), 2.5),
    (1, h(-1), None),
    (1, h(0), 4.0),  # exactly at an as-of time: counts there
    (1, h(0.5), 1.0),  # inside an hour: seen only from h(1) with the 1h slide
    (1, h(24) + timedelta(microseconds=1), 6.0),
    (2, h(-5), 7.5),
    (2, h(-5), 2.5),  # a tie on event time
]


def reference(key: int, at: datetime) -> dict[str, Any]:
    rows = [
        {"t": us(t), "c": us(t), "order_amount": amount, "order_id": n}
        for n, (k, t, amount) in enumerate(ROWS)
        if k == key
    ]
    a = align(us(at), SLIDE)
    return {name: aggregate(rows, function, column, window, a) for name, function, column, window in FEATURES}


@pytest.fixture
def repo(write_repo: Callable[..., Path]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = write_repo({"fsctl.yaml": CONFIG, "defs.yaml": DEFS}, data=False)
    ts = pa.timestamp("us", tz="UTC")
    (root / "data").mkdir()
    pq.write_table(
        pa.table(
            {
                "customer_id": pa.array([k for k, _, _ in ROWS], pa.int64()),
                "event_timestamp": pa.array([t for _, t, _ in ROWS], ts),
                "created": pa.array([t for _, t, _ in ROWS], ts),
                "order_id": pa.array(range(len(ROWS)), pa.int64()),
                "order_amount": pa.array([a for _, _, a in ROWS], pa.float64()),
            }
        ),
        root / "data/orders.parquet",
    )
    assert apply_repo(root).version_after == 1
    return root


def ok(*args: str, root: Path) -> str:
    result = run_fsctl(*args, "--repo", str(root))
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def online(root: Path, key: int) -> dict[str, Any]:
    out = json.loads(ok("online", "--service", "svc", "--entity", f"customer_id={key}", "--format", "json", root=root))
    return out["rows"][0]["features"]  # type: ignore[no-any-return]


def test_training_set_has_the_aggregates_as_of_each_aligned_entity_time(repo: Path) -> None:
    probes = [(1, h(0)), (1, h(0.5)), (1, h(1)), (1, h(24)), (1, h(25)), (2, h(0)), (2, h(43.99)), (2, h(44)), (3, h(0))]
    (repo / "entities.csv").write_text(
        "customer_id,event_timestamp\n" + "".join(f"{k},{t.isoformat()}\n" for k, t in probes)
    )
    ok("historical", "--entities", str(repo / "entities.csv"), "--service", "svc", "--output", str(repo / "out.csv"), root=repo)
    with (repo / "out.csv").open() as handle:
        got = list(csv.DictReader(handle))
    assert len(got) == len(probes)
    for (key, at), row in zip(probes, got, strict=True):
        expected = reference(key, at)
        for name, _, _, _ in FEATURES:
            value = expected[name]
            assert row[name] == ("" if value is None else str(value)), (key, at, name, row)
    assert got[1]["orders_1d"] == got[0]["orders_1d"] == "3"  # h(0.5) is read as of h(0)
    assert got[2]["orders_1d"] == "4"
    assert got[8]["orders_1d"] == "0" and got[8]["amount_sum_2d"] == ""  # no rows: 0 and null


def test_materialize_writes_values_as_of_the_aligned_end_and_online_returns_that_time(repo: Path) -> None:
    ok("materialize-incremental", h(0.75).isoformat(), root=repo)
    first = online(repo, 1)
    assert {n: f["value"] for n, f in first.items()} == reference(1, h(0.75))
    assert {f["event_timestamp"] for f in first.values()} == {"2025-06-01T00:00:00Z"}
    assert online(repo, 2)["orders_1d"]["value"] == 2

    ok("materialize-incremental", h(60.2).isoformat(), root=repo)
    later = online(repo, 1)
    assert {n: f["value"] for n, f in later.items()} == reference(1, h(60.2))
    assert {f["event_timestamp"] for f in later.values()} == {"2025-06-03T12:00:00Z"}
    emptied = online(repo, 2)  # its rows left every window: rewritten, not left stale
    assert {n: f["value"] for n, f in emptied.items()} == reference(2, h(60.2))
    assert emptied["orders_1d"]["value"] == 0 and emptied["amount_sum_2d"]["value"] is None


def test_source_row_commands_work_and_pushing_to_the_view_is_refused(repo: Path) -> None:
    stats = ok("stats", "customer_orders", root=repo)
    assert "order_amount" in stats and "order_id" in stats
    check = ok("check", "customer_orders", "--start", h(-48).isoformat(), "--end", h(48).isoformat(), root=repo)
    assert "min_rows 1: 8 rows" in check
    described = ok("describe", "views", "customer_orders", root=repo)
    assert "slide:      1h" in described and "inputs:     order_amount float64, order_id int64" in described
    assert "amount_sum_2d  float64  sum(order_amount) over 2d" in described
    status = run_fsctl("status", "--repo", str(repo))
    assert status.returncode == 1 and "customer_orders  NEVER RAN" in status.stdout  # reads the source: no crash
    assert "source newest event 2025-06-02T00:00:00Z" in status.stdout


def test_pushing_rows_to_an_aggregation_view_is_refused(repo: Path) -> None:
    from fsctl.errors import UsageError
    from fsctl.online.memory import MemoryOnlineStore
    from fsctl.services.online import OnlineReader
    from fsctl.services.push import OnlineWriter
    from fsctl.state.memory import MemoryStateStore
    from fsctl.workspace import open_workspace

    store, state = MemoryOnlineStore(), MemoryStateStore()
    with open_workspace(repo, online=store, state=state) as ws:
        writer = OnlineWriter(OnlineReader(ws.project, ws.registry_reader(), store), state)
        rows = {"customer_id": [1], "event_timestamp": [h(1)], "orders_1d": [5]}
        with pytest.raises(UsageError) as info:
            writer.write("customer_orders", rows)
    assert "computes its features over time windows" in info.value.message


def test_the_feature_server_returns_the_values_with_their_as_of_time(repo: Path) -> None:
    import httpx

    from tests.support.server import start_server

    ok("materialize-incremental", h(0.75).isoformat(), root=repo)
    server = start_server(repo)
    try:
        response = httpx.post(
            f"{server.url}/get-online-features",
            json={"features": ["customer_orders:orders_1d", "customer_orders:last_amount"], "entities": {"customer_id": [1, 3]}},
            timeout=10,
        )
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    expected = reference(1, h(0.75))
    assert [r["values"][0] for r in results[1:]] == [expected["orders_1d"], expected["last_amount"]]
    assert {r["event_timestamps"][0] for r in results[1:]} == {"2025-06-01T00:00:00Z"}  # the as-of time
    assert [r["statuses"][1] for r in results[1:]] == ["NOT_FOUND", "NOT_FOUND"]  # no rows: nothing written
