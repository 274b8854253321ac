"""What each command imports: heavy libraries only where they are needed, so a cron job, a
CI step or a feature server pays for nothing else (issue 10, item 8). Each command runs in
a fresh interpreter that reports, after the command, which heavy modules were imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.example import copy_example_repo

HEAVY = ("pydantic", "pyarrow", "numpy", "pandas", "duckdb", "yaml", "typer", "rich", "jinja2", "boto3", "redis")
PROBE = (
    "import json, sys\n"
    "from fsctl.cli import run\n"
    "code = run(sys.argv[1:])\n"
    f"imported = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
    "print(json.dumps({'code': code, 'imported': imported}), file=sys.stderr)\n"
)


def imported(repo: Path, *args: str, code: int = 0) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=repo, capture_output=True, text=True, timeout=120
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == code, result.stdout + result.stderr
    return list(report["imported"])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("startup") / "repo")
    assert subprocess.run([sys.executable, "-m", "fsctl", "apply", "--yes", "--repo", str(root)], capture_output=True).returncode == 0
    return root


def test_help_imports_nothing_heavy(repo: Path) -> None:
    assert imported(repo, "--help") == []
    assert imported(repo, "plan", "--help") == []


def test_materialize_needs_only_duckdb_and_yaml(repo: Path) -> None:
    assert imported(repo, "materialize-incremental", "2026-01-04T00:00:00Z", "--repo", str(repo)) == ["duckdb", "yaml"]


def test_status_needs_only_duckdb_and_yaml(tmp_path: Path) -> None:
    root = copy_example_repo(tmp_path / "repo")  # its own: another test may materialize the shared one
    assert subprocess.run([sys.executable, "-m", "fsctl", "apply", "--yes", "--repo", str(root)], capture_output=True).returncode == 0
    # exit 1: nothing is materialized yet (status reads the sources all the same)
    assert imported(root, "status", "--format", "prometheus", "--repo", str(root), code=1) == ["duckdb", "yaml"]


def test_historical_needs_only_duckdb_and_yaml(repo: Path) -> None:
    args = ["--entities", str(repo / "data/entities.csv"), "--service", "driver_activity_v1"]
    out = repo / "train.parquet"
    assert imported(repo, "historical", *args, "--output", str(out), "--repo", str(repo)) == ["duckdb", "yaml"]


def test_online_reads_need_only_yaml(repo: Path) -> None:
    args = ["--service", "driver_activity_v1", "--entity", "driver_id=1001", "--entity", "customer_id=2001"]
    assert imported(repo, "online", *args, "--repo", str(repo)) == ["yaml"]


def test_validate_reads_parquet_footers_without_pyarrow(repo: Path) -> None:
    # example_repo's SQL source is checked by binding its query in DuckDB (no pyarrow either)
    assert imported(repo, "validate", "--repo", str(repo)) == ["duckdb", "pydantic", "yaml"]
    (repo / "orders.yaml").unlink()  # without SQL sources, DuckDB is not needed
    (repo / "customer_aggregates.yaml").unlink()  # (its views read the orders)
    assert imported(repo, "validate", "--repo", str(repo)) == ["pydantic", "yaml"]


def test_lineage_reads_the_registry_with_only_yaml(repo: Path) -> None:
    assert imported(repo, "lineage", "driver_hourly_stats:conv_rate", "--format", "mermaid", "--repo", str(repo)) == ["yaml"]


def test_codeowners_loads_definitions_without_data(repo: Path) -> None:
    assert imported(repo, "codeowners", "--repo", str(repo)) == ["pydantic", "yaml"]
