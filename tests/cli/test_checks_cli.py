"""Data checks end to end, as real processes, on a copy of the example repo (issue 14).

The example's customer_profile view checks ``current_balance: {min: 0}`` and
``avg_passenger_count: {min: 0, max: 10, max_null_fraction: 0.2}``; its data ends on
2026-01-04 and passes them. Each test loads everything up to 2026-01-05, then appends the
rows of :data:`BAD` (all in [2026-01-05, 2026-01-06)) to the source and runs the next window:

* ``reject`` (the default): exit 1 naming each failing check with its count and an example
  key; the view's watermark and its online values are unchanged (good rows of the window
  are not written either), the other views still move; once the rows are fixed, the same
  command writes the window;
* ``warn``: the window is written, the watermark moves, exit 0, and the failed checks are
  in the summary and in the run record of the state document;
* ``fsctl check`` alone: every check kind counted by hand on :data:`BAD`, text and JSON,
  exit 1 on any failure whatever the policy.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.online_ports import apply_repo

pytestmark = pytest.mark.slow

UTC = timezone.utc
STATE = "data/registry.state.json"
STORE = "sqlite:data/online.db"
SOURCE = "data/customer_profile.parquet"
LOADED = "2026-01-05T00:00:00Z"  # every view's watermark before the window under test
NEXT = "2026-01-06T00:00:00Z"


def at(hour: int) -> datetime:
    return datetime(2026, 1, 5, hour, tzinfo=UTC)


# (customer_id, event time, created, current_balance, avg_passenger_count, lifetime_trip_count)
BAD = [
    (2003, at(3), at(3), -5.0, 2.0, 10),  # balance below 0
    (2004, at(4), at(4), -7.0, 11.0, 20),  # balance below 0; passengers above 10
    (2005, at(2), at(2), 10.0, None, 30),  # passengers null (1 of 4 = 25% > 20%)
    (2005, at(2), at(3), 12.0, 3.0, 30),  # same key and event time, created later: the latest of 2005
]
# The failures of the example's own checks on BAD, as `describe` words them.
FAILURES = [
    "current_balance min 0: 2 of 4 rows below 0 (e.g. customer_id=2003 at 2026-01-05T03:00:00Z)",
    "avg_passenger_count max 10: 1 of 4 rows above 10 (e.g. customer_id=2004 at 2026-01-05T04:00:00Z)",
    "avg_passenger_count max_null_fraction 0.2: 1 of 4 rows null (25.0%) (e.g. customer_id=2005 at 2026-01-05T02:00:00Z)",
]


def append_rows(root: Path, rows: list[tuple[Any, ...]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = root / SOURCE
    table = pq.read_table(path)
    names = ["customer_id", "event_timestamp", "created", "current_balance", "avg_passenger_count", "lifetime_trip_count"]
    extra = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows], schema=table.schema)
    pq.write_table(pa.concat_tables([table, extra]), path)


def fsctl_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl(*args, "--repo", str(root))


def exits(code: int, result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result


def state(root: Path) -> dict[str, Any]:
    return json.loads((root / STATE).read_text())


def watermark(root: Path, view: str) -> str | None:
    return state(root)["stores"][STORE].get(view, {}).get("watermark")


def last_run(root: Path, view: str) -> dict[str, Any]:
    return [r for r in state(root)["runs"] if r["view"] == view][-1]


def online(root: Path) -> dict[int, dict[str, Any]]:
    """customer_profile's stored values of 2003, 2004, 2005 (value, event time), as `fsctl online` reads them."""
    entities = root / "entities-under-test.csv"
    entities.write_text("customer_id\n2003\n2004\n2005\n")
    result = exits(
        0,
        fsctl_in(
            root,
            "online",
            "--features",
            "customer_profile:current_balance,customer_profile:avg_passenger_count",
            "--entities",
            str(entities),
            "--ignore-ttl",
            "--format",
            "json",
        ),
    )
    return {
        row["entity"]["customer_id"]: {
            name: (f["value"], f["event_timestamp"]) for name, f in row["features"].items()
        }
        for row in json.loads(result.stdout)["rows"]
    }


