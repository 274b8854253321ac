"""Feature statistics: ``fsctl stats`` against one hand-written DuckDB aggregate query computing
the same statistics over the same file, measured in the same run.

Generates a source of N rows (default 10,000,000; N/100 drivers over 30 days) with five
features: ``conv_rate`` (float64, 2% null, a few NaN), ``acc_rate`` (float64),
``avg_daily_trips`` (int64), ``city`` (string, 20 values, skewed) and ``active`` (bool),
applies a one-view repo, then times, each run in a fresh process with the libraries imported
before the clock starts (wall time and peak RSS):

* fsctl: the ``fsctl stats VIEW`` use case in-process (``fsctl.services.stats.view_stats``:
  registry read, catalog, one ``StatsRequest`` to the DuckDB engine): per feature count,
  nulls, min, max, mean, std, distinct estimate, 7 quantiles, a 10-bin histogram (numeric)
  or the top values with exact counts (string, bool);
* reference: ONE hand-written DuckDB statement computing the same: a CTE of the cleaned
  columns (NaN as null; ``NOT MATERIALIZED``: scanned twice rather than held in memory),
  their min/max, and one aggregate with every statistic, histograms over the min/max, and
  ``histogram(city)`` / ``histogram(active)`` for the categories;
* floor (not a complete answer): one scan with every statistic but the histograms and
  category counts, which need a second look at the data once min and max are known;
* fsctl drift (no reference; for scale): ``--baseline`` of the first 15 days against the
  last 15, which asks the engine twice (the baseline with its deciles, then the current
  rows counted into them).

fsctl and the references alternate (fsctl, reference, floor, drift, fsctl, ...) so background load
hits all alike. Each run checks its answer against the reference's (counts, min, max, mean,
histogram counts, category counts), so a broken build cannot look fast.

    python benchmarks/bench_stats.py                      # 10M rows, 3 runs each
    python benchmarks/bench_stats.py --rows 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "stats"
NUMERIC = ("conv_rate", "acc_rate", "avg_daily_trips")
CATEGORICAL = ("city", "active")
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

GENERATE = """
import duckdb, sys
n, folder = int(sys.argv[1]), sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
drivers = max(n // 100, 1)
con.execute(f'''COPY (
  SELECT (i % {drivers})::BIGINT AS driver_id,
    TIMESTAMP '2026-01-01' + to_microseconds(((hash(i) % (30*86400))::BIGINT) * 1000000) AS event_timestamp,
    CASE WHEN i % 53 = 0 THEN NULL WHEN i % 10007 = 0 THEN 'NaN'::DOUBLE
         ELSE (hash(i * 3) % 1000) / 1000.0 END AS conv_rate,
    (hash(i * 5) % 100000) / 100000.0 AS acc_rate,
    (hash(i * 7) % 1000)::BIGINT AS avg_daily_trips,
    'city_' || CAST(floor(sqrt((hash(i * 11) % 400)::DOUBLE)) AS INTEGER) AS city,
    hash(i * 13) % 3 = 0 AS active
  FROM range({n}) t(i)) TO '{folder}/driver_stats.parquet' (FORMAT parquet)''')
"""

REPO = {
    "fsctl.yaml": "project: bench\nregistry: data/registry.json\n",
    "defs.yaml": """kind: Entity
name: driver
join_keys: [driver_id]
---
kind: FileSource
name: driver_stats
path: data/driver_stats.parquet
timestamp_field: event_timestamp
---
kind: FeatureView
name: driver_stats
entities: [driver]
source: driver_stats
schema:
  - {name: conv_rate, dtype: float64}
  - {name: acc_rate, dtype: float64}
  - {name: avg_daily_trips, dtype: int64}
  - {name: city, dtype: string}
  - {name: active, dtype: bool}
""",
}

# Each runner prints one JSON line: {"seconds", "rss_mb", "answer": {feature: {...}}}.
RUN_FSCTL = """
import json, resource, sys, time
from datetime import datetime, timezone
import duckdb, pyarrow, yaml
import fsctl.offline.duckdb.stats, fsctl.services.stats, fsctl.registry.local, fsctl.workspace
from fsctl.services.stats import WindowBaseline, view_stats
from fsctl.workspace import open_workspace
repo, mode = sys.argv[1], sys.argv[2]
start = time.perf_counter()
with open_workspace(repo) as ws:
    if mode == "drift":
        mid = datetime(2026, 1, 16, tzinfo=timezone.utc)
        report = view_stats(ws.project, ws.registry_reader(), ws.offline_engine(), "driver_stats",
                            start=mid, baseline=WindowBaseline(None, mid))
    else:
        report = view_stats(ws.project, ws.registry_reader(), ws.offline_engine(), "driver_stats")
seconds = time.perf_counter() - start
answer = {f.name: {"count": f.count, "values": f.values, "min": f.min, "max": f.max, "mean": f.mean,
                   "histogram": [b.count for b in f.histogram], "top": dict(f.top)} for f in report.features}
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "answer": answer, "psi": {k: d.psi for k, d in report.drift.items()}}))
"""

RUN_REFERENCE = """
import json, resource, sys, time
import duckdb
repo, mode = sys.argv[1], sys.argv[2]
numeric, qs = ("conv_rate", "acc_rate", "avg_daily_trips"), "[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]"
stats = []
for c in numeric:
    stats += [f"count({c})", f"min({c})", f"max({c})", f"avg({c})", f"stddev_samp({c})",
              f"approx_count_distinct({c})", f"approx_quantile({c}::DOUBLE, {qs})"]
    if mode == "query":
        stats.append(f"histogram(least(floor(({c} - m.lo_{c}) / ((m.hi_{c} - m.lo_{c}) / 10))::BIGINT, 9)) "
                     f"FILTER (WHERE {c} IS NOT NULL)")
