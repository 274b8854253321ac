"""`fsctl status` end to end, as real processes, on a copy of the example repo: the exit code
is the alert (1 for a view that misses its freshness, never ran, or whose last run failed;
in every format), the text names the view and a command that fixes it (the tests run that
command and see the view recover), a run that wrote 0 rows while its window has rows is a
warning, the JSON has DESIGN.md's shape, and the Prometheus output parses with
prometheus-client's own parser.

The example data is written as of the current hour here (drivers' newest event 25h before
it, customers' 1d before), so "fresh" and "stale" depend on the declared freshness, not on
when the tests run.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.services.sample_data import default_anchor, write_order_data, write_sample_data
from tests.cli.conftest import run_fsctl
from tests.support.online_ports import apply_repo

pytestmark = pytest.mark.slow

UTC = timezone.utc
DESIGN_KEYS = {"name", "fresh", "freshness", "newest_event", "watermark", "last_run", "problems"}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def fsctl_in(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl(*args, "--repo", str(repo))


def expect(result: subprocess.CompletedProcess[str], code: int) -> subprocess.CompletedProcess[str]:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def status_json(repo: Path, code: int, *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(expect(fsctl_in(repo, "status", "--format", "json", *args), code).stdout)
    return {v["name"]: v for v in document["views"]}


def set_freshness(repo: Path, drivers: str, customers: str) -> None:
    edit(repo / "driver_stats.py", "    ttl=timedelta(days=2),\n", f"    ttl=timedelta(days=2),\n    freshness={drivers!r},\n")
    edit(repo / "customer.yaml", "online: true\n", f"online: true\nfreshness: {customers}\n")
    edit(repo / "orders.yaml", "online: true\n", f"online: true\nfreshness: {customers}\n")


@pytest.fixture
def anchor() -> datetime:
    return default_anchor()


@pytest.fixture
def repo(example_repo: Path, anchor: datetime) -> Path:
    """The example repo with data as of the current hour, views fresh within 2 days, applied;
    without its time-window aggregation views (not what these tests are about)."""
    (example_repo / "customer_aggregates.yaml").unlink()
    write_sample_data(example_repo / "data", anchor)
    write_order_data(example_repo / "data", anchor)
    set_freshness(example_repo, "2d", "2d")
    apply_repo(example_repo)
    return example_repo


def test_views_never_materialized_fail_and_say_what_to_run(repo: Path) -> None:
    text = expect(fsctl_in(repo, "status"), 1).stdout
    assert text.count("NEVER RAN") == 3
    assert "problem: it was never materialized into the online store sqlite:data/online.db" in text
    assert "fix: run `fsctl materialize-incremental " in text and "--views customer_profile`" in text
    assert "3 of 3 views need attention: customer_order_days, customer_profile, driver_hourly_stats (exit 1)." in text

    views = status_json(repo, 1)
    for view in views.values():
        assert DESIGN_KEYS <= set(view)
        assert (view["fresh"], view["last_run"], view["newest_event"], view["watermark"]) == (False, None, None, None)
        assert view["freshness"] == 2 * 86400
        assert view["problems"] and all(isinstance(p, str) for p in view["problems"])
    assert views["driver_hourly_stats"]["source_newest_event"] is not None

    expect(fsctl_in(repo, "status", "--format", "prometheus"), 1)  # the exit code rule holds in every format
    only = status_json(repo, 1, "--views", "customer_profile")
    assert list(only) == ["customer_profile"]
    error = expect(fsctl_in(repo, "status", "--views", "nope"), 1)
    assert error.stdout == "" and "error: feature view 'nope' is not in the registry" in error.stderr


def test_fresh_views_pass(repo: Path, anchor: datetime) -> None:
    expect(fsctl_in(repo, "materialize-incremental", iso(datetime.now(UTC))), 0)
    text = expect(fsctl_in(repo, "status"), 0).stdout
    assert "All 3 views are fine." in text and "problem" not in text
    views = status_json(repo, 0)
    drivers = views["driver_hourly_stats"]
    assert DESIGN_KEYS <= set(drivers)
    assert (drivers["fresh"], drivers["problems"], drivers["warnings"]) == (True, [], [])
    assert drivers["newest_event"] == drivers["source_newest_event"] == iso(anchor - timedelta(hours=25))
    assert drivers["age_basis"] == "runs" and 25 * 3600 <= drivers["age_seconds"] < 28 * 3600
    run = drivers["last_run"]
    assert (run["status"], run["error"], run["rows_read"] > 0, run["keys_written"]) == ("succeeded", None, True, 4)  # driver 1005 is past the TTL
    assert run["newest_event"] == drivers["newest_event"]
    assert drivers["consecutive_failures"] == 0 and drivers["last_success"] == run["finished_at"]
    assert views["customer_profile"]["newest_event"] == iso(anchor - timedelta(days=1))


def test_stale_views_name_a_command_that_fixes_them(repo: Path, anchor: datetime) -> None:
    # Load an old window only: the online data is 3 days old, the source has newer rows.
    expect(fsctl_in(repo, "materialize", iso(anchor - timedelta(days=5)), iso(anchor - timedelta(days=3))), 0)
    text = expect(fsctl_in(repo, "status"), 1).stdout
    assert text.count("STALE") == 3
    assert "problem: stale: its newest online event, " in text and "over its freshness 2d" in text
    views = status_json(repo, 1)
    drivers = views["driver_hourly_stats"]
    assert drivers["fresh"] is False and drivers["age_seconds"] > 2 * 86400
    (stale,) = [f for f in drivers["findings"] if f["code"] == "stale"]
    assert stale["fix"].startswith("run `fsctl materialize-incremental ")
    assert "--views driver_hourly_stats`" in stale["fix"]
    command = shlex.split(stale["fix"].split("`")[1])
    assert command[:2] == ["fsctl", "materialize-incremental"]
    expect(fsctl_in(repo, *command[1:]), 0)  # what the on-call engineer runs, as printed
    after = status_json(repo, 1)  # customer_profile is still stale: it was not named
    assert after["driver_hourly_stats"]["fresh"] is True and after["driver_hourly_stats"]["problems"] == []
    assert after["customer_profile"]["fresh"] is False


def test_a_failed_run_fails_until_a_run_succeeds(repo: Path) -> None:
    now = datetime.now(UTC)
    expect(fsctl_in(repo, "materialize-incremental", iso(now - timedelta(minutes=3))), 0)
    source = repo / "data/driver_stats.parquet"
    good = source.read_bytes()
    source.write_bytes(b"not parquet")  # the pipeline left a broken file
    for minutes in (2, 1):
        expect(fsctl_in(repo, "materialize-incremental", iso(now - timedelta(minutes=minutes))), 1)

    text = expect(fsctl_in(repo, "status"), 1).stdout
    assert "driver_hourly_stats  FAILED" in text
    assert "problem: its last run failed at " in text and "(2 failures in a row, last success " in text
    assert "cannot read source 'driver_stats_source'" in text
    assert "fix: fix the cause, then run `fsctl materialize-incremental " in text
    assert "1 of 3 views need attention: driver_hourly_stats (exit 1)." in text
    views = status_json(repo, 1)
    drivers = views["driver_hourly_stats"]
    assert drivers["last_run"]["status"] == "failed" and "cannot read source" in drivers["last_run"]["error"]
    assert drivers["consecutive_failures"] == 2 and drivers["last_success"] is not None
    assert drivers["fresh"] is True  # the data it loaded before is still within 2d: failed, not stale
    assert views["customer_profile"]["problems"] == []

    source.write_bytes(good)
    expect(fsctl_in(repo, "materialize-incremental", iso(datetime.now(UTC))), 0)
    assert status_json(repo, 0)["driver_hourly_stats"]["consecutive_failures"] == 0


def append_driver_row(repo: Path, event: datetime) -> None:
    """A row that arrives late: its event time is before the END of a run that already ran."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = repo / "data/driver_stats.parquet"
    table = pq.read_table(path)
    row = table.slice(0, 1).to_pylist()[0]
    row.update(event_timestamp=event, created=event)
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)]), path)