def set_customer_checks(root: Path, extra: str) -> None:
    """Add view fields (``check_policy``, ``row_checks``, ...) to customer_profile and apply."""
    path = root / "customer.yaml"
    text = path.read_text()
    assert "\nchecks:\n" in text
    path.write_text(text.replace("\nchecks:\n", f"\n{extra}checks:\n", 1))
    apply_repo(root)


@pytest.fixture
def repo(example_repo: Path) -> Path:
    """The example repo, applied and loaded up to 2026-01-05 (its own checks pass)."""
    apply_repo(example_repo)
    loaded = exits(0, fsctl_in(example_repo, "materialize-incremental", LOADED))
    assert "data checks: all 4 passed" in loaded.stdout
    assert watermark(example_repo, "customer_profile") == LOADED
    return example_repo


def test_reject_writes_nothing_keeps_the_watermark_and_names_each_check(repo: Path) -> None:
    before_values = online(repo)
    append_rows(repo, BAD)
    result = exits(1, fsctl_in(repo, "materialize-incremental", NEXT))

    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: materialization failed for 1 view (their watermarks did not move):"]
    message = result.stderr[result.stderr.index("error:") :]
    assert "  customer_profile: rejected by 3 failing data checks (check_policy: reject), nothing written:" in message
    for line in FAILURES:
        assert f"\n    {line}\n" in message
    assert "fsctl check VIEW --start START --end END" in message  # the hint
    # the summary on stdout says the same
    assert "  data checks: 3 of 4 failed (rejected, nothing written)" in result.stdout.splitlines()
    assert f"    {FAILURES[0]}" in result.stdout.splitlines()

    # the watermark stays, the online values are those from before (2005's good row is not
    # written either), and the other view still ran
    assert watermark(repo, "customer_profile") == LOADED
    assert online(repo) == before_values
    assert watermark(repo, "driver_hourly_stats") == NEXT
    run = last_run(repo, "customer_profile")
    assert (run["status"], run["keys_written"], run["rows_read"], run["check_policy"]) == ("failed", 0, 4, "reject")
    assert run["error"].startswith("rejected by 3 failing data checks")
    assert [(c["feature"], c["check"], c["failed"], c["example_key"], c["example_time"]) for c in run["checks"]] == [
        ("current_balance", "min", 2, {"customer_id": 2003}, "2026-01-05T03:00:00Z"),
        ("avg_passenger_count", "max", 1, {"customer_id": 2004}, "2026-01-05T04:00:00Z"),
        ("avg_passenger_count", "max_null_fraction", 1, {"customer_id": 2005}, "2026-01-05T02:00:00Z"),
    ]

    # run again: rejected again, nothing moves
    exits(1, fsctl_in(repo, "materialize-incremental", NEXT, "--views", "customer_profile"))
    assert watermark(repo, "customer_profile") == LOADED

    # fixed rows: the same command writes the window and moves the watermark
    (repo / SOURCE).unlink()
    from fsctl.services.sample_data import write_sample_data
    from tests.support.example import ANCHOR

    write_sample_data(repo / "data", ANCHOR)
    append_rows(repo, [(2003, at(3), at(3), 5.0, 2.0, 10), (2005, at(2), at(3), 12.0, 3.0, 30)])
    fixed = exits(0, fsctl_in(repo, "materialize-incremental", NEXT, "--views", "customer_profile"))
    assert "  data checks: all 4 passed" in fixed.stdout.splitlines()
    assert watermark(repo, "customer_profile") == NEXT
    after = online(repo)
    assert after[2003]["current_balance"] == (5.0, "2026-01-05T03:00:00Z")
    assert after[2005]["current_balance"] == (12.0, "2026-01-05T02:00:00Z")
    assert after[2004] == before_values[2004]
    assert last_run(repo, "customer_profile")["checks"] == []  # ran, none failed


