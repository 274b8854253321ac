"""``fsctl historical`` on the Spark engine end to end: the real CLI in a subprocess (its own
JVM on ``local[2]``) writes the same training set as the DuckDB engine, with a quiet stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import fsctl_env, run_fsctl
from tests.support.example import copy_example_repo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


def test_historical_on_spark_equals_duckdb(tmp_path: Path) -> None:
    repo = copy_example_repo(tmp_path / "example_repo")
    assert run_fsctl("apply", "--yes", "--repo", str(repo)).returncode == 0
    args = ["historical", "--repo", str(repo), "--entities", str(repo / "data" / "entities.csv"),
            "--service", "driver_activity_v2"]
    duck = run_fsctl(*args, "--output", str(tmp_path / "duck.parquet"))
    assert duck.returncode == 0, duck.stderr
    config = repo / "fsctl.yaml"
    config.write_text(config.read_text().replace("type: duckdb", 'type: spark\n  master: "local[2]"'))
    spark = subprocess.run(
        [sys.executable, "-m", "fsctl", *args, "--output", str(tmp_path / "spark.parquet")],
        capture_output=True, text=True, env=fsctl_env(), timeout=600,
    )
    assert spark.returncode == 0, spark.stderr
    noise = [line for line in spark.stderr.splitlines() if "log4j" in line or " WARN " in line or "INFO" in line]
    assert not noise, spark.stderr
    want, got = pq.read_table(tmp_path / "duck.parquet"), pq.read_table(tmp_path / "spark.parquet")
    assert got.column_names == want.column_names
    assert got.num_rows == want.num_rows > 0
    for name in want.column_names:
        if name == "event_timestamp":  # (CSV times: DuckDB and pyarrow may pick other time units)
            continue
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["duck.parquet", "example_repo", "spark.parquet"]
