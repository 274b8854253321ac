"""``fsctl historical`` on the Spark engine end to end: the real CLI in a subprocess writes
the same training set as the DuckDB engine, with a quiet stderr, on a local master (its own
JVM) and through Spark Connect, against a real server started from the installed pyspark
(``sbin/start-connect-server.sh``) on a free port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import fsctl_env, run_fsctl
from tests.support.example import copy_example_repo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("historical_spark") / "example_repo")
    applied = run_fsctl("apply", "--yes", "--repo", str(root))
    assert applied.returncode == 0, applied.stderr
    return root


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.spark_connect import start_connect_server

    server = start_connect_server(tmp_path_factory.mktemp("spark-connect"))
    yield server.url
    server.stop()


def historical(repo: Path, offline: str | None, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``fsctl historical`` with fsctl.yaml's offline_store set to ``offline`` (None: DuckDB)."""
    config = repo / "fsctl.yaml"
    text = config.read_text()
    if offline is not None:
        config.write_text(text.replace("  type: duckdb\n", offline))
    try:
        return subprocess.run(
            [sys.executable, "-m", "fsctl", "historical", "--repo", str(repo),
             "--entities", str(repo / "data" / "entities.csv"), "--service", "driver_activity_v2",
             "--output", str(output), *extra],
            capture_output=True, text=True, env=fsctl_env(), timeout=600,
        )
    finally:
        config.write_text(text)


def assert_same(got_path: Path, want_path: Path) -> None:
    want, got = pq.read_table(want_path), pq.read_table(got_path)
    assert got.column_names == want.column_names
    assert got.num_rows == want.num_rows > 0
    for name in want.column_names:
        if name == "event_timestamp":  # (CSV times: DuckDB and pyarrow may pick other time units)
            continue
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def quiet(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    noise = [line for line in result.stderr.splitlines() if "log4j" in line or " WARN " in line or " INFO " in line]
    assert not noise, result.stderr


def test_historical_on_a_local_master_equals_duckdb(repo: Path, tmp_path: Path) -> None:
    assert historical(repo, None, tmp_path / "duck.parquet").returncode == 0
    spark = historical(repo, '  type: spark\n  master: "local[2]"\n', tmp_path / "spark.parquet")
    quiet(spark)
    assert_same(tmp_path / "spark.parquet", tmp_path / "duck.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["duck.parquet", "spark.parquet"]


@pytest.mark.parametrize("extra", [(), ("--leakage-guard",)], ids=["plain", "leakage-guard"])
def test_historical_through_spark_connect_equals_duckdb(
    repo: Path, connect_server: str, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    duck = historical(repo, None, tmp_path / "duck.parquet", *extra)
    assert duck.returncode == 0, duck.stderr
    spark = historical(repo, f'  type: spark\n  remote: "{connect_server}"\n', tmp_path / "connect.parquet", *extra)
    quiet(spark)
    assert_same(tmp_path / "connect.parquet", tmp_path / "duck.parquet")
