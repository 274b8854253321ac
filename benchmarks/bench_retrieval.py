"""Point-in-time retrieval: fsctl against the bare DuckDB ASOF query over the same files.

Generates a driver-stats source of N rows (N/100 drivers over 30 days, event times on a
one-minute grid so (driver, event time) ties are common, created times tied and sometimes
null, null feature values) and an entity frame of M rows with labels, then times, each in
a fresh process (wall time and peak RSS):

* fsctl: ``FeatureStore.get_historical_features`` of 2 views on that source (3 features;
  one view with a 2-day TTL, one without) written to parquet, with the full semantics:
  TTL, created-time tie-break, input order kept, duplicates kept;
* limit, per view: the bare ASOF LEFT JOIN a user would write, one join per view, written
  to parquet (no tie-break, no TTL, no ordering);
* limit, one join: the same with both views' columns from a single ASOF join (the
  fastest bare query for two views that share a source).

    python benchmarks/bench_retrieval.py --sizes 1000000:100000 10000000:1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "retrieval"

GENERATE = """
import duckdb, sys
n, m, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
drivers = max(n // 100, 1)
con.execute(f'''COPY (
  SELECT (i % {drivers})::BIGINT AS driver_id,
    TIMESTAMP '2026-01-01' + to_microseconds(((hash(i) % (30*86400))::BIGINT // 60 * 60) * 1000000) AS event_timestamp,
    CASE WHEN i % 97 = 0 THEN NULL ELSE TIMESTAMP '2026-01-01'
      + to_microseconds(((hash(i) % (30*86400))::BIGINT // 60 * 60 + (i % 7) * 60) * 1000000) END AS created,
    CASE WHEN i % 53 = 0 THEN NULL ELSE (hash(i * 3) % 1000) / 1000.0 END AS conv_rate,
    (hash(i * 5) % 1000) / 1000.0 AS acc_rate,
    (hash(i * 7) % 100)::BIGINT AS avg_daily_trips
  FROM range({n}) t(i)) TO '{folder}/driver_stats.parquet' (FORMAT parquet)''')
con.execute(f'''COPY (
  SELECT (hash(i * 11) % {int(drivers * 1.05)})::BIGINT AS driver_id,
    TIMESTAMP '2026-01-01' + to_microseconds((hash(i * 13) % (31*86400))::BIGINT * 1000000) AS event_timestamp,
    (i % 2)::INTEGER AS label
  FROM range({m}) t(i)) TO '{folder}/entities.parquet' (FORMAT parquet)''')
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
created_timestamp_field: created
---
kind: FeatureView
name: driver_hourly_stats
entities: [driver]
source: driver_stats
ttl: 2d
schema:
  - {name: conv_rate, dtype: float64}
  - {name: acc_rate, dtype: float64}
---
kind: FeatureView
name: driver_activity
entities: [driver]
source: driver_stats
schema:
  - {name: avg_daily_trips, dtype: int64}
""",
}

# Each runner prints one JSON line: {"seconds": wall, "rss_mb": peak}.
RUN_FSCTL = """
import json, resource, sys, time
# Libraries imported before the clock starts, as the limit imports duckdb before its clock.
import duckdb, pyarrow, pydantic, yaml
import fsctl.loader, fsctl.offline.duckdb.pit, fsctl.services.retrieve, fsctl.registry.local, fsctl.workspace
from fsctl import FeatureStore
repo = sys.argv[1]
start = time.perf_counter()
with FeatureStore(repo).get_historical_features(
    f"{repo}/data/entities.parquet",
    ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "driver_activity:avg_daily_trips"],
) as result:
    result.write(f"{repo}/out_fsctl.parquet")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_BARE = """
import json, resource, sys, time
import duckdb
repo, mode = sys.argv[1], sys.argv[2]
src, ent = f"read_parquet('{repo}/data/driver_stats.parquet')", f"read_parquet('{repo}/data/entities.parquet')"
if mode == "per-view":
    query = f'''SELECT e.*, a.conv_rate, a.acc_rate, b.avg_daily_trips FROM {ent} e
      ASOF LEFT JOIN {src} a ON e.driver_id = a.driver_id AND e.event_timestamp >= a.event_timestamp
      ASOF LEFT JOIN {src} b ON e.driver_id = b.driver_id AND e.event_timestamp >= b.event_timestamp'''
else:
    query = f'''SELECT e.*, a.conv_rate, a.acc_rate, a.avg_daily_trips FROM {ent} e
      ASOF LEFT JOIN {src} a ON e.driver_id = a.driver_id AND e.event_timestamp >= a.event_timestamp'''
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"COPY ({query}) TO '{repo}/out_bare.parquet' (FORMAT parquet)")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def prepare(n: int, m: int) -> Path:
    repo = OUT / f"n{n}_m{m}"
    data = repo / "data"
    if not (data / "entities.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", GENERATE, str(n), str(m), str(data)], check=True)
    for name, text in REPO.items():
        (repo / name).write_text(text)
    subprocess.run(
        [str(Path(sys.executable).with_name("fsctl")), "apply", "--yes", "--repo", str(repo)],
        check=True,
        capture_output=True,
    )
    return repo


def run(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["1000000:100000"], help="N:M pairs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        n, m = (int(x) for x in size.split(":"))
        started = time.perf_counter()
        repo = prepare(n, m)
        print(f"# N={n:,} M={m:,}: data ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        results: dict[str, list[dict[str, float]]] = {"fsctl": [], "per-view": [], "one-join": []}
        for _ in range(args.repeat):  # interleaved, so background load hits all three alike
            results["fsctl"].append(run(RUN_FSCTL, str(repo)))
            results["per-view"].append(run(RUN_BARE, str(repo), "per-view"))
            results["one-join"].append(run(RUN_BARE, str(repo), "one-join"))
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
        rss = {k: max(r["rss_mb"] for r in v) for k, v in results.items()}
        rows.append((n, m, med, rss))
    print("| N | M | fsctl | limit: ASOF per view | limit: one ASOF | fsctl / per view | fsctl / one ASOF |")
    print("|---|---|---|---|---|---|---|")
    for n, m, med, rss in rows:
        print(
            f"| {n:,} | {m:,} | {med['fsctl']:.2f} s, {rss['fsctl']:.0f} MB "
            f"| {med['per-view']:.2f} s, {rss['per-view']:.0f} MB | {med['one-join']:.2f} s, {rss['one-join']:.0f} MB "
            f"| {med['fsctl'] / med['per-view']:.2f}x | {med['fsctl'] / med['one-join']:.2f}x |"
        )


if __name__ == "__main__":
    main()