def test_warn_writes_the_window_and_records_the_failures(repo: Path) -> None:
    set_customer_checks(repo, "check_policy: warn\nrow_checks: {min_rows: 5}\n")
    append_rows(repo, BAD)
    result = exits(0, fsctl_in(repo, "materialize-incremental", NEXT))
    lines = result.stdout.splitlines()
    assert "  data checks: 4 of 5 failed (check_policy warn: written anyway)" in lines
    for line in [*FAILURES, "min_rows 5: 4 rows in the window"]:
        assert f"    {line}" in lines
    assert "customer_profile: 4 of 5 data checks failed (check_policy: warn): writing the window anyway" in result.stderr

    assert watermark(repo, "customer_profile") == NEXT
    values = online(repo)
    assert values[2003]["current_balance"] == (-5.0, "2026-01-05T03:00:00Z")
    assert values[2004]["avg_passenger_count"] == (11.0, "2026-01-05T04:00:00Z")
    assert values[2005]["current_balance"] == (12.0, "2026-01-05T02:00:00Z")  # the later created row
    run = last_run(repo, "customer_profile")
    assert (run["status"], run["error"], run["check_policy"], run["keys_written"]) == ("succeeded", None, "warn", 3)
    assert [(c["feature"], c["check"], c["failed"], c["rows"]) for c in run["checks"]] == [
        ("current_balance", "min", 2, 4),
        ("avg_passenger_count", "max", 1, 4),
        ("avg_passenger_count", "max_null_fraction", 1, 4),
        (None, "min_rows", 1, 4),
    ]

    # fsctl status shows it as a warning (the window was written on purpose)
    status = json.loads(fsctl_in(repo, "status", "--views", "customer_profile", "--format", "json").stdout)
    (found,) = [f for f in status["views"][0]["findings"] if f["code"] == "checks-failed"]
    assert found["severity"] == "warning"
    assert "4 data checks failed (check_policy: warn): current_balance min: 2 of 4 rows" in found["message"]
    assert found["fix"].startswith("see `fsctl check customer_profile --start ")

    # the JSON summary carries every check with its outcome
    again = exits(
        0, fsctl_in(repo, "materialize", "2026-01-05", NEXT, "--views", "customer_profile", "--format", "json")
    )
    (view,) = json.loads(again.stdout)["views"]
    assert view["status"] == "succeeded"
    assert view["checks"]["policy"] == "warn" and view["checks"]["passed"] is False
    assert [(c["check"], c["passed"]) for c in view["checks"]["results"]] == [
        ("min", False),
        ("min", True),
        ("max", False),
        ("max_null_fraction", False),
        ("min_rows", False),
    ]


