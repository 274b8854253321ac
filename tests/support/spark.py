"""One local Spark session per test process (``local[2]``, time zone UTC, few shuffle
partitions so small tests stay fast), and an offline engine on it for the engine-parametrized
suites. Tests using it belong to the xdist group ``spark`` so one worker starts the JVM."""

from __future__ import annotations

from typing import Any

_SESSION: Any = None


def spark_session() -> Any:
    """The process's shared SparkSession (started on first use, stopped at exit by Spark)."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        _SESSION = (
            SparkSession.builder.master("local[2]")
            .appName("fsctl-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "2")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkOps:
    """The window operations of the Spark engine (latest, check, events, stats) on the shared
    session, as an OfflineEngine for these suites."""

    name = "spark (local[2])"

    def __init__(self) -> None:
        self.spark = spark_session()

    def latest(self, request: Any) -> Any:
        from fsctl.offline.spark.latest import latest_rows

        return latest_rows(self.spark, request)

    def check(self, request: Any) -> Any:
        from fsctl.offline.spark.checks import run_checks

        return run_checks(self.spark, request)

    def events(self, request: Any) -> Any:
        from fsctl.offline.spark.events import source_events

        return source_events(self.spark, request)

    def stats(self, request: Any) -> Any:
        from fsctl.offline.spark.stats import table_stats

        return table_stats(self.spark, request)

    def historical(self, request: Any, progress: Any = None) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass  # the session is shared by the process


def make_engine(kind: str) -> Any:
    """An offline engine by name, for ``engine`` fixtures parametrized over every engine."""
    if kind == "spark":
        return SparkOps()
    from fsctl.offline.duckdb import DuckDBEngine

    return DuckDBEngine()
