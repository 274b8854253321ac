"""Whole-process benchmark: the ``fsctl`` console script against the raw process a user
would run instead, timed the way a user times a command.

Every figure is the wall time of one whole process (``time.perf_counter`` around
``subprocess`` of the command, stdout and stderr piped, stdin closed): interpreter
start-up, imports, option parsing, reading the repo and the registry, the queries and the
writes. Peak RSS and CPU time (user + system) are that process's own, from ``os.wait4``
(Linux starts a child's peak RSS at its parent's, so figures below this small process's
~16 MB, e.g. ``python -c pass``, read as ~16 MB). Nothing of fsctl is imported here; fsctl runs only as ``.venv/bin/fsctl``. Each command
runs once unmeasured (warm-up: bytecode compiled, files in the OS cache), then
``--repeat`` times, fsctl and its raw reference alternating (fsctl, raw, fsctl, raw, ...)
so that background load hits both alike. The report gives the median and the minimum;
the ratio is median fsctl / median raw.

Cases, over the data and repo of ``bench_retrieval.py`` (N source rows of driver stats,
N/100 drivers over 30 days; M entity rows; a repo with 2 views on that source, applied
once before timing):

1. historical, per ``--sizes N:M``:
   ``fsctl historical --repo R --entities entities.parquet --features <3 features of both
   views> --output out.parquet``, against a fresh ``python -c`` that imports duckdb and runs
   the one query a user would write: both views' ASOF LEFT JOINs chained (no TTL, no
   created-time tie-break) in a ``COPY ... TO out.parquet``. Both outputs must have M rows.
2. materialize, per N of ``--sizes``:
   ``fsctl materialize 2026-01-01T00:00:00Z 2026-02-01T00:00:00Z --repo R --views
   driver_hourly_stats`` into a fresh SQLite online store (``data/online.db*`` and
   ``data/registry.state.json*`` deleted before each run, outside the clock), against the
   processes of ``RUN_LIMIT`` in ``bench_materialize.py``: a DuckDB ``arg_max`` latest row
   per key plus a SQLite ``executemany`` into a keyed table in one transaction. Limit A
   orders by event time; limit B breaks ties as fsctl does (created time, HUGEINT order).
   fsctl must write as many keys as the limits find.
3. small-repo commands on a copy of ``example_repo`` in a temp folder: ``fsctl --help``,
   ``fsctl validate``, ``fsctl plan`` against an empty registry and with no changes (after
   an apply), with ``python -c pass`` and ``python -c "import duckdb"`` as floors.

Targets: historical <= 1.25x the raw process, materialize <= 1.5x (shown against both
limits), validate and plan of a small repo <= 0.4 s.

    .venv/bin/python benchmarks/bench_process.py --sizes 1000000:100000 10000000:1000000 --repeat 5
    .venv/bin/python benchmarks/bench_process.py --cases small --repeat 10 --json out.json
    .venv/bin/python benchmarks/bench_process.py --check    # exit 1 if a target is missed
    .venv/bin/python benchmarks/bench_process.py --wait-idle 30    # on a shared machine

``--wait-idle SECONDS`` waits, before each measured run, until the CPUs are idle (other
processes use < 10% of them) or SECONDS pass; the report says how many runs started busy.

The markdown report goes to stdout, progress to stderr. Data is generated into
``benchmarks/out/retrieval`` (gitignored) on first use; at 10M rows that takes ~10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_materialize import END, RUN_LIMIT, START  # noqa: E402
from bench_retrieval import prepare  # noqa: E402

PYTHON = sys.executable
FSCTL = str(Path(PYTHON).with_name("fsctl"))  # the console script beside the interpreter
FEATURES = "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate,driver_activity:avg_daily_trips"
HISTORICAL_TARGET = 1.25  # x the raw process
MATERIALIZE_TARGET = 1.5  # x the raw process
SMALL_TARGET_S = 0.4

# The query a user writes for these two views: one ASOF LEFT JOIN per view, chained.
RAW_HISTORICAL = """
import sys
import duckdb
data, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f'''COPY (
  SELECT e.*, a.conv_rate, a.acc_rate, b.avg_daily_trips
  FROM read_parquet('{data}/entities.parquet') e
  ASOF LEFT JOIN read_parquet('{data}/driver_stats.parquet') a
    ON e.driver_id = a.driver_id AND e.event_timestamp >= a.event_timestamp
  ASOF LEFT JOIN read_parquet('{data}/driver_stats.parquet') b
    ON e.driver_id = b.driver_id AND e.event_timestamp >= b.event_timestamp
) TO '{out}' (FORMAT parquet)''')
"""


@dataclass
class Sample:
    seconds: float
    cpu: float  # user + system of the child
    rss_mb: float  # the child's peak RSS


@dataclass
class Series:
    name: str
    command: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def best(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss(self) -> float:
        return max(s.rss_mb for s in self.samples)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "command": self.command, "samples": [vars(s) for s in self.samples]}


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


ENV = {k: v for k, v in os.environ.items() if not k.startswith(("FSCTL_", "PYTHON", "TYPER_"))}


# --wait-idle: before each measured run, wait up to this many seconds for the CPUs to be idle
# (a shared machine); runs that started on a busy machine anyway are counted in the report.
IDLE = {"wait": 0.0, "busy_starts": 0}


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def wait_idle() -> None:
    deadline = time.monotonic() + IDLE["wait"]
    while IDLE["wait"] > 0:
        total, idle = _cpu_times()
        time.sleep(0.5)
        total2, idle2 = _cpu_times()
        if 1 - (idle2 - idle) / max(total2 - total, 1) < 0.1:
            return
        if time.monotonic() > deadline:
            IDLE["busy_starts"] += 1
            return


def run(argv: list[str], cwd: Path | None = None, measured: bool = True) -> tuple[Sample, str, str]:
    """One whole process, stdout and stderr piped. The child is reaped with ``os.wait4`` so
    its own peak RSS and CPU time are known (``RUSAGE_CHILDREN``'s ru_maxrss is a maximum
    over all children, not a per-process figure). Linux carries the parent's peak RSS at
    fork into the child's, so this process stays small (about 13 MB, imports nothing big):
    figures below that are floored at it."""
    out: dict[str, str] = {}
    if measured:
        wait_idle()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    readers = [
        threading.Thread(target=lambda n=n, s=s: out.__setitem__(n, s.read()))
        for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark aborted: `{' '.join(argv)}` exited {proc.returncode}\n"
            f"--- stdout\n{out['stdout'][-3000:]}\n--- stderr\n{out['stderr'][-3000:]}"
        )
    return (
        Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024),
        out["stdout"],
        out["stderr"],
    )


def parquet_rows(path: Path) -> int:
    """Rows in a parquet file, read in a helper process outside the clock: importing pyarrow
    here would grow this process, and a child inherits its parent's peak RSS at fork."""
    code = "import sys, pyarrow.parquet as pq; print(pq.read_metadata(sys.argv[1]).num_rows)"
    done = subprocess.run([PYTHON, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout)


def short(argv: list[str]) -> str:
    text = " ".join(Path(a).name if a in (PYTHON, FSCTL) else a for a in argv)
    return text if len(text) < 90 else text[:87] + "..."


# -- cases --------------------------------------------------------------------------------


def bench_historical(repo: Path, m: int, repeat: int) -> tuple[Series, Series]:
    data = repo / "data"
    out_fsctl, out_raw = repo / "out_process_fsctl.parquet", repo / "out_process_raw.parquet"
    fs_argv = [
        FSCTL,
        "historical",
        "--repo",
        str(repo),
        "--entities",
        str(data / "entities.parquet"),
        "--features",
        FEATURES,
        "--output",
        str(out_fsctl),
    ]
    raw_argv = [PYTHON, "-c", RAW_HISTORICAL, str(data), str(out_raw)]
    fsctl = Series("fsctl historical", short(fs_argv))
    raw = Series(
        "raw: duckdb, 2 chained ASOF LEFT JOINs, COPY",
        "python -c 'import duckdb; COPY (... ASOF ... ASOF ...)'",
    )

    def once(series: Series | None, argv: list[str], out: Path) -> None:
        out.unlink(missing_ok=True)
        sample, _, _ = run(argv, measured=series is not None)
        rows = parquet_rows(out)
        if rows != m:
            raise SystemExit(f"benchmark aborted: {out} has {rows:,} rows, expected {m:,}")
        if series is not None:
            series.samples.append(sample)

    once(None, fs_argv, out_fsctl)  # warm-up
    once(None, raw_argv, out_raw)
    for _ in range(repeat):
        once(fsctl, fs_argv, out_fsctl)
        once(raw, raw_argv, out_raw)
    return fsctl, raw


def reset_online(data: Path) -> None:
    for pattern in ("online.db*", "registry.state.json*", "limit.db*"):
        for path in data.glob(pattern):
            path.unlink()


def bench_materialize(repo: Path, repeat: int) -> tuple[Series, Series, Series, int]:
    data = repo / "data"
    fs_argv = [
        FSCTL,
        "materialize",
        START,
        END,
        "--repo",
        str(repo),
        "--views",
        "driver_hourly_stats",
        "--format",
        "json",
    ]
    fsctl = Series("fsctl materialize", short(fs_argv))
    limit_a = Series("raw limit A: arg_max by event time + executemany", "python -c RUN_LIMIT event")
    limit_b = Series("raw limit B: + created-time tie-break (HUGEINT)", "python -c RUN_LIMIT tiebreak")
    keys: set[int] = set()

    def once_fsctl(record: bool) -> None:
        reset_online(data)
        sample, stdout, _ = run(fs_argv, measured=record)
        view = json.loads(stdout)["views"][0]
        if view["status"] != "succeeded" or not (data / "online.db").exists():
            raise SystemExit(f"benchmark aborted: materialize did not succeed: {view}")
        keys.add(int(view["keys_written"]))
        if record:
            fsctl.samples.append(sample)

    def once_limit(series: Series, mode: str, record: bool) -> None:
        reset_online(data)
        sample, stdout, _ = run([PYTHON, "-c", RUN_LIMIT, str(repo), mode], measured=record)
        keys.add(int(json.loads(stdout.strip().splitlines()[-1])["keys"]))
        if record:
            series.samples.append(sample)

    once_fsctl(False)  # warm-up
    once_limit(limit_a, "event", False)
    once_limit(limit_b, "tiebreak", False)
    for _ in range(repeat):
        once_fsctl(True)
        once_limit(limit_a, "event", True)
        once_limit(limit_b, "tiebreak", True)
    reset_online(data)
    if len(keys) != 1:  # fsctl and both limits must agree on the number of keys
        raise SystemExit(
            f"benchmark aborted: keys written differ between fsctl and the limits: {sorted(keys)}"
        )
    return fsctl, limit_a, limit_b, keys.pop()


def copy_example_repo(dest: Path) -> Path:
    """example_repo's definitions, and its sample data (not committed) written as of now."""
    shutil.copytree(ROOT / "example_repo", dest, ignore=shutil.ignore_patterns("data", "__pycache__"))
    subprocess.run([PYTHON, "-m", "fsctl.services.sample_data", str(dest / "data")], check=True, capture_output=True)
    return dest


def bench_small(repeat: int, work: Path) -> list[tuple[Series, float | None, str]]:
    fresh = copy_example_repo(work / "fresh")  # never applied: plan against an empty registry
    applied = copy_example_repo(work / "applied")
    run([FSCTL, "apply", "--yes", "--repo", str(applied)], measured=False)
    # (name, argv, target, text the output must contain)
    steps = [
        ("floor: python start-up", [PYTHON, "-c", "pass"], None, ""),
        ("floor: import duckdb", [PYTHON, "-c", "import duckdb"], None, ""),
        ("fsctl --help", [FSCTL, "--help"], None, "validate"),
        ("fsctl validate", [FSCTL, "validate", "--repo", str(fresh)], SMALL_TARGET_S, "Valid: 9 objects"),
        ("fsctl plan (empty registry)", [FSCTL, "plan", "--repo", str(fresh)], SMALL_TARGET_S, "9 to add"),
        ("fsctl plan (no changes)", [FSCTL, "plan", "--repo", str(applied)], SMALL_TARGET_S, "No changes"),
    ]
    series = [Series(name, short(argv)) for name, argv, _, _ in steps]
    for round_ in range(repeat + 1):  # round 0 is the warm-up
        for (name, argv, _, expect), s in zip(steps, series, strict=True):
            sample, stdout, _ = run(argv, measured=round_ > 0)
            if expect not in stdout:
                raise SystemExit(f"benchmark aborted: `{name}` printed no {expect!r}:\n{stdout[-2000:]}")
            if round_:
                s.samples.append(sample)
    return [(s, target, name) for s, (name, _, target, _) in zip(series, steps, strict=True)]


# -- report -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--", "fsctl"):
        import hashlib

        diff = hashlib.sha1(git("diff", "HEAD", "--", "fsctl").encode()).hexdigest()[:8]
        commit += f" + uncommitted changes in fsctl/ (diff sha1 {diff})"
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "python": platform.python_version(),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "fsctl commit": commit,
    }


