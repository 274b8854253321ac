"""`fsctl materialize` and `fsctl materialize-incremental` end to end, as real processes.

The summary goes to stdout (text or JSON), progress to stderr; the watermark lives in the
state document beside the registry and a materialize never changes the registry version;
every user error exits 1 with one message and no traceback, and leaves the watermark alone.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.online_ports import apply_repo

pytestmark = pytest.mark.slow

UTC = timezone.utc
T0 = datetime(2025, 6, 1, tzinfo=UTC)

CONFIG = "project: matcli\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
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
ttl: 1d
schema:
  - {name: conv_rate, dtype: float64}
  - {name: trips, dtype: int64}
"""


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# (driver_id, event time): 4 keys before T0 (within the TTL), 3 keys in [T0, T0+1d), 1 after.
ROWS = [
    (1, h(-30)),  # older than END - TTL for END = T0
    (1, h(-3)),
    (2, h(-2)),
    (3, h(-1)),
    (4, h(-1)),
    (1, h(2)),
    (1, h(3)),
    (2, h(4)),
    (5, h(5)),
    (6, h(30)),
]


def write_source(path: Path, rows: list[tuple[int, datetime]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "driver_id": pa.array([k for k, _ in rows], pa.int64()),
            "event_timestamp": pa.array([t for _, t in rows], ts),
            "created": pa.array([t for _, t in rows], ts),
            "conv_rate": pa.array([k / 10 for k, _ in rows], pa.float64()),
            "trips": pa.array([i for i in range(len(rows))], pa.int64()),
        }
    )
    pq.write_table(table, path)


@pytest.fixture
def repo(write_repo: Callable[..., Path]) -> Path:
    """A small applied repo (applied in-process: the commands under test run as processes)."""
    root = write_repo({"fsctl.yaml": CONFIG, "defs.yaml": DEFS})
    write_source(root / "data/stats.parquet", ROWS)
    assert apply_repo(root).version_after == 1
    return root


