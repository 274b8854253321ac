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


# -- small inconsistencies (item 9) ------------------------------------------------------


def test_registry_diff_shows_changes_between_versions_not_a_plan(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("registry", "diff", "0", "1", "--repo", str(example_repo))
    first = result.stdout.splitlines()[0]
    assert first.startswith("Changes in project driver_ranking from registry version 0 to 1")
    assert "Plan for project" not in result.stdout and "Changes: 9 to add" in result.stdout
    same = run_fsctl("registry", "diff", "1", "1", "--repo", str(example_repo))
    assert "No changes between versions 1 and 1." in same.stdout
    as_json = run_fsctl("registry", "diff", "0", "1", "--format", "json", "--repo", str(example_repo))
    assert '"from_version": 0' in as_json.stdout and '"to_version": 1' in as_json.stdout


def test_a_lookback_is_echoed_as_written_and_one_feature_is_singular(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    assert run_fsctl("materialize-incremental", "2026-01-04T00:00:00Z", "--repo", str(example_repo)).returncode == 0
    again = run_fsctl("materialize-incremental", "2026-01-05T00:00:00Z", "--lookback", "1h", "--repo", str(example_repo))
    assert "minus the 1h lookback" in again.stdout and "1:00:00" not in again.stdout


def test_history_keeps_the_dirty_mark_of_a_commit(example_repo: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=example_repo, check=True)
    subprocess.run(["git", "add", "."], cwd=example_repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], cwd=example_repo, check=True
    )
    (example_repo / "README.md").write_text("changed\n")
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    text = run_fsctl("registry", "history", "--repo", str(example_repo)).stdout
    assert "-dirty" in text


def test_teardown_without_a_terminal_says_how_to_confirm_a_teardown(example_repo: Path) -> None:
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    result = run_fsctl("teardown", "--repo", str(example_repo), input="")
    assert result.returncode == 1
    assert "refusing to teardown without confirmation" in result.stderr
    assert "saved plan" not in result.stderr and "--yes" in result.stderr


def test_help_lists_every_command_with_a_whole_description() -> None:
    text = run_fsctl("--help", COLUMNS="80").stdout
    commands = text.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 13
    assert all("..." not in line and "…" not in line for line in commands), commands


def test_the_scaffold_ignores_what_fsctl_writes(tmp_path: Path) -> None:
    for template in ("local", "aws"):
        target = tmp_path / template
        assert run_fsctl("init", str(target), "--template", template).returncode == 0
        ignored = (target / ".gitignore").read_text()
        for pattern in ("data/registry.json*", "data/registry.state.json*", "data/online.db*"):
            assert pattern in ignored, (template, pattern)
