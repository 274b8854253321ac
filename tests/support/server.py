"""The real ``fsctl serve`` for tests: the example repo applied with a few online values
(:func:`serving_repo`), a server process on a free port (:func:`start_server`; any other
server command with :func:`start_command`) that is stopped by signal, and the times the
values were written at.

Driver 1001 is fresh, driver 1002 is three days old (``driver_hourly_stats`` has a 2d TTL,
so it is expired), customer 2001 is fresh.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.workspace import Workspace, open_workspace
from tests.cli.conftest import fsctl_env
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo, target_view, write_records
from tests.support.s3 import free_port

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
FRESH = NOW - timedelta(hours=1)
STALE = NOW - timedelta(days=3)  # driver_hourly_stats has a 2d TTL
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = "1970-01-01T00:00:00Z"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def views(ws: Workspace) -> dict[str, OnlineView]:
    return {name: target_view(ws, name) for name in ("driver_hourly_stats", "customer_profile")}


def fill(store: Any, ws: Workspace) -> None:
    v = views(ws)
    write_records(
        store,
        v["driver_hourly_stats"],
        [
            OnlineRecord((1001,), us(FRESH), None, {"conv_rate": 0.5, "acc_rate": 0.9, "avg_daily_trips": 12}),
            OnlineRecord((1002,), us(STALE), None, {"conv_rate": 0.7, "acc_rate": 0.8, "avg_daily_trips": 5}),
        ],
    )
    write_records(
        store,
        v["customer_profile"],
        [OnlineRecord((2001,), us(FRESH), None, {"current_balance": 10.5, "avg_passenger_count": 1.5, "lifetime_trip_count": 40})],
    )


def serving_repo(root: Path) -> Path:
    """The example repo at ``root``, applied, with the values above in its SQLite store."""
    copy_example_repo(root)
    apply_repo(root)
    with open_workspace(root) as ws:
        fill(ws.online_store(), ws)
    return root


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    port: int

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return self.process.returncode, stderr


def start_command(command: Sequence[str], port: int, path: str = "/health", timeout: float = 60, **env: str) -> Server:
    """Start ``command`` (any server: ``fsctl serve``, ``fsctl ui``, ...) as a subprocess that
    listens on 127.0.0.1:``port``, and wait until ``GET path`` answers 200; fails with its
    stderr if it exits first. ``env``: variables added to the CLI test environment."""
    process = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=fsctl_env(**env)
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"{shlex.join(command)} exited {process.returncode}: {stderr}")
        try:
            if httpx.get(f"{url}{path}", timeout=1).status_code == 200:
                return Server(process, url, port)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    Server(process, url, port).stop(signal.SIGKILL)
    raise AssertionError(f"{shlex.join(command)}: GET {path} did not answer 200 within {timeout:g}s")


def start_server(repo: Path, *args: str, **env: str) -> Server:
    """``fsctl serve`` on the repo, on a free port, once /health answers."""
    port = free_port()
    command = [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(port), *args]
    return start_command(command, port, "/health", **env)
