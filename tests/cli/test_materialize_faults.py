"""A materialize killed with SIGKILL part way loses nothing (DESIGN.md section 3).

Each test runs the real CLI as a separate process and kills it: at fixed points through the
test-only hook ``FSCTL_FAULT_INJECT`` (after the query, after the first and third batch,
just before the state write), and with a real external ``kill -9`` at a random moment. After
every kill:

* the watermark did not move (the state document is byte for byte what it was);
* the online store is intact (``PRAGMA integrity_check``) and readable;
* every key holds either what it held before the run or its final value: never anything
  else, and the keys pre-loaded with values newer than the window still hold them;

and a re-run without the hook exits 0, leaves every key at the latest value of its rows
before END (computed by brute force from the source rows) except the pre-loaded newer
ones, and moves the watermark to END.

Also: a source deleted between two runs fails clearly and keeps the watermark; an apply
and a materialize running at the same moment both land.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.online.base import OnlineRecord
from fsctl.workspace import open_workspace
from tests.cli.conftest import fsctl_env, run_fsctl
from tests.support.lockstep import run_in_lockstep
from tests.support.online_ports import apply_repo, read_records, run_materialize, target_view, write_records

pytestmark = pytest.mark.slow

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2025, 6, 1, tzinfo=UTC)  # the watermark before the killed run
END = START + timedelta(days=2)  # the END of the killed run
BATCH = "5"

CONFIG = "project: faults\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
DEFS = """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: FileSource
name: stats_src
path: data/stats.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FeatureView
name: stats
entities: [driver]
source: stats_src
schema:
  - {name: conv_rate, dtype: float64}
  - {name: trips, dtype: int64}
"""

Row = tuple[int, datetime, "datetime | None", float, int]
Value = tuple[int, "int | None", float, int]  # event_ts, created_ts, conv_rate, trips


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def make_rows(keys: int, seed: int) -> list[Row]:
    """A few rows per key spread over [START - 5d, END + 1d), some with equal event times
    told apart by created (or a null created)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    span = int((END + timedelta(days=1) - (START - timedelta(days=5))).total_seconds())
    for key in range(keys):
        for _ in range(rng.randint(1, 5)):
            event = START - timedelta(days=5) + timedelta(seconds=rng.randrange(span))
            created = None if rng.random() < 0.2 else event + timedelta(seconds=rng.randrange(3600))
            rows.append((key, event, created, rng.random(), rng.randrange(10**9)))
            if rng.random() < 0.2:  # a tie on the event time
                rows.append((key, event, event + timedelta(seconds=rng.randrange(7200)), rng.random(), -key))
    return rows


def latest_before(rows: list[Row], end: datetime) -> dict[int, Value]:
    """Brute force: per key, the row with the latest (event, created) before ``end``; a null
    created time loses to any real one."""
    best: dict[int, Row] = {}

    def order(r: Row) -> tuple[datetime, int, datetime]:
        return (r[1], 0 if r[2] is None else 1, r[2] or EPOCH)

    for r in rows:
        if r[1] < end and (r[0] not in best or order(r) > order(best[r[0]])):
            best[r[0]] = r
    return {k: (us(r[1]), None if r[2] is None else us(r[2]), r[3], r[4]) for k, r in best.items()}


def write_source(path: Path, rows: list[Row]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "driver_id": pa.array([r[0] for r in rows], pa.int64()),
            "event_timestamp": pa.array([r[1] for r in rows], ts),
            "created": pa.array([r[2] for r in rows], ts),
            "conv_rate": pa.array([r[3] for r in rows], pa.float64()),
            "trips": pa.array([r[4] for r in rows], pa.int64()),
        }
    )
    pq.write_table(table, path, row_group_size=1000)


@dataclass
class Scenario:
    """A repo whose view was loaded up to START, with some keys then given newer values."""

    root: Path
    rows: list[Row]
    keys: int
    newer: dict[int, Value]  # the pre-loaded records, newer than anything before END

    @property
    def state_file(self) -> Path:
        return self.root / "data/registry.state.json"

    def read(self) -> dict[int, Value]:
        """Every stored record, straight from the online store."""
        with open_workspace(self.root) as ws:
            records = read_records(ws, "stats", [(k,) for k in range(self.keys)])
        return {
            k: (r.event_ts, r.created_ts, r.values["conv_rate"], r.values["trips"])
            for k, r in zip(range(self.keys), records, strict=True)
            if r is not None
        }

    def final(self) -> dict[int, Value]:
        """What every key must hold after a complete run to END."""
        return {**latest_before(self.rows, END), **self.newer}

    def watermark(self) -> str | None:
        if not self.state_file.exists():
            return None
        document = json.loads(self.state_file.read_text())
        return document["stores"]["sqlite:data/online.db"]["stats"]["watermark"]  # type: ignore[no-any-return]

    def integrity(self) -> str:
        conn = sqlite3.connect(self.root / "data/online.db")
        try:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            conn.close()

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_fsctl(*args, "--repo", str(self.root), FSCTL_MATERIALIZE_BATCH_SIZE=BATCH, **env)


