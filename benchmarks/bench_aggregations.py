"""Time-window aggregations (issue 17): fsctl historical retrieval of an aggregation view
against ONE hand-written DuckDB window query over the same files, measured in the same run.

Generates an orders source of N rows (N/100 customers over 60 days, amounts sometimes null,
created times) and M entity rows with labels, applies a one-view repo whose view declares
sum / count / avg of ``order_amount`` over 7d and 30d (6 features, no slide), then times,
each in a fresh process with the libraries imported before the clock starts (wall time and
peak RSS):

* fsctl: ``FeatureStore.get_historical_features`` of the 6 features written to parquet,
  with the full semantics (window ``(t - w, t]`` at microsecond precision, nulls skipped,
  empty windows 0 / null, entity rows in input order with all their columns);
* reference: one hand-written statement a user would write: the entity rows unioned with
  the orders, ``sum/count/avg OVER (PARTITION BY customer ORDER BY time RANGE BETWEEN
  w - 1µs PRECEDING AND CURRENT ROW)`` for both windows, the entity rows kept, ordered by
  input position, written to parquet.

fsctl and the reference alternate so background load hits both. Each run's output is
checked against the reference's (row count, sum of every count, sum of every sum), so a
broken build cannot look fast.

    python benchmarks/bench_aggregations.py --sizes 1000000:100000 10000000:1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "aggregations"
WINDOWS = {"7d": 7 * 86400, "30d": 30 * 86400}

GENERATE = """
import duckdb, sys
n, m, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
customers = max(n // 100, 1)
con.execute(f'''COPY (
  SELECT (i % {customers})::BIGINT AS customer_id, i::BIGINT AS order_id,
    TIMESTAMP '2026-01-01' + to_microseconds((hash(i) % (60*86400))::BIGINT * 1000000) AS event_timestamp,
    TIMESTAMP '2026-01-01' + to_microseconds((hash(i) % (60*86400))::BIGINT * 1000000 + 5000000) AS created,
    CASE WHEN i % 41 = 0 THEN NULL ELSE (hash(i * 3) % 100000) / 100.0 END AS order_amount
  FROM range({n}) t(i)) TO '{folder}/orders.parquet' (FORMAT parquet)''')
con.execute(f'''COPY (
  SELECT (hash(i * 11) % {int(customers * 1.05)})::BIGINT AS customer_id,
    TIMESTAMP '2026-01-01' + to_microseconds((hash(i * 13) % (61*86400))::BIGINT * 1000000) AS event_timestamp,
    (i % 2)::INTEGER AS label
  FROM range({m}) t(i)) TO '{folder}/entities.parquet' (FORMAT parquet)''')
"""

AGGREGATIONS = "\n".join(
    f"  - {{column: order_amount, function: {f}, window: {w}, name: amount_{f}_{w}}}"
    for w in WINDOWS
    for f in ("sum", "count", "avg")
)
FEATURES = [f"customer_orders:amount_{f}_{w}" for w in WINDOWS for f in ("sum", "count", "avg")]

REPO = {
    "fsctl.yaml": "project: bench\nregistry: data/registry.json\n",
    "defs.yaml": f"""kind: Entity
name: customer
join_keys: [customer_id]
---
kind: FileSource
name: orders
path: data/orders.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FeatureView
name: customer_orders
entities: [customer]
source: orders
inputs:
  - {{name: order_amount, dtype: float64}}
aggregations:
{AGGREGATIONS}
""",
}

# Each runner prints one JSON line: {"seconds": wall, "rss_mb": peak}.
RUN_FSCTL = """
import json, resource, sys, time
import duckdb, pyarrow, pydantic, yaml
import fsctl.loader, fsctl.offline.duckdb.pit, fsctl.offline.duckdb.aggregations, fsctl.services.retrieve
import fsctl.registry.local, fsctl.workspace
from fsctl import FeatureStore
repo, features = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
with FeatureStore(repo).get_historical_features(f"{repo}/data/entities.parquet", features) as result:
    result.write(f"{repo}/out_fsctl.parquet")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_REFERENCE = """
import json, resource, sys, time
import duckdb
repo, windows = sys.argv[1], json.loads(sys.argv[2])
src, ent = f"read_parquet('{repo}/data/orders.parquet')", f"read_parquet('{repo}/data/entities.parquet')"
aggs = ", ".join(f"{f}(v) OVER w{w} AS amount_{f}_{w}" for w in windows for f in ("sum", "count", "avg"))
frames = ", ".join(
    f"w{w} AS (PARTITION BY customer_id ORDER BY t RANGE BETWEEN {s * 1000000 - 1} PRECEDING AND CURRENT ROW)"
    for w, s in windows.items()
)
query = f'''SELECT * EXCLUDE (r, t, v) FROM (
  SELECT customer_id, event_timestamp, label, r, t, v, {aggs} FROM (
    SELECT customer_id, NULL::TIMESTAMP AS event_timestamp, NULL::INTEGER AS label, NULL::BIGINT AS r,
           epoch_us(event_timestamp) AS t, order_amount AS v FROM {src}
    UNION ALL
    SELECT customer_id, event_timestamp, label, row_number() OVER () AS r, epoch_us(event_timestamp) AS t,
           NULL AS v FROM {ent})
  WINDOW {frames}) WHERE r IS NOT NULL ORDER BY r'''
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"COPY ({query}) TO '{repo}/out_reference.parquet' (FORMAT parquet)")
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
        [sys.executable, "-m", "fsctl", "apply", "--yes", "--repo", str(repo)], check=True, capture_output=True
    )
    return repo


def run(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def check(repo: Path, m: int) -> None:
    """fsctl's answer equals the reference's: rows, and the totals of every count and sum."""
    import duckdb

    def totals(name: str) -> tuple[object, ...]:
        cols = ", ".join(
            f"sum(amount_count_{w}), round(sum(amount_sum_{w}), 2), count(amount_avg_{w})" for w in WINDOWS
        )
        return tuple(duckdb.sql(f"SELECT count(*), {cols} FROM read_parquet('{repo}/{name}')").fetchall()[0])

    fsctl, reference = totals("out_fsctl.parquet"), totals("out_reference.parquet")
    if fsctl != reference or fsctl[0] != m:
        raise SystemExit(f"outputs differ: fsctl {fsctl} vs reference {reference}")


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
        results: dict[str, list[dict[str, float]]] = {"fsctl": [], "reference": []}
        for _ in range(args.repeat):  # interleaved, so background load hits both alike
            results["fsctl"].append(run(RUN_FSCTL, str(repo), json.dumps(FEATURES)))
            results["reference"].append(run(RUN_REFERENCE, str(repo), json.dumps(WINDOWS)))
            check(repo, m)
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
        rss = {k: max(r["rss_mb"] for r in v) for k, v in results.items()}
        rows.append((n, m, med, rss))
    print(f"# load average before the table: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| N events | M entity rows | fsctl | reference: one DuckDB window query | fsctl / reference |")
    print("|---|---|---|---|---|")
    for n, m, med, rss in rows:
        print(
            f"| {n:,} | {m:,} | {med['fsctl']:.2f} s, {rss['fsctl']:.0f} MB "
            f"| {med['reference']:.2f} s, {rss['reference']:.0f} MB | {med['fsctl'] / med['reference']:.2f}x |"
        )


if __name__ == "__main__":
    main()
