"""SQL sources end to end with the real CLI on example_repo: validate names the file and
line of a broken query, plan classifies a query change as a breaking data change (blocked:
an online view reads it; whitespace is not a change), an apply of a new query restarts the
watermark of the views on it, and lineage and historical read through it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.cli.conftest import run_fsctl

END = "2026-01-05T00:00:00Z"  # the anchor of the example data (tests/support/example.py)


def edit(repo: Path, old: str, new: str) -> None:
    path = repo / "orders.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(repo: Path, text: str) -> int:
    lines = (repo / "orders.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_validate_names_file_and_line(example_repo: Path) -> None:
    edit(example_repo, "{{ source('orders') }}", "{{ source('order') }}")
    result = run_fsctl("validate", "--repo", str(example_repo))
    assert result.returncode == 1
    line = line_of(example_repo, "kind: SqlSource")
    assert (
        f"orders.yaml:{line}: SqlSource 'customer_daily_orders' field 'query': the query reads source 'order', "
        "which is not defined"
    ) in result.stderr
    edit(example_repo, "{{ source('order') }}", "{{ source('orders') }}")
    edit(example_repo, "sum(order_amount)", "sum(order_total)")
    result = run_fsctl("validate", "--repo", str(example_repo))
    assert result.returncode == 1
    assert f"orders.yaml:{line}: SqlSource 'customer_daily_orders' field 'query': the query does not run" in result.stderr
    assert "order_total" in result.stderr


def test_a_query_change_is_a_data_change(example_repo: Path) -> None:
    repo = str(example_repo)
    assert run_fsctl("apply", "--yes", "--repo", repo).returncode == 0
    assert run_fsctl("materialize", "2025-11-20T00:00:00Z", END, "--views", "customer_order_days", "--repo", repo).returncode == 0

    status = json.loads(run_fsctl("status", "--format", "json", "--views", "customer_order_days", "--repo", repo).stdout)
    assert status["views"][0]["watermark"].startswith("2026-01-05T00:00:00")

    edit(example_repo, "  GROUP BY ALL\n", "  GROUP   BY   ALL\n\n")
    assert run_fsctl("plan", "--detailed-exitcode", "--repo", repo).returncode == 0  # whitespace only

    edit(example_repo, "avg(order_amount) AS daily_avg_amount", "median(order_amount) AS daily_avg_amount")
    planned = run_fsctl("plan", "--format", "json", "--repo", repo)
    assert planned.returncode == 1  # blocked: the online view customer_order_days reads it
    [change] = json.loads(planned.stdout)["changes"]
    assert (change["kind"], change["name"], change["action"], change["breaking"]) == (
        "SqlSource", "customer_daily_orders", "update", True,
    )  # fmt: skip
    assert change["reasons"] == ["query changed: views on this source read other data"]
    assert json.loads(planned.stdout)["blocked"][0]["dependents"] == [
        "FeatureView customer_active_days", "FeatureView customer_order_days",
    ]  # fmt: skip
    applied = run_fsctl(
        "apply", "--yes", "--allow-breaking", "SqlSource/customer_daily_orders", "--reason", "median, not mean",
        "--repo", repo,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    status = json.loads(run_fsctl("status", "--format", "json", "--views", "customer_order_days", "--repo", repo).stdout)
    assert status["views"][0]["watermark"] is None  # the data changed: the view starts over


def test_lineage_and_historical_read_through_the_sql_source(example_repo: Path, tmp_path: Path) -> None:
    repo = str(example_repo)
    assert run_fsctl("apply", "--yes", "--repo", repo).returncode == 0
    lineage = json.loads(run_fsctl("lineage", "customer_order_days", "--upstream", "--format", "json", "--repo", repo).stdout)
    assert {"from": "source:orders", "to": "source:customer_daily_orders", "relation": "feeds"} in lineage["edges"]

    entities = tmp_path / "entities.csv"
    entities.write_text("customer_id,event_timestamp\n2001,2026-01-03T12:00:00Z\n2004,2026-01-04T23:00:00Z\n", encoding="utf-8")
    out = tmp_path / "train.parquet"
    result = run_fsctl(
        "historical", "--repo", repo, "--entities", str(entities), "--output", str(out),
        "--features", "customer_order_days:daily_orders,customer_order_days:daily_amount",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = duckdb.sql(f"SELECT customer_id, daily_orders, daily_amount FROM '{out}'").fetchall()
    orders = example_repo / "data" / "orders.parquet"
    expected = duckdb.sql(
        f"SELECT customer_id, count(*), sum(order_amount) FROM '{orders}' WHERE "
        "(customer_id = 2001 AND order_date >= TIMESTAMPTZ '2026-01-02 00:00:00+00' AND order_date < TIMESTAMPTZ '2026-01-03 00:00:00+00') OR "
        "(customer_id = 2004 AND order_date >= TIMESTAMPTZ '2026-01-03 00:00:00+00' AND order_date < TIMESTAMPTZ '2026-01-04 00:00:00+00') "
        "GROUP BY customer_id ORDER BY customer_id"
    ).fetchall()
    assert [(c, n) for c, n, _ in got] == [(c, n) for c, n, _ in expected]
    assert [round(a, 6) for _, _, a in got] == [round(a, 6) for _, _, a in expected]
