"""The offline engines under one contract: the ``offline_yaml`` fixture runs a test once per
engine (DuckDB, and Spark on ``local[2]``), giving the ``offline_store`` line of fsctl.yaml.

All Spark tests of a test process share one Spark context (:func:`spark_session`, started on
first use); each engine derives its own ``newSession()`` from it. The Spark tests carry the
xdist group ``spark``, so with ``pytest -n 2 --dist loadgroup`` (the Makefile) they run in one
worker and the JVM starts once. A test that is not about the engine runs on DuckDB only:
``@pytest.mark.parametrize("offline_engine", ["duckdb"])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

SPARK_YAML = 'offline_store: {type: spark, master: "local[2]"}\n'

# A Spark context for tests: few shuffle partitions (the data is tiny), no UI.
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


def start_test_spark() -> Any:
    from fsctl.offline.spark import SparkEngine, SparkEngineConfig

    engine = SparkEngine(SparkEngineConfig(master="local[2]", conf=SPARK_TEST_CONF))
    return engine.handle


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """The test process's Spark context (fsctl's quiet start), stopped at the end."""
    handle = start_test_spark()
    yield handle.session
    handle.close()


@pytest.fixture(
    scope="session",
    params=["duckdb", pytest.param("spark", marks=pytest.mark.xdist_group("spark"))],
)
def offline_engine(request: pytest.FixtureRequest) -> str:
    """The engine a contract test runs on: ``duckdb`` or ``spark``."""
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    return str(request.param)


@pytest.fixture
def offline_yaml(offline_engine: str) -> str:
    """The ``offline_store`` line of fsctl.yaml for :func:`offline_engine` ("" for DuckDB, the default)."""
    return SPARK_YAML if offline_engine == "spark" else ""