def test_check_alone_counts_every_kind_by_hand(repo: Path) -> None:
    # the example data passes the example's checks
    clean = exits(0, fsctl_in(repo, "check", "customer_profile", "--start", "2026-01-03", "--end", LOADED))
    assert clean.stdout.splitlines() == [
        "customer_profile: all 4 data checks passed on [2026-01-03T00:00:00Z, 2026-01-05T00:00:00Z), 21 rows",
        "  ok   current_balance min 0: 0 of 21 rows below 0",
        "  ok   avg_passenger_count min 0: 0 of 21 rows below 0",
        "  ok   avg_passenger_count max 10: 0 of 21 rows above 10",
        "  ok   avg_passenger_count max_null_fraction 0.2: 0 of 21 rows null (0.0%)",
    ]
    set_customer_checks(repo, "row_checks: {min_rows: 5, unique: true}\n")
    path = repo / "customer.yaml"
    path.write_text(
        path.read_text().replace(
            "  current_balance: {min: 0}\n",
            "  current_balance: {min: 0, max: 11}\n  lifetime_trip_count: {allowed: [10, 30]}\n",
        )
    )
    apply_repo(repo)
    append_rows(repo, BAD)
    result = exits(1, fsctl_in(repo, "check", "customer_profile", "--start", LOADED, "--end", NEXT))
    assert result.stdout.splitlines() == [
        "customer_profile: 7 of 8 data checks FAILED on [2026-01-05T00:00:00Z, 2026-01-06T00:00:00Z), 4 rows",
        f"  FAIL {FAILURES[0]}",
        "  FAIL current_balance max 11: 1 of 4 rows above 11 (e.g. customer_id=2005 at 2026-01-05T02:00:00Z)",
        "  ok   avg_passenger_count min 0: 0 of 4 rows below 0",
        f"  FAIL {FAILURES[1]}",
        f"  FAIL {FAILURES[2]}",
        "  FAIL lifetime_trip_count allowed [10, 30]: 1 of 4 rows with another value "
        "(e.g. customer_id=2004 at 2026-01-05T04:00:00Z)",
        "  FAIL unique: 2 of 4 rows share their join keys and event time with another row "
        "(e.g. customer_id=2005 at 2026-01-05T02:00:00Z)",
        "  FAIL min_rows 5: 4 rows in the window",
        "materialize rejects this window (check_policy: reject): nothing written, the watermark stays",
    ]
    as_json = json.loads(
        exits(1, fsctl_in(repo, "check", "customer_profile", "--start", LOADED, "--end", NEXT, "--format", "json")).stdout
    )
    assert {k: as_json[k] for k in ("view", "start", "end", "policy", "passed", "rows")} == {
        "view": "customer_profile",
        "start": LOADED,
        "end": NEXT,
        "policy": "reject",
        "passed": False,
        "rows": 4,
    }
    assert [(c["feature"], c["check"], c["limit"], c["failed"], c["passed"], c["example_key"]) for c in as_json["checks"]] == [
        ("current_balance", "min", 0, 2, False, {"customer_id": 2003}),
        ("current_balance", "max", 11, 1, False, {"customer_id": 2005}),
        ("avg_passenger_count", "min", 0, 0, True, None),
        ("avg_passenger_count", "max", 10, 1, False, {"customer_id": 2004}),
        ("avg_passenger_count", "max_null_fraction", 0.2, 1, False, {"customer_id": 2005}),
        ("lifetime_trip_count", "allowed", [10, 30], 1, False, {"customer_id": 2004}),
        (None, "unique", True, 2, False, {"customer_id": 2005}),
        (None, "min_rows", 5, 1, False, None),
    ]
    # `check` never writes: the watermark and the state are as they were
    assert watermark(repo, "customer_profile") == LOADED

    # exit 1 whatever the policy
    set_customer_checks(repo, "check_policy: warn\n")
    warned = exits(1, fsctl_in(repo, "check", "customer_profile", "--start", LOADED, "--end", NEXT))
    assert warned.stdout.splitlines()[-1] == "materialize writes this window and records the failures (check_policy: warn)"


def test_check_usage_errors(repo: Path) -> None:
    unknown = exits(1, fsctl_in(repo, "check", "customer_profiles", "--end", NEXT))
    assert "feature view 'customer_profiles' is not in the registry" in unknown.stderr
    assert "did you mean 'customer_profile'?" in unknown.stderr
    backwards = exits(1, fsctl_in(repo, "check", "customer_profile", "--start", NEXT, "--end", LOADED))
    assert "is not before --end" in backwards.stderr
    no_end = exits(1, fsctl_in(repo, "check", "customer_profile"))
    assert "--end" in no_end.stderr
    bad_time = exits(1, fsctl_in(repo, "check", "customer_profile", "--end", "tomorrow"))
    assert "--end 'tomorrow' is not an ISO-8601 time" in bad_time.stderr