def fsctl_in(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl(*args, "--repo", str(root), **env)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 1, one `error:` message on stderr, no traceback; returns the message line."""
    assert result.returncode == 1, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def state(root: Path) -> dict[str, Any]:
    return json.loads((root / "data/registry.state.json").read_text())


SQLITE = "sqlite:data/online.db"  # the identity of CONFIG's online store


def watermark(root: Path, store: str = SQLITE) -> str | None:
    path = root / "data/registry.state.json"
    if not path.exists():
        return None
    return state(root)["stores"].get(store, {}).get("stats", {}).get("watermark")


def registry_version(root: Path) -> int:
    return int(json.loads((root / "data/registry.json").read_text())["version"])


def test_materialize_text_summary_and_progress(repo: Path) -> None:
    result = ok(fsctl_in(repo, "materialize", "2025-06-01T02:00:00+02:00", "2025-06-02T00:00:00"))
    assert result.stdout.splitlines()[0].startswith(
        "stats: done [2025-06-01T00:00:00+00:00, 2025-06-02T00:00:00+00:00) in "
    )
    assert "  rows read 4, keys 3, written 3" in result.stdout.splitlines()
    assert "fsctl:" not in result.stdout  # progress is on stderr only
    assert "fsctl: materializing stats" in result.stderr
    assert "fsctl: stats: 4 rows in the window, 3 keys to write" in result.stderr
    # An older window: key 1 and 2 already hold newer values.
    older = ok(
        fsctl_in(repo, "materialize", "2025-05-31T00:00:00Z", "2025-06-01T00:00:00Z", "--views", "stats")
    )
    assert "  rows read 4, keys 4, written 2, kept newer 2" in older.stdout.splitlines()
    # An explicit window starting after the watermark leaves it (no gap is ever skipped).
    assert watermark(repo) == "2025-06-02T00:00:00Z"
    assert registry_version(repo) == 1


def test_a_terminal_gets_a_progress_bar_per_view_and_stdout_keeps_the_summary(repo: Path) -> None:
    """stderr on a pseudo-terminal: a rich bar per view (keys written / keys); stdout, a
    pipe, gets the plain summary and no escape codes."""
    import os
    import pty
    import sys

    from tests.cli.conftest import fsctl_env

    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fsctl", "materialize", "2025-06-01", "2025-06-02", "--repo", str(repo)],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            env=fsctl_env(TERM="xterm"),
            timeout=120,
        )
        os.close(slave)
        slave = -1
        screen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the writer is gone and everything was read
                break
            if not chunk:
                break
            screen += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert done.returncode == 0, done.stdout
    text = screen.decode("utf-8", "replace")
    assert "stats (4 rows)" in text and "3/3" in text  # the bar, finished
    assert "rows in the window" not in text  # the plain lines are for pipes only
    assert done.stdout.splitlines()[1] == "  rows read 4, keys 3, written 3"
    assert "\x1b" not in done.stdout


def test_materialize_json_summary(repo: Path) -> None:
    result = ok(fsctl_in(repo, "materialize", "2025-06-01", "2025-06-02", "--format", "json"))
    document = json.loads(result.stdout)
    (view,) = document["views"]
    assert view.pop("seconds") >= 0
    assert view == {
        "view": "stats",
        "start": "2025-06-01T00:00:00+00:00",
        "end": "2025-06-02T00:00:00+00:00",
        "status": "succeeded",
        "rows_read": 4,
        "keys": 3,
        "keys_written": 3,
        "keys_kept_newer": 0,
        "error": None,
        "note": "",
    }


def test_incremental_runs_continue_from_the_watermark(repo: Path) -> None:
    first = ok(fsctl_in(repo, "materialize-incremental", "2025-06-01T00:00:00Z", "--format", "json"))
    (view,) = json.loads(first.stdout)["views"]
    assert (view["start"], view["end"]) == ("2025-05-31T00:00:00+00:00", "2025-06-01T00:00:00+00:00")
    assert (view["rows_read"], view["keys"], view["keys_written"]) == (4, 4, 4)
    assert view["note"] == "no watermark: from END minus the TTL"
    assert watermark(repo) == "2025-06-01T00:00:00Z"

    second = ok(fsctl_in(repo, "materialize-incremental", "2025-06-02T00:00:00Z"))
    lines = second.stdout.splitlines()
    assert lines[0].startswith("stats: done [2025-06-01T00:00:00+00:00, 2025-06-02T00:00:00+00:00) in ")
    assert "  rows read 4, keys 3, written 3" in lines  # only the rows after the watermark
    assert "  (from the watermark)" in lines
    assert watermark(repo) == "2025-06-02T00:00:00Z"

    again = ok(fsctl_in(repo, "materialize-incremental", "2025-06-02T00:00:00Z"))
    assert again.stdout.strip() == "stats: up to date [2025-06-02T00:00:00+00:00, 2025-06-02T00:00:00+00:00)"

    back = ok(
        fsctl_in(
            repo, "materialize-incremental", "2025-06-02T12:00:00Z", "--lookback", "20h", "--format", "json"
        )
    )
    (view,) = json.loads(back.stdout)["views"]
    assert view["start"] == "2025-06-01T04:00:00+00:00"
    assert (view["rows_read"], view["keys"]) == (3, 3)  # T0+4h and T0+5h read again, and T0+30h
    assert "lookback" in view["note"]

    # The state sits beside the registry; the registry itself never moved.
    document = state(repo)
    assert document["stores"][SQLITE]["stats"]["watermark"] == "2025-06-02T12:00:00Z"
    assert [r["status"] for r in document["runs"]] == ["succeeded"] * 3
    assert [r["end"] for r in document["runs"]] == [
        "2025-06-01T00:00:00Z",
        "2025-06-02T00:00:00Z",
        "2025-06-02T12:00:00Z",
    ]
    assert registry_version(repo) == 1
    assert sorted(p.name for p in (repo / "data/registry.json.history").iterdir()) == ["00000001.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["materialize", "yesterday", "2025-06-02"], "error: START 'yesterday' is not an ISO-8601 time"),
        (["materialize", "2025-06-01", "2025-13-01"], "error: END '2025-13-01' is not an ISO-8601 time"),
        (["materialize-incremental", "2999-01-01T00:00:00Z"], "is in the future"),
        (["materialize", "2025-06-01", "2999-01-01"], "is in the future"),
        (["materialize", "2025-06-02", "2025-06-01"], "is not before END"),
        (
            ["materialize", "2025-06-01", "2025-06-02", "--views", "stat"],
            "feature view 'stat' is not in the registry",
        ),
        (["materialize-incremental", "2025-06-02", "--lookback", "soon"], "error: --lookback"),
    ],
    ids=[
        "bad-start",
        "bad-end",
        "future-incremental",
        "future",
        "start-after-end",
        "unknown-view",
        "bad-lookback",
    ],
)
def test_user_errors_exit_1_with_one_message(repo: Path, args: list[str], message: str) -> None:
    line = one_error(fsctl_in(repo, *args))
    assert message in line
    assert not (repo / "data/registry.state.json").exists()  # refused before anything ran


def test_unreachable_online_store_fails_clearly_and_keeps_the_watermark(repo: Path, tmp_path: Path) -> None:
    from tests.support.redis_server import start_server

    server = start_server(tmp_path / "redis")  # its own server, to stop under the store's feet
    try:
        (repo / "fsctl.yaml").write_text(
            f"project: matcli\nregistry: data/registry.json\nonline_store: {{type: redis, url: {server.url}}}\n"
        )
        ok(fsctl_in(repo, "apply", "--yes"))  # the switch: the tables are created in Redis
        ok(fsctl_in(repo, "materialize-incremental", "2025-06-01T00:00:00Z"))
    finally:
        server.stop()  # nothing listens there any more
    store = f"redis:127.0.0.1:{server.port}/0"
    assert watermark(repo, store) == "2025-06-01T00:00:00Z"
    result = fsctl_in(repo, "materialize-incremental", "2025-06-02T00:00:00Z")
    line = one_error(result)
    assert line == "error: materialization failed for 1 view (their watermarks did not move):"
    detail = result.stderr.splitlines()[result.stderr.splitlines().index(line) + 1]
    assert detail.startswith("  stats: ") and f"online store at {server.url}" in detail, detail
    assert "Connection refused" in detail
    assert "stats: FAILED" in result.stdout
    assert "  rows read 4, keys 3, written 0" in result.stdout, result.stdout
    assert watermark(repo, store) == "2025-06-01T00:00:00Z"
    failed = state(repo)["runs"][-1]
    assert failed["status"] == "failed" and f"127.0.0.1:{server.port}" in failed["error"]
    assert failed["store"] == store
    assert registry_version(repo) == 2  # the switch; materialize never moves it
