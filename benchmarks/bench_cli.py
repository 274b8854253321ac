"""Wall-time benchmark of the fsctl CLI on a generated repo of 1,000 views.

Run from the project root::

    .venv/bin/python benchmarks/bench_cli.py [--views 1000] [--services 100] [--repeat 5]

Every figure is the wall time of a whole process (``subprocess.run`` of the real
console script, ``.venv/bin/fsctl``), which is what a user and a CI job wait for:
interpreter start-up, imports, loading the repo, reading and writing the registry.
Reference floors are measured in the same run with the same interpreter, so the
figures can be read as multiples of bare start-up on whatever machine runs this.

The repo (see ``gen_repo.py``) is generated into ``benchmarks/out/repo`` (gitignored)
unless ``--out`` says otherwise. Sequence, each step ``--repeat`` times:

1. references: ``python -c pass``, ``import click``, ``import yaml, pydantic``,
   ``import pyarrow.parquet``, ``import fsctl.cli``;
2. ``fsctl --help``, ``fsctl --version``;
3. ``fsctl validate``;
4. ``fsctl plan`` against an empty registry;
5. ``fsctl apply --yes`` into an empty registry (deleted before each repeat);
6. ``fsctl plan`` with no changes;
7. the repo is rewritten with ~10 views changed (``--changes``); ``fsctl plan``;
8. ``fsctl apply --yes`` of that change (the registry is restored to its
   pre-change version before each repeat).

Each step's exit code and output are checked (e.g. the no-change plan must say
"No changes", the changed plan must have exactly ``--changes`` updates), so a
broken build cannot produce a fast-looking result. Use ``--json FILE`` for raw
timings, ``--profile`` for a cProfile summary of plan and apply.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import gen_repo  # noqa: E402

HELP_TARGET_S = 0.3
PLAN_TARGET_S = 1.0


@dataclass
class Result:
    name: str
    command: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    target: float | None = None
    reference: bool = False
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSCTL_", "TYPER_", "PYTHON"))}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> tuple[float, str, str, float]:
    """Run one process with stdout/stderr piped (as in CI).

    Returns (wall seconds, stdout, stderr, CPU seconds). CPU time (user + system of the
    child) is much less disturbed than wall time when other work shares the machine."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if proc.returncode != expect:
        raise SystemExit(
            f"benchmark aborted: `{' '.join(argv)}` exited {proc.returncode} (expected {expect})\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
    return elapsed, proc.stdout, proc.stderr, cpu


def remove_registry(repo: Path) -> None:
    data = repo / "data"
    for path in data.glob("registry.json*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def snapshot_registry(repo: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for path in (repo / "data").glob("registry.json*"):
        if path.is_dir():
            shutil.copytree(path, dest / path.name)
        else:
            shutil.copy2(path, dest / path.name)


def restore_registry(repo: Path, saved: Path) -> None:
    remove_registry(repo)
    for path in saved.iterdir():
        if path.is_dir():
            shutil.copytree(path, repo / "data" / path.name)
        else:
            shutil.copy2(path, repo / "data" / path.name)


def plan_summary(stdout: str) -> tuple[int, int, int] | None:
    match = re.search(r"(\d+) to add, (\d+) to change, (\d+) to delete", stdout)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "fsctl"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        commit += " (fsctl/ has uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "nproc": str(usable),
        "cpu": cpu or platform.processor() or "?",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "load average (at start)": load,
        "fsctl commit": commit or "?",
    }


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}"


