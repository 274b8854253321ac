"""Start several fsctl processes so that they all begin their command at the same instant:
each imports what it will need first (so start-up time does not spread them out), says it
is ready, and waits for one shared "go" file."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_LAUNCHER = r"""
import importlib, os, runpy, sys, time
ready, go, preload = sys.argv[1], sys.argv[2], sys.argv[3]
for name in filter(None, preload.split(",")):
    importlib.import_module(name)
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit(99)
    time.sleep(0.002)
sys.argv = ["fsctl", *sys.argv[4:]]
runpy.run_module("fsctl", run_name="__main__", alter_sys=True)
"""


def run_in_lockstep(
    tmp: Path,
    jobs: Sequence[tuple[list[str], dict[str, str], Path | None]],
    preload: Sequence[str],
) -> list[tuple[int, str, str]]:
    """Run ``fsctl ARGS`` once per (args, env, cwd), all released together after importing
    the ``preload`` modules; returns (exit code, stdout, stderr) per job, in order."""
    barrier = tmp / f"barrier-{time.monotonic_ns()}"
    barrier.mkdir()
    go = barrier / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(barrier / f"ready{i}"), str(go), ",".join(preload), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, (args, env, cwd) in enumerate(jobs)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((barrier / f"ready{i}").exists() for i in range(len(jobs))):
            assert time.monotonic() < deadline, "processes did not get ready"
            assert all(p.poll() is None for p in procs), [
                p.communicate() for p in procs if p.poll() is not None
            ]
            time.sleep(0.005)
        go.touch()
        return [(p.wait(timeout=90), *p.communicate(timeout=90)) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
