"""Engines for the suites parametrized over every offline engine (``engine`` fixtures):
``@pytest.fixture(params=ENGINE_PARAMS)`` and ``make_engine(request)``. Spark engines derive
their session from the test process's one Spark context (the ``spark_session`` fixture of
``tests/offline/conftest.py``); their tests carry the xdist group ``spark``, so with
``pytest -n 2 --dist loadgroup`` one worker starts the JVM for all of them."""

from __future__ import annotations

from typing import Any

import pytest

ENGINE_PARAMS = ["duckdb", pytest.param("spark", marks=pytest.mark.xdist_group("spark"))]


def make_engine(request: pytest.FixtureRequest, kind: str | None = None) -> Any:
    """An offline engine: ``kind`` (default: the fixture's param), ``duckdb`` or ``spark``."""
    if (kind or request.param) == "spark":
        from fsctl.offline.spark import SparkEngine

        return SparkEngine(session=request.getfixturevalue("spark_session"))
    from fsctl.offline.duckdb import DuckDBEngine

    return DuckDBEngine()