def table(results: list[Result], floor: float) -> str:
    rows = [
        "| operation | command | median s | min s | CPU s (median) | x start-up | target | median / target |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        target = f"< {r.target:g} s" if r.target else ""
        ratio = f"{r.median / r.target:.2f}" if r.target else ""
        if r.target:
            ratio += " ok" if r.median < r.target else " **over**"
        rows.append(
            f"| {r.name} | `{r.command}` | {fmt_s(r.median)} | {fmt_s(r.best)} | {fmt_s(r.cpu_median)} | "
            f"{r.median / floor:.1f} | {target} | {ratio} |"
        )
    return "\n".join(rows)


def profile(python: str, repo: Path, env: dict[str, str], out: Path, saved_empty: Path) -> str:
    """cProfile of plan (no changes) and apply (into an empty registry): the top fsctl functions."""
    import pstats

    report = []
    for label, args, prepare in [
        ("plan (no changes)", ["plan"], None),
        ("apply --yes (empty registry)", ["apply", "--yes"], lambda: remove_registry(repo)),
    ]:
        if prepare:
            prepare()
        stats_file = out / f"profile_{args[0]}.prof"
        run([python, "-m", "cProfile", "-o", str(stats_file), "-m", "fsctl", *args], repo, env)
        stream = _Capture()
        stats = pstats.Stats(str(stats_file), stream=stream)  # type: ignore[arg-type]
        stats.sort_stats("cumulative").print_stats(
            r"fsctl/|yaml/(composer|constructor)|json/encoder|pyarrow", 25
        )
        report.append(f"### cProfile: fsctl {' '.join(args)} ({label}); stats in {stats_file}\n")
        report.append("```\n" + _trim_profile(stream.text) + "\n```\n")
    restore_registry(repo, saved_empty)
    return "\n".join(report)


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s


def _trim_profile(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in lines[start:] if line.strip())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--views", type=int, default=1000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10, help="views changed for the second plan/apply")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="work folder (default benchmarks/out)")
    parser.add_argument("--fsctl", default=None, help="console script (default: beside this interpreter)")
    parser.add_argument("--json", type=Path, default=None, help="also write raw timings to this file")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile summary of plan and apply"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    python = sys.executable
    fsctl = args.fsctl or str(Path(python).parent / "fsctl")
    if not Path(fsctl).exists():
        raise SystemExit(
            f"no console script at {fsctl}: install fsctl into this interpreter (pip install -e .)"
        )
    env = clean_env()
    args.out.mkdir(parents=True, exist_ok=True)
    repo = args.out / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    info = machine()

    log(f"generating {args.views} views, {args.services} services, {args.sources} sources into {repo} ...")
    started = time.perf_counter()
    lay = gen_repo.generate(repo, args.views, args.services, args.sources, args.changes, revision=0)
    log(f"  done in {time.perf_counter() - started:.1f}s")
    n_objects = (
        len(gen_repo.ENTITIES) + len(lay.sources) + len(lay.views) + len(lay.services) + len(lay.models)
    )

    results: list[Result] = []
    scratch = Path(tempfile.mkdtemp(prefix="fsctl-bench-"))

    def measure(
        name: str,
        argv: list[str],
        *,
        target: float | None = None,
        reference: bool = False,
        before: Callable[[int], object] | None = None,
        check: Callable[[str, str], None] | None = None,
        expect: int = 0,
        note: str = "",
    ) -> Result:
        shown = " ".join(["fsctl" if a == fsctl else ("python" if a == python else a) for a in argv])
        result = Result(name, shown, target=target, reference=reference, note=note)
        for i in range(args.repeat):
            if before:
                before(i)
            elapsed, out, err, cpu = run(argv, repo, env, expect)
            if check:
                check(out, err)
            result.times.append(elapsed)
            result.cpu.append(cpu)
        log(f"  {name:<34} median {result.median:.3f}s  min {result.best:.3f}s  cpu {result.cpu_median:.3f}s")
        results.append(result)
        return result

    def expect_summary(add: int, change: int, delete: int) -> Callable[[str, str], None]:
        def check(out: str, err: str) -> None:
            got = plan_summary(out)
            if got != (add, change, delete):
                raise SystemExit(
                    f"benchmark aborted: expected plan {add}/{change}/{delete}, got {got}:\n{out[-2000:]}"
                )

        return check

    def expect_text(pattern: str) -> Callable[[str, str], None]:
        def check(out: str, err: str) -> None:
            if not re.search(pattern, out):
                raise SystemExit(
                    f"benchmark aborted: output does not match {pattern!r}:\n{out[-2000:]}\n{err[-2000:]}"
                )

        return check

    # Warm-up (unmeasured): byte-compile fsctl and the repo's Python files, fill the OS file cache.
    log("warm-up ...")
    _, warm_out, _, _ = run([fsctl, "validate"], repo, env)
    files = re.search(r"in (\d+) files", warm_out)
    n_files = int(files[1]) if files else 0
    n_python = sum(1 for _ in repo.rglob("*.py"))

    log("measuring ...")
    floor = measure("reference: python start-up", [python, "-c", "pass"], reference=True)
    measure("reference: import click", [python, "-c", "import click"], reference=True)
    measure("reference: import yaml, pydantic", [python, "-c", "import yaml, pydantic"], reference=True)
    measure("reference: import pyarrow.parquet", [python, "-c", "import pyarrow.parquet"], reference=True)
    measure("reference: import fsctl.cli", [python, "-c", "import fsctl.cli"], reference=True)

    measure("--help", [fsctl, "--help"], target=HELP_TARGET_S, check=expect_text(r"Usage"))
    measure("--version", [fsctl, "--version"], check=expect_text(r"fsctl \d"))
    measure("plan --help", [fsctl, "plan", "--help"], check=expect_text(r"Usage"))
    measure("validate", [fsctl, "validate"], check=expect_text(rf"Valid: {n_objects} objects"))
    remove_registry(repo)
    measure(
        "plan (empty registry)", [fsctl, "plan"], target=PLAN_TARGET_S, check=expect_summary(n_objects, 0, 0)
    )
    measure(
        "apply --yes (empty registry)",
        [fsctl, "apply", "--yes"],
        before=lambda i: remove_registry(repo),
        check=expect_text(r"version 0 -> 1"),
    )
    saved_v1 = scratch / "registry_v1"
    snapshot_registry(repo, saved_v1)
    registry_bytes = (repo / "data" / "registry.json").stat().st_size
    measure("plan (no changes)", [fsctl, "plan"], target=PLAN_TARGET_S, check=expect_text(r"No changes"))
    measure(
        "plan --format json (no changes)",
        [fsctl, "plan", "--format", "json"],
        target=PLAN_TARGET_S,
        check=expect_text(r'"changes": \[\]'),
    )

    changed = gen_repo.generate(
        repo, args.views, args.services, args.sources, args.changes, revision=1, data=False
    ).changed
    log(f"changed {len(changed)} views: {', '.join(changed)}")
    n_changed = len(changed)
    measure(
        f"plan ({n_changed} views changed)",
        [fsctl, "plan"],
        target=PLAN_TARGET_S,
        check=expect_summary(0, n_changed, 0),
    )
    measure(
        f"apply --yes ({n_changed} views changed)",
        [fsctl, "apply", "--yes"],
        before=lambda i: restore_registry(repo, saved_v1),
        check=expect_text(r"version 1 -> 2"),
    )

    print(f"## fsctl CLI benchmark: {args.views} views, {args.services} services\n")
    print(
        f"Command: `{Path(python).relative_to(ROOT) if Path(python).is_relative_to(ROOT) else python} "
        f"benchmarks/bench_cli.py --views {args.views} --services {args.services} --repeat {args.repeat}`\n"
    )
    print(
        f"Repo: {n_objects} objects ({len(gen_repo.ENTITIES)} entities, {len(lay.sources)} FileSources "
        f"with parquet data, {len(lay.views)} FeatureViews, {len(lay.services)} FeatureServices, "
        f"{len(lay.models)} Models) in {n_files - n_python} YAML and {n_python} Python definition files; "
        f"registry after apply: {registry_bytes / 1e6:.1f} MB.\n"
    )
    try:
        info["load average (at end)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    print("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + "\n")
    print(
        f"Wall time of the whole process, {args.repeat} runs each (median and min); "
        f"'x start-up' is the median over the median of `python -c pass` ({floor.median:.3f} s); "
        "CPU s is user + system time of the process (less disturbed by other load than wall time).\n"
    )
    print(table(results, floor.median))
    over = [r for r in results if r.target and r.median >= r.target]
    print()
    if over:
        print(
            "Targets missed: " + ", ".join(f"{r.name} ({r.median:.2f} s vs < {r.target:g} s)" for r in over)
        )
    else:
        print("All targets met.")

    if args.profile:
        log("profiling ...")
        restore_registry(repo, saved_v1)
        gen_repo.generate(repo, args.views, args.services, args.sources, args.changes, revision=0, data=False)
        print()
        print(profile(python, repo, env, args.out, saved_v1))

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "views": args.views,
                    "services": args.services,
                    "repeat": args.repeat,
                    "results": [
                        {
                            "name": r.name,
                            "command": r.command,
                            "times": r.times,
                            "median": r.median,
                            "min": r.best,
                            "cpu": r.cpu,
                            "target": r.target,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if over and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
