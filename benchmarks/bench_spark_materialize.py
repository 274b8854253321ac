"""Materialization with the Spark engine (``local[2]``) against the DuckDB engine, in the
same run and the same process, into a fresh SQLite online store.

The data is bench_retrieval.py's driver-stats source (N rows, N/100 drivers, 30 days), one
view of 3 features, ``materialize START END`` over the whole month. Three ways:

- ``duckdb``: the default engine (one ``arg_max`` query, records streamed to SQLite);
- ``spark, executors``: ``max_by`` per key, the records written by the Spark tasks
  (``mapInArrow`` writers, what ``fsctl materialize`` does on Spark);
- ``spark, via driver``: the same aggregate, records streamed to the driver in batches
  (what a cluster does for a SQLite file).

The Spark session is started before the clock (a JVM start is ~10 s and paid once per
process), and each way runs once untimed first (the JIT compiles Spark's code, the Python
workers start: the first materialize of a process takes 2-4x longer). Figures are medians of ``--repeat`` interleaved runs, and ratios to DuckDB.

    python benchmarks/bench_spark_materialize.py --sizes 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_retrieval import prepare

START, END = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)


def _fresh(repo: Path) -> None:
    for name in ("online.db", "online.db-wal", "online.db-shm", "registry.state.json"):
        try:
            os.remove(repo / "data" / name)
        except FileNotFoundError:
            pass


def once(repo: Path, engine: Any, executors: bool) -> tuple[float, int]:
    from fsctl.services.materialize import materialize, raise_if_failed
    from fsctl.workspace import open_workspace

    _fresh(repo)
    started = time.perf_counter()
    with open_workspace(repo, offline=engine) as ws:
        result = materialize(
            ws.project, ws.registry_reader(), ws.state(), ws.online_store(), engine, END,
            start=START, views=["driver_hourly_stats"],
            store_opener=ws.online_store_opener() if executors else None,
        )  # fmt: skip
    raise_if_failed(result)
    return time.perf_counter() - started, result.runs[0].keys_written


class _Kept:
    """An engine the workspace must not close between runs."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from fsctl.offline.duckdb import DuckDBEngine
    from fsctl.offline.spark import SparkEngine, SparkEngineConfig

    spark = SparkEngine(SparkEngineConfig(master="local[2]", conf={"spark.sql.shuffle.partitions": "8"}))
    spark.spark.range(1).count()  # the JVM starts before the clock
    duck = DuckDBEngine()
    ways = {
        "duckdb": (_Kept(duck), False),
        "spark, executors": (_Kept(spark), True),
        "spark, via driver": (_Kept(spark), False),
    }
    print("| N | keys | way | median s | best s | / duckdb |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        repo = prepare(n, 100_000)
        times: dict[str, list[float]] = {way: [] for way in ways}
        keys: dict[str, int] = {}
        for engine, executors in ways.values():  # warm-up: the JVM's JIT and the Python workers
            once(repo, engine, executors)
        for _ in range(args.repeat):  # interleaved, so background load hits all alike
            for way, (engine, executors) in ways.items():
                seconds, written = once(repo, engine, executors)
                times[way].append(seconds)
                keys[way] = written
        assert len(set(keys.values())) == 1, keys
        base = statistics.median(times["duckdb"])
        for way, values in times.items():
            med = statistics.median(values)
            print(f"| {n:,} | {keys[way]:,} | {way} | {med:.2f} | {min(values):.2f} | {med / base:.1f}x |")
    spark.close()
    duck.close()


if __name__ == "__main__":
    main()
