"""Sample data made as of now (issue 11, item 6): a new repo's first materialize and online
read show present values, ``make demo`` ends with present values, expired values get one
note with the fix, and an example repo without its data says how to get it.

``make demo``'s own commands are read with ``make -n demo`` and run here against a private
copy of example_repo, so the test follows the Makefile as it is.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, run_fsctl
from tests.support.example import EXAMPLE, GENERATED, copy_example_repo

pytestmark = pytest.mark.slow

NOW_COMMAND = 'fsctl materialize-incremental "$(date -u +%Y-%m-%dT%H:%M:%SZ)"'


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def feature_lines(text: str) -> list[list[str]]:
    """The rows of a one-entity online table: [feature, value, status, event time]."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("FEATURE")) + 2
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_a_new_repo_shows_present_values_after_apply_and_materialize_up_to_now(tmp_path: Path) -> None:
    ok(run_fsctl("init", "fresh_repo", cwd=tmp_path))
    repo = tmp_path / "fresh_repo"
    ok(run_fsctl("apply", "--yes", cwd=repo))
    loaded = ok(run_fsctl("materialize-incremental", utc_now(), cwd=repo))
    assert "driver_hourly_stats: done" in loaded.stdout
    one = ok(run_fsctl("online", "--service", "driver_activity", "--entity", "driver_id=1001", cwd=repo))
    rows = feature_lines(one.stdout)
    assert [r[0] for r in rows] == ["conv_rate", "acc_rate", "avg_daily_trips"]
    assert all(r[2] == "present" for r in rows), one.stdout
    assert "TTL" not in one.stdout
    drivers = tmp_path / "drivers.csv"
    drivers.write_text("driver_id\n1001\n1002\n1003\n1004\n1005\n", encoding="utf-8")
    every = ok(run_fsctl("online", "--service", "driver_activity", "--entities", str(drivers), "--format", "json", cwd=repo))
    statuses = [{f["status"] for f in row["features"].values()} for row in json.loads(every.stdout)["rows"]]
    # driver 1005 stopped reporting 2.5 days ago: a first incremental run (from END minus the 2d TTL) skips it
    assert statuses == [{"present"}] * 4 + [{"missing"}]


def is_demo_step(command: list[str]) -> bool:
    """An fsctl command or the sample data step (not echo, rm, nor setting up the venv)."""
    if not command or not command[0].startswith(".venv/bin/"):
        return False
    name = Path(command[0]).name
    return name == "fsctl" or (name == "python" and command[1:3] == ["-m", "fsctl.services.sample_data"])