def verdict(value: float, target: float, unit: str) -> str:
    return f"<= {target:g}{unit}: " + ("ok" if value <= target else "**missed**")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", nargs="+", default=["1000000:100000", "10000000:1000000"], help="N:M pairs"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=["historical", "materialize", "small"],
        default=["historical", "materialize", "small"],
    )
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument(
        "--fsctl", help="the fsctl console script to time (default: the one beside this interpreter)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measured run, wait up to SECONDS for idle CPUs (for a shared machine)",
    )
    args = parser.parse_args()
    if args.fsctl:
        global FSCTL
        FSCTL = str(Path(args.fsctl).resolve())
    IDLE["wait"] = args.wait_idle
    began = time.perf_counter()
    info = machine()
    log(f"# {info}")
    sizes = [tuple(int(x) for x in size.split(":")) for size in args.sizes]
    header = [
        "| case | size | command | median s | min s | CPU s | peak RSS MB | fsctl / raw (median) | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    lines: list[str] = []
    small_lines: list[str] = []
    cases: list[dict[str, object]] = []
    report: dict[str, object] = {
        "machine": info,
        "args": vars(args) | {"json": str(args.json)},
        "cases": cases,
    }
    missed = False

    def row(case: str, size: str, s: Series, ratio: str = "", target: str = "") -> None:
        lines.append(
            f"| {case} | {size} | {s.name} | {s.median:.3f} | {s.best:.3f} | {s.cpu:.3f} | {s.rss:.0f} | {ratio} | {target} |"
        )

    for n, m in sizes:
        repo = prepare(n, m)  # generates the data once, applies the repo (outside the clock)
        size = f"N={n:,} M={m:,}"
        if "historical" in args.cases:
            log(f"# historical {size}")
            fsctl, raw = bench_historical(repo, m, args.repeat)
            ratio = fsctl.median / raw.median
            missed |= ratio > HISTORICAL_TARGET
            row("historical", size, fsctl, f"{ratio:.2f}x", verdict(ratio, HISTORICAL_TARGET, "x"))
            row("historical", size, raw)
            cases.append({"case": "historical", "n": n, "m": m, "series": [fsctl.as_json(), raw.as_json()]})
        if "materialize" in args.cases:
            log(f"# materialize N={n:,}")
            fsctl, limit_a, limit_b, keys = bench_materialize(repo, args.repeat)
            size = f"N={n:,} ({keys:,} keys)"
            ratio_a, ratio_b = fsctl.median / limit_a.median, fsctl.median / limit_b.median
            missed |= ratio_b > MATERIALIZE_TARGET
            row(
                "materialize",
                size,
                fsctl,
                f"{ratio_a:.2f}x A, {ratio_b:.2f}x B",
                f"A {verdict(ratio_a, MATERIALIZE_TARGET, 'x')}; B {verdict(ratio_b, MATERIALIZE_TARGET, 'x')}",
            )
            row("materialize", size, limit_a)
            row("materialize", size, limit_b)
            series = [fsctl.as_json(), limit_a.as_json(), limit_b.as_json()]
            cases.append({"case": "materialize", "n": n, "keys": keys, "series": series})
    if "small" in args.cases:
        log("# small-repo commands")
        with tempfile.TemporaryDirectory(prefix="fsctl-bench-") as work:
            results = bench_small(args.repeat, Path(work))
        small_lines = [
            "| command | median s | min s | CPU s | peak RSS MB | target |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for s, target, _ in results:
            if target is not None:
                missed |= s.median > target
            shown = verdict(s.median, target, " s") if target is not None else ""
            small_lines.append(
                f"| {s.name} | {s.median:.3f} | {s.best:.3f} | {s.cpu:.3f} | {s.rss:.0f} | {shown} |"
            )
        cases.append({"case": "small", "series": [s.as_json() for s, _, _ in results]})
    report["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    print(
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, fsctl {info['fsctl commit']}, "
        f"load average at start {info['load average']}, at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
        f"Median and min of {args.repeat} runs, each a whole process."
        + (
            f" Waited up to {args.wait_idle:g} s for idle CPUs before each run; "
            f"{IDLE['busy_starts']} runs started on a busy machine anyway."
            if args.wait_idle
            else ""
        )
    )
    if lines:
        print("\n" + "\n".join(header + lines))
    if small_lines:
        print("\nSmall repo (example_repo, 9 objects):\n\n" + "\n".join(small_lines))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    log(f"# done in {time.perf_counter() - began:.0f} s")
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
