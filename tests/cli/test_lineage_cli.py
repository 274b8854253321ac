"""`fsctl lineage` end to end on example_repo: the real CLI against an applied registry, its
three formats pinned by golden files (tests/cli/golden/lineage/), and its errors.

Regenerate the golden files after an intended output change with
``FSCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/cli/test_lineage_cli.py`` (the run then
fails on purpose; review ``git diff tests/cli/golden``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo
from tests.unit.test_lineage import check_mermaid
from tests.unit.test_lineage_svg import check_csp_safe

GOLDEN = Path(__file__).parent / "golden" / "lineage"
UPDATE = os.environ.get("FSCTL_UPDATE_GOLDEN", "") not in ("", "0", "false")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """example_repo applied once (the tests only read its registry)."""
    root = copy_example_repo(tmp_path_factory.mktemp("lineage") / "example_repo")
    done = run_fsctl("apply", "--yes", "--repo", str(root))
    assert done.returncode == 0, done.stderr
    return root


def lineage(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl("lineage", *args, cwd=repo)


CASES = {
    "conv_rate_downstream": ["driver_hourly_stats:conv_rate", "--downstream"],
    "production_alias": ["churn_classifier@Production"],
}
SUFFIX = {"text": "txt", "json": "json", "mermaid": "md"}


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden_files(applied: Path, case: str, fmt: str) -> None:
    done = lineage(applied, *CASES[case], "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = GOLDEN / f"{case}.{SUFFIX[fmt]}"
    if UPDATE:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(done.stdout, encoding="utf-8")
        pytest.fail(f"wrote {expected}: review it and run again without FSCTL_UPDATE_GOLDEN")
    assert done.stdout == expected.read_text(encoding="utf-8")


def test_which_versions_read_a_feature_and_which_are_protected(applied: Path) -> None:
    done = lineage(applied, "driver_hourly_stats:conv_rate", "--downstream", "--format", "json")
    data = json.loads(done.stdout)
    versions = {n["name"]: n["protected"] for n in data["nodes"] if n["kind"] == "model_version"}
    assert versions == {"churn_classifier/1": True, "churn_classifier/2": False}
    aliases = {n["name"]: n["protected"] for n in data["nodes"] if n["kind"] == "alias"}
    assert aliases == {"churn_classifier@Production": True, "churn_classifier@Challenger": False}
    # customer_profile's avg_passenger_count is read by version 2 only
    only_v2 = json.loads(lineage(applied, "customer_profile:avg_passenger_count", "--format", "json").stdout)
    assert {n["name"] for n in only_v2["nodes"] if n["kind"] == "model_version"} == {"churn_classifier/2"}


def test_protected_aliases_come_from_fsctl_yaml(applied: Path, tmp_path: Path) -> None:
    repo = copy_example_repo(tmp_path / "repo")
    config = repo / "fsctl.yaml"
    config.write_text(config.read_text() + "models:\n  protected_aliases: [Challenger]\n")
    registry = str(applied / "data" / "registry.json")
    done = run_fsctl("lineage", "churn_classifier", "--downstream", "--repo", str(repo), "--registry", registry)
    assert done.returncode == 0, done.stderr
    assert "alias churn_classifier@Challenger  [protected]" in done.stdout
    assert "alias churn_classifier@Production\n" in done.stdout


def test_mermaid_is_well_formed_for_every_object(applied: Path) -> None:
    for ref in ("driver", "driver_stats_source", "driver_hourly_stats", "driver_activity_v2", "churn_classifier/2"):
        done = lineage(applied, ref, "--format", "mermaid")
        assert done.returncode == 0, done.stderr
        check_mermaid(done.stdout)


def test_svg_is_well_formed_and_csp_safe_for_every_object(applied: Path) -> None:
    for ref in ("churn_classifier", "driver_hourly_stats", "churn_classifier@Production"):
        done = lineage(applied, ref, "--format", "svg")
        assert done.returncode == 0, done.stderr
        check_csp_safe(done.stdout)


def test_one_direction_only(applied: Path) -> None:
    up = lineage(applied, "driver_activity_v1", "--upstream")
    assert "Upstream: what it reads" in up.stdout and "Downstream" not in up.stdout
    down = lineage(applied, "driver_activity_v1", "--downstream")
    assert "Downstream: what reads it" in down.stdout and "Upstream" not in down.stdout
    assert "source driver_stats_source" in up.stdout and "source" not in down.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["driver_hourly_stat"], "error: no object named 'driver_hourly_stat' in the registry data/registry.json"),
        (["driver_hourly_stats:conv"], "hint: did you mean 'conv_rate'?"),
        (["churn_classifier@Staging"], "hint: its aliases: Challenger, Production"),
        (["churn_classifier/\u00b2"], "error: unknown kind 'churn_classifier'"),  # ²: not an ASCII digit
        (["FeatureView/driver_hourly_stat"], "error: feature view 'driver_hourly_stat' is not in the registry data/registry.json (version 1)"),
        (["driver", "--format", "markdown"], "'markdown' is not one of 'text', 'json', 'mermaid'"),
    ],
)
def test_bad_input_is_one_message_and_exit_1(applied: Path, args: list[str], message: str) -> None:
    done = lineage(applied, *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_registry_with_nothing_applied_is_an_error(example_repo: Path) -> None:
    done = run_fsctl("lineage", "driver", "--repo", str(example_repo))
    assert done.returncode == 1
    assert "has nothing applied yet" in done.stderr and "run `fsctl apply` first" in done.stderr


def test_lineage_reads_the_registry_not_the_repo(applied: Path, tmp_path: Path) -> None:
    repo = copy_example_repo(tmp_path / "repo")
    (repo / "models.yaml").unlink()  # not applied: the registry still has the model
    registry = str(applied / "data" / "registry.json")
    done = run_fsctl("lineage", "churn_classifier@Production", "--repo", str(repo), "--registry", registry)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Lineage of alias churn_classifier@Production in registry ")


def test_help_names_the_forms_of_object() -> None:
    done = subprocess.run([sys.executable, "-m", "fsctl", "lineage", "--help"], capture_output=True, text=True)
    assert "MODEL@ALIAS" in done.stdout and "--upstream" in done.stdout and "mermaid" in done.stdout
