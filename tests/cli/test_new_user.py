"""What a new user runs into (issue 11): commands that need applied definitions refuse a
registry that has none, instead of succeeding with nothing done."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_fsctl

pytestmark = pytest.mark.slow

NEEDS_DEFINITIONS = {
    "materialize-incremental": ["materialize-incremental", "2026-01-04T00:00:00Z"],
    "materialize": ["materialize", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"],
    "historical": ["historical", "--entities", "data/entities.csv", "--service", "driver_activity_v1", "--output", "t.parquet"],
    "online": ["online", "--service", "driver_activity_v1", "--entity", "driver_id=1001", "--entity", "customer_id=2001"],
    "list": ["list", "views"],
    "describe": ["describe", "views", "driver_hourly_stats"],
    "serve": ["serve", "--port", "0"],
}


@pytest.mark.parametrize("command", list(NEEDS_DEFINITIONS))
def test_a_registry_with_nothing_applied_is_an_error_that_says_to_apply(example_repo: Path, command: str) -> None:
    result = run_fsctl(*NEEDS_DEFINITIONS[command], "--repo", str(example_repo), cwd=example_repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "has nothing applied yet" in result.stderr and "fsctl apply" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (example_repo / "t.parquet").exists()


def test_after_a_teardown_materialize_is_an_error_not_a_silent_success(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    assert run_fsctl("teardown", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", "--repo", str(example_repo))
    assert result.returncode == 1
    assert "has no definitions (version 2 is empty)" in result.stderr