def demo_commands() -> list[list[str]]:
    """The commands of `make demo` that run fsctl, as argument lists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    listed = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    commands = [shlex.split(line) for line in listed.stdout.replace("\\\n", " ").splitlines()]
    return [c for c in commands if is_demo_step(c)]


def run_demo_command(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if Path(command[0]).name == "python":
        return subprocess.run([sys.executable, *command[1:]], cwd=cwd, capture_output=True, text=True, timeout=120)
    return run_fsctl(*command[1:], cwd=cwd)


def test_the_demo_makes_its_data_then_ends_with_present_values(tmp_path: Path) -> None:
    commands = demo_commands()
    assert commands[0][1:] == ["-m", "fsctl.services.sample_data", "example_repo/data"]  # the data first
    materialize = [c for c in commands if c[1] == "materialize-incremental"]
    assert len(materialize) == 2 and "--ignore-ttl" not in commands[-1]
    shutil.copytree(EXAMPLE, tmp_path / "example_repo", ignore=shutil.ignore_patterns(*GENERATED))
    results = [ok(run_demo_command(command, tmp_path)) for command in commands]
    assert "(from the watermark)" in results[commands.index(materialize[1])].stdout
    reads = [i for i, c in enumerate(commands) if c[1] == "online"]
    expired_at = next(i for i in reads if commands[i][-1] == "driver_id=1005")
    service_at = next(i for i in reads if "driver_activity_v1" in commands[i])
    expired_read, last = results[expired_at], results[service_at]
    windows_at = next(i for i in reads if any("customer_order_windows:" in part for part in commands[i]))
    windowed = feature_lines(results[windows_at].stdout)  # time-window aggregations of the raw orders
    assert [r[0] for r in windowed] == ["orders_7d", "amount_sum_30d", "order_days_30d"]
    assert all(r[2] == "present" and r[1] != "null" for r in windowed), results[windows_at].stdout
    # then it scores the entity rows with the Production model
    assert commands[-1][1] == "score" and reads[-1] == len(commands) - 2
    assert "Scored 22 rows with model churn_classifier v1 (Production)" in results[-1].stdout
    assert {r[2] for r in feature_lines(expired_read.stdout)} == {"expired"}
    assert expired_read.stdout.rstrip("\n").splitlines()[-1] == (
        "2 values are older than the TTL of driver_hourly_stats (2d), so they came back null (expired): "
        f"add --ignore-ttl to see them anyway, or materialize a recent window for newer values: {NOW_COMMAND}"
    )
    rows = feature_lines(last.stdout)
    assert [r[0] for r in rows] == ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance"]
    assert all(r[2] == "present" and r[1] != "null" for r in rows), last.stdout
    assert "TTL" not in last.stdout


def test_the_demos_data_step_twice_gives_identical_files_for_one_anchor(tmp_path: Path) -> None:
    step = demo_commands()[0]
    assert step[1:3] == ["-m", "fsctl.services.sample_data"]
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        ok(run_demo_command([*step, "--anchor", "2026-11-30T17:00:00Z"], tmp_path / run))
    written = sorted(p.relative_to(tmp_path / "first") for p in (tmp_path / "first").rglob("*") if p.is_file())
    assert [p.name for p in written] == ["customer_profile.parquet", "driver_stats.parquet", "entities.csv", "orders.parquet"]
    for path in written:
        assert (tmp_path / "first" / path).read_bytes() == (tmp_path / "second" / path).read_bytes(), path


def test_values_older_than_the_ttl_of_two_views_get_one_note(example_repo: Path) -> None:
    # The case: data from January 2026, read online in December.
    repo = ["--repo", str(example_repo)]
    ok(run_fsctl("apply", "--yes", *repo))
    ok(run_fsctl("materialize-incremental", "2026-01-05T00:00:00Z", *repo))
    args = ["--service", "driver_activity_v1", "--entity", "driver_id=1001", "--entity", "customer_id=2001"]
    text = ok(run_fsctl("online", *args, *repo)).stdout
    assert {r[2] for r in feature_lines(text)} == {"expired"}
    notes = [line for line in text.splitlines() if "TTL" in line]
    assert notes == [
        "4 values are older than the TTL of driver_hourly_stats (2d) and customer_profile (30d), so they came "
        f"back null (expired): add --ignore-ttl to see them anyway, or materialize a recent window for newer "
        f"values: {NOW_COMMAND}"
    ]
    as_json = ok(run_fsctl("online", *args, "--format", "json", *repo)).stdout
    assert {f["status"] for f in json.loads(as_json)["rows"][0]["features"].values()} == {"expired"}


def test_an_example_repo_without_its_data_says_how_to_get_it(tmp_path: Path) -> None:
    clone = tmp_path / "example_repo"  # a fresh clone: data/ is not committed
    shutil.copytree(EXAMPLE, clone, ignore=shutil.ignore_patterns(*GENERATED))
    result = run_fsctl("validate", "--repo", str(clone))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if "no file matches" in line]
    assert len(problems) == 3, result.stderr
    for line in problems:
        assert "(relative to the repo; there is no folder data/)" in line
        assert "generate or copy the data there first, or fix the path; README.md may say how to get the data" in line
    assert "make example-data" in (EXAMPLE / "README.md").read_text(encoding="utf-8")
    ok(run_fsctl("validate", "--repo", str(copy_example_repo(tmp_path / "with_data"))))