for c in ("city", "active"):
    stats += [f"count({c})", f"approx_count_distinct({c})"] + ([f"histogram({c})"] if mode == "query" else [])
bounds = ", ".join(f"min({c}) AS lo_{c}, max({c}) AS hi_{c}" for c in numeric)
src = ("SELECT CASE WHEN isfinite(conv_rate) THEN conv_rate END AS conv_rate, acc_rate, avg_daily_trips, "
       f"city, CAST(active AS VARCHAR) AS active FROM read_parquet('{repo}/data/driver_stats.parquet')")
if mode == "query":  # one statement: the cleaned rows, their min/max, every statistic
    query = (f"WITH src AS NOT MATERIALIZED ({src}), m AS (SELECT {bounds} FROM src) "
             f"SELECT count(*), {', '.join(stats)} FROM src, m")
else:  # the floor: one scan, everything but the histograms and category counts
    query = f"SELECT count(*), {', '.join(stats)} FROM ({src})"
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
row = con.execute(query).fetchall()[0]
seconds = time.perf_counter() - start
n, values, answer = row[0], list(row[1:]), {}
if mode == "query":
    for c in numeric:
        count, lo, hi, mean, std, distinct, quantiles, hist = values[:8]
        del values[:8]
        answer[c] = {"count": n, "values": count, "min": lo, "max": hi, "mean": mean,
                     "histogram": [hist.get(k, 0) for k in range(10)], "top": {}}
    for c in ("city", "active"):
        count, distinct, hist = values[:3]
        del values[:3]
        answer[c] = {"count": n, "values": count, "min": None, "max": None, "mean": None, "histogram": [],
                     "top": {str(k): v for k, v in hist.items()}}
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "answer": answer}))
"""


def prepare(n: int) -> Path:
    repo = OUT / f"n{n}"
    data = repo / "data"
    if not (data / "driver_stats.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", GENERATE, str(n), str(data)], check=True)
    for name, text in REPO.items():
        (repo / name).write_text(text)
    subprocess.run(
        [str(Path(sys.executable).with_name("fsctl")), "apply", "--yes", "--repo", str(repo)],
        check=True,
        capture_output=True,
    )
    return repo


def run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"a run failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def check(fsctl: dict, reference: dict) -> None:
    """fsctl's answer is the reference's (top values: fsctl shows the 10 most frequent)."""
    for name, ref in reference["answer"].items():
        got = fsctl["answer"][name]
        for key in ("count", "values", "histogram"):
            assert got[key] == ref[key], (name, key, got[key], ref[key])
        if name in NUMERIC:
            assert got["min"] == ref["min"] and got["max"] == ref["max"], name
            assert abs(got["mean"] - ref["mean"]) <= 1e-9 * max(1.0, abs(ref["mean"])), name
        else:
            top = sorted(ref["top"].items(), key=lambda p: (-p[1], p[0]))[:10]
            assert got["top"] == dict(top), (name, got["top"], top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    repo = prepare(args.rows)
    print(f"# N={args.rows:,}: data ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    results: dict[str, list[dict]] = {"fsctl": [], "reference": [], "floor": [], "drift": []}
    for i in range(args.repeat):  # interleaved, so background load hits all alike
        results["fsctl"].append(run(RUN_FSCTL, str(repo), "stats"))
        results["reference"].append(run(RUN_REFERENCE, str(repo), "query"))
        results["floor"].append(run(RUN_REFERENCE, str(repo), "floor"))
        results["drift"].append(run(RUN_FSCTL, str(repo), "drift"))
        check(results["fsctl"][-1], results["reference"][-1])
        print(f"# run {i + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f}s" for k, v in results.items()), file=sys.stderr)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    low = {k: min(r["seconds"] for r in v) for k, v in results.items()}
    rss = {k: max(r["rss_mb"] for r in v) for k, v in results.items()}

    def cell(k: str) -> str:
        return f"{med[k]:.2f} s (min {low[k]:.2f}), {rss[k]:.0f} MB"

    print(
        "| N | fsctl stats | reference: one DuckDB query, same statistics | fsctl / reference | "
        "floor: one scan, no histograms | fsctl / floor | fsctl stats --baseline (drift) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {cell('fsctl')} | {cell('reference')} | {med['fsctl'] / med['reference']:.2f}x "
        f"| {cell('floor')} | {med['fsctl'] / med['floor']:.2f}x | {cell('drift')} |"
    )


if __name__ == "__main__":
    main()