def test_a_run_that_wrote_nothing_while_its_window_has_rows_is_a_warning(repo: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = now - timedelta(minutes=30), now - timedelta(minutes=1)
    expect(fsctl_in(repo, "materialize-incremental", iso(first)), 0)
    expect(fsctl_in(repo, "materialize-incremental", iso(second)), 0)  # [first, second): no rows yet
    append_driver_row(repo, first + timedelta(minutes=5))

    text = expect(fsctl_in(repo, "status"), 0).stdout  # a warning: shown, exit 0
    assert "driver_hourly_stats  ok, warning" in text
    assert (
        f"warning: its last run wrote 0 rows, but the source has 1 rows in its window [{iso(first)}, {iso(second)}) now"
        in text
    )
    fix = f"fsctl materialize {iso(first)} {iso(second)} --views driver_hourly_stats"
    assert f"fix: run `{fix}`" in text
    assert "All 3 views are fine; warnings for driver_hourly_stats." in text
    drivers = status_json(repo, 0)["driver_hourly_stats"]
    assert [f["code"] for f in drivers["findings"]] == ["zero-rows"] and drivers["problems"] == []

    expect(fsctl_in(repo, *shlex.split(fix)[1:]), 0)
    assert status_json(repo, 0)["driver_hourly_stats"]["warnings"] == []


def test_prometheus_textfile_parses_with_prometheus_client(repo: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    edit(repo / "customer.yaml", "freshness: 2d\n", "freshness: 1h\n")  # customers' newest row is 1d old
    apply_repo(repo)
    expect(fsctl_in(repo, "materialize-incremental", iso(datetime.now(UTC))), 0)
    result = expect(fsctl_in(repo, "status", "--format", "prometheus"), 1)
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert {f.type for f in families.values()} == {"gauge"}
    assert all(f.documentation for f in families.values())

    def value(name: str, view: str) -> float:
        (sample,) = [s for s in families[name].samples if s.labels == {"project": "driver_ranking", "view": view}]
        return float(sample.value)

    assert value("fsctl_view_fresh", "driver_hourly_stats") == 1
    assert value("fsctl_view_fresh", "customer_profile") == 0
    assert value("fsctl_view_freshness_limit_seconds", "customer_profile") == 3600
    assert value("fsctl_view_freshness_seconds", "customer_profile") > 86400
    assert value("fsctl_view_last_run_success", "driver_hourly_stats") == 1
    assert value("fsctl_view_last_run_rows", "driver_hourly_stats") > 0
    assert value("fsctl_view_last_run_keys_written", "driver_hourly_stats") == 4
    assert value("fsctl_view_consecutive_failures", "customer_profile") == 0
    assert value("fsctl_view_problems", "customer_profile") == 1
    assert value("fsctl_view_problems", "driver_hourly_stats") == 0
    now = datetime.now(UTC).timestamp()
    assert now - 120 < value("fsctl_view_last_success_timestamp_seconds", "driver_hourly_stats") <= now
    (stamp,) = families["fsctl_status_timestamp_seconds"].samples
    assert stamp.labels == {"project": "driver_ranking"} and now - 120 < stamp.value <= now
