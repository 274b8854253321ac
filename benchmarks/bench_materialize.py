"""Materialization into SQLite, and online reads, against the bare limits measured in the
same run.

Materialize: the driver-stats source of bench_retrieval.py (N rows, N/100 drivers), one
view of 3 features, ``materialize START END`` over the whole 30 days into a fresh SQLite
online store, in a fresh process (wall time, peak RSS). The limit: one DuckDB
latest-per-key query plus a SQLite ``executemany`` into a keyed table, in one transaction.
Limit A takes the row with the latest event time (any one among ties); limit B returns the
same rows fsctl does (ties broken by the latest created time, DESIGN.md section 3), which
means reading the created column and ordering by a 128-bit (event, created) value.

Reads (after materializing): in-process ``FeatureStore.get_online_features`` for one
entity (p50/p99 over 10,000 calls) and for 1,000 entities (p50 over 200 calls), against a
raw SQLite point select; HTTP reads from ``fsctl serve`` under a bounded loopback load
(``--clients`` threads, each sending requests back to back).

    python benchmarks/bench_materialize.py --sizes 1000000 10000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_retrieval import prepare

START, END = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"

RUN_FSCTL = """
import json, os, resource, sys, time
repo = sys.argv[1]
for name in ("online.db", "online.db-wal", "online.db-shm", "registry.state.json"):
    try:
        os.remove(f"{repo}/data/{name}")
    except FileNotFoundError:
        pass
from datetime import datetime, timezone
from fsctl import FeatureStore
from fsctl.services.materialize import raise_if_failed
# Libraries imported before timing, as the limit imports duckdb and sqlite3 before its clock.
import duckdb, pyarrow, pydantic, yaml
import fsctl.loader, fsctl.offline.duckdb.latest, fsctl.online.sqlite, fsctl.services.materialize
import fsctl.state.local, fsctl.registry.local, fsctl.diff.plan, filelock
start = time.perf_counter()
with FeatureStore(repo) as store:
    result = store.materialize(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc),
                               views=["driver_hourly_stats"])
raise_if_failed(result)
print(json.dumps({"seconds": time.perf_counter() - start, "keys": result.runs[0].keys_written,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_LIMIT = """
import json, os, resource, sqlite3, sys, time
import duckdb
repo = sys.argv[1]
db = f"{repo}/data/limit.db"
for suffix in ("", "-wal", "-shm"):
    try:
        os.remove(db + suffix)
    except FileNotFoundError:
        pass
start = time.perf_counter()
con = duckdb.connect()
if sys.argv[2] == "event":  # the latest event time; any one row among ties
    order = "event_timestamp"
else:  # the same rows as fsctl: ties broken by the latest created time, a null one losing
    order = ("epoch_us(event_timestamp)::HUGEINT * 18446744073709551616 "
             "+ coalesce(epoch_us(created)::HUGEINT + 9223372036854775808, 0)")
rows = con.execute(f'''SELECT driver_id, epoch_us(v.t), v.a, v.b FROM (
    SELECT driver_id, arg_max({{'t': event_timestamp, 'a': conv_rate, 'b': acc_rate}}, {order}) AS v
    FROM read_parquet('{repo}/data/driver_stats.parquet')
    WHERE event_timestamp >= TIMESTAMP '2026-01-01' AND event_timestamp < TIMESTAMP '2026-02-01'
    GROUP BY driver_id)''').fetchall()
lite = sqlite3.connect(db)
lite.execute("PRAGMA journal_mode=WAL")
lite.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, e INTEGER, a REAL, b REAL)")
with lite:
    lite.executemany("INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?)", rows)
print(json.dumps({"seconds": time.perf_counter() - start, "keys": len(rows),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def bench_materialize(sizes: list[int], repeat: int) -> list[str]:
    lines = [
        "| N (source rows) | keys | fsctl materialize | limit A: latest event time | ratio A "
        "| limit B: + created-time tie-break | ratio B |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        repo = prepare(n, max(n // 10, 1))
        results: dict[str, list[dict[str, float]]] = {"fsctl": [], "event": [], "tiebreak": []}
        for _ in range(repeat):  # interleaved, so background load hits all three alike
            results["fsctl"].append(run(RUN_FSCTL, str(repo)))
            results["event"].append(run(RUN_LIMIT, str(repo), "event"))
            results["tiebreak"].append(run(RUN_LIMIT, str(repo), "tiebreak"))
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
        rss = {k: max(r["rss_mb"] for r in v) for k, v in results.items()}
        lines.append(
            f"| {n:,} | {int(results['fsctl'][0]['keys']):,} | {med['fsctl']:.2f} s, {rss['fsctl']:.0f} MB "
            f"| {med['event']:.2f} s, {rss['event']:.0f} MB | {med['fsctl'] / med['event']:.2f}x "
            f"| {med['tiebreak']:.2f} s, {rss['tiebreak']:.0f} MB | {med['fsctl'] / med['tiebreak']:.2f}x |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    lines = bench_materialize(args.sizes, args.repeat)
    if not args.skip_reads:
        from bench_online_reads import bench_reads

        lines += ["", *bench_reads(prepare(args.sizes[0], max(args.sizes[0] // 10, 1)), args.clients)]
    print("\n".join(lines))
    print(f"# {time.perf_counter() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
