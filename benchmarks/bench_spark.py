"""Point-in-time retrieval on the Spark engine (``local[2]``) against the DuckDB engine and the
bare DuckDB ASOF query, over the same files, in the same run.

The data and the request are bench_retrieval.py's (N source rows, N/100 drivers over 30 days,
ties and null created times; M entity rows; 2 views, 3 features, one 2-day TTL), plus a
hot-key variant (``--hot``: driver 0 holds 30% of the source rows and 30% of the entity
rows). Each measurement is a fresh process; the Spark figure is the retrieval with the
session already started (the JVM start is shown separately), written to parquet.

    python benchmarks/bench_spark.py --sizes 1000000:100000 10000000:1000000 --hot 1000000:100000
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

from bench_retrieval import GENERATE, OUT, REPO, RUN_BARE, RUN_FSCTL, run

HOT = GENERATE.replace(
    "SELECT (i % {drivers})::BIGINT AS driver_id,",
    "SELECT (CASE WHEN i % 10 < 3 THEN 0 ELSE i % {drivers} END)::BIGINT AS driver_id,",
).replace(
    "SELECT (hash(i * 11) % {int(drivers * 1.05)})::BIGINT AS driver_id,",
    "SELECT (CASE WHEN i % 10 < 3 THEN 0 ELSE hash(i * 11) % {int(drivers * 1.05)} END)::BIGINT AS driver_id,",
)
assert HOT != GENERATE

SPARK_YAML = (
    'offline_store: {type: spark, master: "local[2]", '
    'conf: {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "16"}}\n'
)

RUN_SPARK = """
import json, resource, sys, time
import pyarrow, pydantic, yaml
from fsctl import FeatureStore
repo = sys.argv[1]
started = time.perf_counter()
store = FeatureStore(repo)
store.workspace.offline_engine().spark  # start the JVM and fsctl's session before the clock
jvm = time.perf_counter() - started
start = time.perf_counter()
with store.get_historical_features(
    f"{repo}/data/entities.parquet",
    ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "driver_activity:avg_daily_trips"],
) as result:
    result.write(f"{repo}/out_spark.parquet")
print(json.dumps({"seconds": time.perf_counter() - start, "jvm": jvm,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
store.close()
"""

CHECK = """
import sys, pyarrow.parquet as pq
a, b = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
cols = ["driver_id", "label", "conv_rate", "acc_rate", "avg_daily_trips"]
assert a.num_rows == b.num_rows, (a.num_rows, b.num_rows)
for c in cols:
    assert a.column(c).to_pylist() == b.column(c).to_pylist(), c
print("same")
"""


def prepare(n: int, m: int, hot: bool) -> tuple[Path, Path]:
    """(the DuckDB repo, the Spark repo) over the same files."""
    base = OUT.parent / "spark" / f"{'hot_' if hot else ''}n{n}_m{m}"
    repos = base / "duckdb", base / "spark"
    data = repos[0] / "data"
    if not (data / "entities.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", HOT if hot else GENERATE, str(n), str(m), str(data)], check=True)
    for repo, extra in zip(repos, ("", SPARK_YAML), strict=True):
        for name, text in REPO.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text + (extra if name == "fsctl.yaml" else ""))
        if repo != repos[0]:
            (repo / "data").mkdir(exist_ok=True)
            for name in ("driver_stats.parquet", "entities.parquet"):
                link = repo / "data" / name
                if not link.exists():
                    link.symlink_to(data / name)
        subprocess.run(
            [sys.executable, "-m", "fsctl", "apply", "--yes", "--repo", str(repo)],
            check=True, capture_output=True,
        )
    return repos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="*", default=["1000000:100000"], help="N:M pairs")
    parser.add_argument("--hot", nargs="*", default=[], help="N:M pairs of the hot-key data")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for size, hot in [(s, False) for s in args.sizes] + [(s, True) for s in args.hot]:
        n, m = (int(x) for x in size.split(":"))
        duck, spark = prepare(n, m, hot)
        results: dict[str, list[dict[str, float]]] = {"spark": [], "duckdb": [], "bare": []}
        for _ in range(args.repeat):  # interleaved, so background load hits all three alike
            results["spark"].append(run(RUN_SPARK, str(spark)))
            results["duckdb"].append(run(RUN_FSCTL, str(duck)))
            results["bare"].append(run(RUN_BARE, str(duck), "one-join"))
        subprocess.run(
            [sys.executable, "-c", CHECK, str(duck / "out_fsctl.parquet"), str(spark / "out_spark.parquet")],
            check=True,
        )
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
        jvm = statistics.median(r["jvm"] for r in results["spark"])
        rows.append((n, m, hot, med, jvm))
        print(f"# {'hot ' if hot else ''}N={n:,} M={m:,}: {json.dumps(med)}", file=sys.stderr)
    print("| data | N | M | spark (JVM start) | duckdb engine | bare DuckDB ASOF | spark / duckdb | spark / bare |")
    print("|---|---|---|---|---|---|---|---|")
    for n, m, hot, med, jvm in rows:
        print(
            f"| {'hot key' if hot else 'uniform'} | {n:,} | {m:,} | {med['spark']:.2f} s ({jvm:.0f} s) "
            f"| {med['duckdb']:.2f} s | {med['bare']:.2f} s "
            f"| {med['spark'] / med['duckdb']:.1f}x | {med['spark'] / med['bare']:.1f}x |"
        )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"# total {time.perf_counter() - started:.0f} s", file=sys.stderr)