def scenario(root: Path, keys: int, seed: int) -> Scenario:
    root.mkdir(parents=True)
    (root / "fsctl.yaml").write_text(CONFIG)
    (root / "defs.yaml").write_text(DEFS)
    rows = make_rows(keys, seed)
    write_source(root / "data/stats.parquet", rows)
    apply_repo(root)
    with open_workspace(root) as ws:
        # Everything before START, in-process (no TTL: from the earliest event); watermark START.
        (run,) = run_materialize(ws, START, incremental=True).runs
        assert run.status == "succeeded" and run.start is None
        # Every 7th key gets a value newer than anything before END, written with the store API
        # (a materialize of a later window would move the watermark).
        target = target_view(ws, "stats")
        newer = {k: (us(END + timedelta(days=10)) + k, None, -1.0 - k, -k) for k in range(0, keys, 7)}
        records = [
            OnlineRecord((k,), v[0], v[1], {"conv_rate": v[2], "trips": v[3]}) for k, v in newer.items()
        ]
        assert write_records(ws.online_store(), target, records) == len(records)
    made = Scenario(root, rows, keys, newer)
    assert made.watermark() == "2025-06-01T00:00:00Z"
    return made


def check_after_kill(
    s: Scenario, before: dict[int, Value], state_before: bytes, *, maybe_done: bool = False
) -> int:
    """The invariants of a killed run; returns how many keys it had already moved to their final value.

    With ``maybe_done`` (a kill from outside, which may land after the run recorded its
    success, while the process exits) the watermark may have moved, but then only to END
    and only with every key at its final value: it never runs ahead of the data.
    """
    assert s.integrity() == "ok"
    now, final = s.read(), s.final()
    if maybe_done and s.state_file.read_bytes() != state_before:
        assert s.watermark() == "2025-06-03T00:00:00Z"
        assert now == final, "the watermark moved before every row was written"
    else:
        assert s.state_file.read_bytes() == state_before, "the state document changed: the watermark moved"
    for key, value in s.newer.items():
        assert now[key] == value, f"key {key}: the newer pre-loaded value was overwritten"
    moved = 0
    for key in range(s.keys):
        got = now.get(key)
        assert got in (before.get(key), final.get(key)), (
            f"key {key} holds {got}: neither what it held ({before.get(key)}) nor its final value ({final.get(key)})"
        )
        if got != before.get(key):
            moved += 1
    return moved


def check_rerun(s: Scenario) -> None:
    result = s.run("materialize-incremental", END.isoformat(), "--format", "json")
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)["views"]
    assert run["status"] == "succeeded" and run["start"] == START.isoformat()
    in_window = {r[0] for r in s.rows if START <= r[1] < END}
    assert run["keys"] == len(in_window)
    assert run["keys_kept_newer"] == len(in_window & set(s.newer))  # only the pre-loaded ones
    assert s.integrity() == "ok"
    assert s.read() == s.final()
    assert s.watermark() == "2025-06-03T00:00:00Z"
    assert json.loads(s.state_file.read_text())["runs"][-1]["status"] == "succeeded"


