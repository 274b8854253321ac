"""One local Spark session per test process (``local[2]``, few shuffle partitions so small
tests stay fast) and engines on it for the suites parametrized over every offline engine.
Tests using Spark belong to the xdist group ``spark`` (``pytest -n 2 --dist loadgroup``), so
one worker starts the JVM for all of them."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

_SESSION: Any = None

# Engine names for ``engine`` fixtures: ``@pytest.fixture(params=ENGINE_PARAMS)``.
ENGINE_PARAMS = ["duckdb", pytest.param("spark", marks=pytest.mark.xdist_group("spark"))]


def spark_session() -> Any:
    """The process's shared SparkSession (started on first use; Spark stops it at exit)."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv (pyarrow, fsctl)
        _SESSION = (
            SparkSession.builder.master("local[2]")
            .appName("fsctl-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def make_engine(kind: str) -> Any:
    """An offline engine by name: ``duckdb``, or ``spark`` on the shared session."""
    if kind == "spark":
        from fsctl.offline.spark import SparkEngine

        return SparkEngine(session=spark_session())
    from fsctl.offline.duckdb import DuckDBEngine

    return DuckDBEngine()