@pytest.mark.parametrize("point", ["after-query", "after-batch-1", "after-batch-3", "before-state"])
def test_killed_at_a_fault_point_then_rerun_completes(tmp_path: Path, point: str) -> None:
    s = scenario(tmp_path / "repo", keys=300, seed=sum(map(ord, point)))
    before, state_before = s.read(), s.state_file.read_bytes()
    assert len(before) > 100  # most keys already hold a value from before START
    changes = {k for k, v in s.final().items() if before.get(k) != v}
    assert len(changes) > 50

    killed = s.run("materialize-incremental", END.isoformat(), FSCTL_FAULT_INJECT=point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert "rows in the window" in killed.stderr  # it got as far as the query
    moved = check_after_kill(s, before, state_before)
    expected = {"after-query": 0, "after-batch-1": int(BATCH), "after-batch-3": 3 * int(BATCH)}
    if point in expected:  # at most the batches written before the kill
        assert moved <= expected[point]
    else:  # before-state: every row was written, but the watermark stayed
        assert moved == len(changes)
    if point == "after-batch-3":
        assert moved > 0  # killed part way, not before the first write

    check_rerun(s)


def test_killed_by_an_external_sigkill_at_random_moments(tmp_path: Path) -> None:
    # 20,000 keys written one per batch: here the query takes ~0.2 s after the first progress
    # line and the writes ~0.5 s more, so each kill lands part way (in the query or the writes).
    s = scenario(tmp_path / "repo", keys=20_000, seed=7)
    before, state_before = s.read(), s.state_file.read_bytes()
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    kills = 0
    for attempt in range(3):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fsctl",
                "materialize-incremental",
                END.isoformat(),
                "--repo",
                str(s.root),
            ],
            env=fsctl_env(FSCTL_MATERIALIZE_BATCH_SIZE="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()  # the first progress line: it has started working
            assert first.startswith("fsctl: materializing stats"), first
            if attempt > 0:  # later attempts: once the query is done, somewhere in the writes
                second = proc.stderr.readline()
                assert "keys to write" in second, second
            time.sleep(rng.uniform(0.0, 0.2 if attempt == 0 else 0.15))
            os.kill(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)
        assert code in (-signal.SIGKILL, 0), f"seed {seed} attempt {attempt}: exit {code}"
        if code == 0:  # it finished before the kill landed: nothing left to check this way
            break
        kills += 1
        check_after_kill(s, before, state_before, maybe_done=True)
    assert kills >= 1, f"seed {seed}: the run always finished before the kill"
    check_rerun(s)


def test_a_source_deleted_between_runs_fails_clearly_and_keeps_the_watermark(tmp_path: Path) -> None:
    s = scenario(tmp_path / "repo", keys=20, seed=3)
    (s.root / "data/stats.parquet").unlink()
    result = s.run("materialize-incremental", END.isoformat())
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: materialization failed for 1 view (their watermarks did not move):"
    ]
    assert "stats: cannot read source 'stats_src' at " in result.stderr
    assert "data/stats.parquet" in result.stderr
    assert s.watermark() == "2025-06-01T00:00:00Z"
    document = json.loads(s.state_file.read_text())
    assert document["runs"][-1]["status"] == "failed"
    assert "stats_src" in document["runs"][-1]["error"]


# Import everything first, signal readiness, wait for the start file, then run the CLI
# exactly as `python -m fsctl ARGS` does; so both processes really start at one moment.
def start_together(tmp: Path, jobs: list[list[str]]) -> list[tuple[int, str, str]]:
    env = fsctl_env(FSCTL_MATERIALIZE_BATCH_SIZE=BATCH)
    preload = ["duckdb", "pyarrow", "fsctl.cli", "fsctl.loader", "fsctl.services.apply", "fsctl.services.materialize"]
    return run_in_lockstep(tmp, [(args, env, None) for args in jobs], preload)


def registry(root: Path) -> dict[str, Any]:
    return json.loads((root / "data/registry.json").read_text())


def test_an_apply_during_a_materialize_both_land(tmp_path: Path) -> None:
    s = scenario(tmp_path / "repo", keys=300, seed=11)
    extras: list[str] = []
    for round_ in range(3):
        version = registry(s.root)["version"]
        extras.append(f"kind: Entity\nname: extra_{round_}\njoin_keys: [extra_{round_}_id]\n")
        (s.root / "extras.yaml").write_text("---\n".join(extras))
        end = END + timedelta(hours=round_)
        outcomes = start_together(
            tmp_path,
            [
                ["apply", "--yes", "--repo", str(s.root)],
                ["materialize-incremental", end.isoformat(), "--repo", str(s.root)],
            ],
        )
        for code, out, err in outcomes:
            assert code == 0, f"round {round_}: exit {code}\n{out}\n{err}"
        document = registry(s.root)
        assert document["version"] == version + 1, f"round {round_}"
        assert {f"extra_{i}" for i in range(round_ + 1)} <= set(document["objects"]["Entity"])
        assert s.watermark() == end.isoformat().replace("+00:00", "Z"), f"round {round_}"
    assert s.read() == {**latest_before(s.rows, END + timedelta(hours=2)), **s.newer}
    runs = json.loads(s.state_file.read_text())["runs"]
    assert [r["status"] for r in runs] == ["succeeded"] * 4
