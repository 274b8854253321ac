"""Models end to end (issue 12, items 1, 2 and 7), with the real ``fsctl`` in a subprocess:
validation of the Model kind, the training snapshot apply records (and an older registry
without one), the model a training set records in its parquet metadata, and browsing models."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import run_fsctl

pytestmark = pytest.mark.slow


def apply(repo: Path) -> None:
    result = run_fsctl("apply", "--yes", "--repo", str(repo))
    assert result.returncode == 0, result.stdout + result.stderr


def registry(repo: Path) -> dict:
    return json.loads((repo / "data" / "registry.json").read_text())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


# --- validation -----------------------------------------------------------------------


def test_an_archived_version_behind_an_alias_is_one_clear_error(example_repo: Path) -> None:
    edit(example_repo / "models.yaml", "    metrics: {auc: 0.912", "    archived: true\n    metrics: {auc: 0.912")
    for command in ("validate", "plan"):
        result = run_fsctl(command, "--repo", str(example_repo))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert (
            "models.yaml:1: Model 'churn_classifier' field 'aliases.Production': alias 'Production' points at "
            "version 1, which is archived" in result.stderr
        ), result.stderr
        assert "remove 'archived: true' from version 1" in result.stderr


def test_bad_model_fields_are_each_reported_with_file_line_and_field(example_repo: Path) -> None:
    edit(example_repo / "models.yaml", "metrics: {auc: 0.912,", "metrics: {auc: .nan,")
    edit(example_repo / "models.yaml", "output: {churn_probability: float64}", "output: {churn_probability: decimal}")
    edit(example_repo / "models.yaml", "aliases: {Production: 1, Challenger: 2}", "aliases: {Production: 1, Challenger: 2}\ntraffic: {Production: 90, Challenger: 20}")
    result = run_fsctl("validate", "--repo", str(example_repo))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "3 problems" in result.stderr, result.stderr
    assert "field 'versions.0.metrics': metric 'auc' must be a finite number, got nan" in result.stderr
    assert "field 'versions.0.signature.output.churn_probability': unknown dtype 'decimal'" in result.stderr
    assert "field 'traffic': traffic percentages must add up to 100, got 90 + 20 = 110" in result.stderr


# --- the training snapshot --------------------------------------------------------------


def test_apply_records_a_snapshot_per_version_when_it_first_lands(example_repo: Path) -> None:
    apply(example_repo)
    v1, v2 = registry(example_repo)["objects"]["Model"]["churn_classifier"]["versions"]
    assert v1["training_snapshot"]["registry_version"] == 1
    assert [f["ref"] for f in v1["training_snapshot"]["features"]] == [
        "driver_hourly_stats:conv_rate",
        "driver_hourly_stats:acc_rate",
        "driver_hourly_stats:avg_daily_trips",
        "customer_profile:current_balance",
    ]
    assert v2["training_snapshot"]["features"][-1] == {
        "ref": "customer_profile:avg_passenger_count", "name": "avg_passenger_count", "dtype": "float64"
    }  # fmt: skip
    # a later apply that adds a version keeps theirs and records the new one as of itself
    edit(
        example_repo / "models.yaml",
        "aliases: {",
        "  - {version: 3, uri: s3://models/churn_classifier/3, feature_service: driver_activity_v1}\naliases: {",
    )
    apply(example_repo)
    versions = registry(example_repo)["objects"]["Model"]["churn_classifier"]["versions"]
    assert [v["training_snapshot"]["registry_version"] for v in versions] == [1, 1, 2]
    assert versions[0]["training_snapshot"] == v1["training_snapshot"]


def test_a_registry_from_before_snapshots_plans_no_change_and_records_them_on_the_next_apply(
    example_repo: Path,
) -> None:
    apply(example_repo)
    path = example_repo / "data" / "registry.json"
    document = json.loads(path.read_text())
    for version in document["objects"]["Model"]["churn_classifier"]["versions"]:
        del version["training_snapshot"]  # as an fsctl without snapshots wrote it
    path.write_text(json.dumps(document))
    plan = run_fsctl("plan", "--detailed-exitcode", "--repo", str(example_repo))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout
    page = run_fsctl("describe", "models", "churn_classifier", "--repo", str(example_repo)).stdout
    assert "trained on: not recorded" in page
    # the next apply that changes something records them, as the registry served the versions
    edit(example_repo / "models.yaml", "logloss: 0.264", "logloss: 0.262")
    plan = run_fsctl("plan", "--repo", str(example_repo))
    assert "versions.2.metrics.logloss: 0.264 -> 0.262" in plan.stdout and "training_snapshot" not in plan.stdout
    apply(example_repo)
    versions = registry(example_repo)["objects"]["Model"]["churn_classifier"]["versions"]
    assert [v["training_snapshot"]["registry_version"] for v in versions] == [1, 1]


def test_a_view_change_that_breaks_what_a_version_was_trained_on_names_it(example_repo: Path) -> None:
    apply(example_repo)
    edit(example_repo / "customer.yaml", "{name: avg_passenger_count, dtype: float64}", "{name: avg_passenger_count, dtype: float32}")
    result = run_fsctl("plan", "--format", "json", "--repo", str(example_repo))
    # only version 2 (Challenger, not protected) reads it: a warning naming the chain, not a block
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    [change] = plan["changes"]
    assert [b["reason"] for b in change["breaks_model_versions"]] == [
        "churn_classifier v2 was trained on customer_profile:avg_passenger_count float64 but would get float32",
    ]
    assert plan["blocked"] == []
    [warning] = plan["warnings"]
    assert [c["links"][1:] for c in warning["chains"]] == [["driver_activity_v2", "churn_classifier/2", "Challenger"]]
    # v1's expected signature catches a retyped feature it reads before any plan
    edit(example_repo / "driver_stats.py", 'Field(name="acc_rate", dtype=Float64)', 'Field(name="acc_rate", dtype=Float32)')
    edit(example_repo / "driver_stats.py", "from fsctl.types import Float64, Int64", "from fsctl.types import Float32, Float64, Int64")
    result = run_fsctl("plan", "--repo", str(example_repo))
    assert result.returncode == 1
    assert "version 1 expects input 'acc_rate' as float64, but feature service 'driver_activity_v1' gives " in result.stderr


# --- the training set says what made it --------------------------------------------------


def test_a_training_set_for_a_model_records_it_in_its_parquet_metadata(example_repo: Path, tmp_path: Path) -> None:
    apply(example_repo)
    output = tmp_path / "train.parquet"
    result = run_fsctl(
        "historical", "--repo", str(example_repo), "--entities", str(example_repo / "data" / "entities.csv"),
        "--model", "churn_classifier@Production", "--output", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Recorded in the file's parquet metadata (key fsctl): model churn_classifier v1 (Production)" in result.stdout
    metadata = json.loads(pq.read_schema(output).metadata[b"fsctl"])
    snapshot = registry(example_repo)["objects"]["Model"]["churn_classifier"]["versions"][0]["training_snapshot"]
    assert {k: metadata[k] for k in ("project", "model", "version", "alias", "registry_version", "feature_service")} == {
        "project": "driver_ranking",
        "model": "churn_classifier",
        "version": 1,
        "alias": "Production",
        "registry_version": 1,
        "feature_service": "driver_activity_v1",
    }
    assert metadata["features"] == [f["ref"] for f in snapshot["features"]]
    assert metadata["fingerprint"] == metadata["snapshot_fingerprint"] == snapshot["fingerprint"]
    assert metadata["created_at"].endswith("Z")
    assert pq.read_table(output).num_rows == 22


def test_a_training_set_by_version_number_and_one_without_a_model(example_repo: Path, tmp_path: Path) -> None:
    apply(example_repo)
    entities = str(example_repo / "data" / "entities.csv")
    by_number = tmp_path / "v2.parquet"
    result = run_fsctl(
        "historical", "--repo", str(example_repo), "--entities", entities, "--model", "churn_classifier/2",
        "--output", str(by_number), "--format", "json",
    )  # fmt: skip
    summary = json.loads(result.stdout)
    assert summary["model"]["version"] == 2 and summary["model"]["alias"] is None and summary["metadata_written"]
    assert json.loads(pq.read_schema(by_number).metadata[b"fsctl"])["version"] == 2
    plain = tmp_path / "service.parquet"
    result = run_fsctl(
        "historical", "--repo", str(example_repo), "--entities", entities, "--service", "driver_activity_v2",
        "--output", str(plain), "--format", "json",
    )  # fmt: skip
    assert "model" not in json.loads(result.stdout)
    assert b"fsctl" not in (pq.read_schema(plain).metadata or {})


def test_a_csv_training_set_has_no_metadata_and_the_summary_says_so(example_repo: Path, tmp_path: Path) -> None:
    apply(example_repo)
    output = tmp_path / "train.csv"
    result = run_fsctl(
        "historical", "--repo", str(example_repo), "--entities", str(example_repo / "data" / "entities.csv"),
        "--model", "churn_classifier@Challenger", "--output", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Not recorded in the file (CSV has no metadata; write .parquet to keep it): model churn_classifier v2" in result.stdout
    assert output.read_text().splitlines()[0].startswith("driver_id,")


# --- browsing ---------------------------------------------------------------------------


def test_describe_model_shows_versions_side_by_side_what_each_reads_and_the_lineage_pointer(example_repo: Path) -> None:
    apply(example_repo)
    page = run_fsctl("describe", "models", "churn_classifier", "--repo", str(example_repo)).stdout
    lines = page.splitlines()
    header = next(line for line in lines if line.strip().startswith("v1"))
    assert header.split() == ["v1", "v2"]
    row = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and len(line.split()) > 2}
    assert row["aliases"] == ["Production", "Challenger"]
    assert row["status"] == ["active", "active"]
    assert row["uri"] == ["python://model_code.churn:v1", "python://model_code.churn:v2"]
    assert row["auc"] == ["0.912", "0.927"]
    assert "Aliases: Production -> v1, Challenger -> v2" in page
    assert "  reads driver_activity_v2 (5 features):" in page
    assert "customer_profile:avg_passenger_count  float64" in page
    assert "trained on (registry version 1, fingerprint " in page and ": what it reads now" in page
    assert "signature: acc_rate float64, avg_daily_trips int64, conv_rate float64, current_balance float64 -> churn_probability float64" in page
    assert "Lineage: fsctl lineage churn_classifier@Production" in page
    as_json = json.loads(run_fsctl("describe", "models", "churn_classifier", "--format", "json", "--repo", str(example_repo)).stdout)
    assert as_json == registry(example_repo)["objects"]["Model"]["churn_classifier"]  # the canonical document


def test_list_models_counts_archived_versions(example_repo: Path) -> None:
    edit(
        example_repo / "models.yaml",
        "aliases: {",
        "  - {version: 3, uri: s3://models/churn_classifier/3, feature_service: driver_activity_v1, archived: true}\naliases: {",
    )
    apply(example_repo)
    listed = run_fsctl("list", "models", "--repo", str(example_repo)).stdout
    assert "churn_classifier  3 versions (1 archived); Challenger=2, Production=1" in listed
    page = run_fsctl("describe", "models", "churn_classifier", "--repo", str(example_repo)).stdout
    status = next(line for line in page.splitlines() if line.strip().startswith("status"))
    assert status.split() == ["status", "active", "active", "archived"]


def test_describe_model_shows_the_gates_of_its_protected_aliases_as_they_stand(example_repo: Path) -> None:
    repo = ["--repo", str(example_repo)]
    assert run_fsctl("apply", "--yes", *repo).returncode == 0
    page = run_fsctl("describe", "models", "churn_classifier", *repo).stdout
    gates = page.split("Gates of Production -> v1 (as they stand now):")[1].split("\n\n")[0]
    assert "Gates of Challenger" not in page  # not a protected alias
    lines = {line.split()[1].rstrip(":"): line.split()[0] for line in gates.strip().splitlines()}
    assert lines["version"] == lines["signature"] == lines["metadata"] == "pass"
    assert lines["freshness"] != "pass"  # nothing materialized yet
    assert run_fsctl("materialize-incremental", "2026-01-05T00:00:00Z", *repo).returncode == 0
    after = run_fsctl("describe", "models", "churn_classifier", *repo).stdout
    assert "  pass     freshness: driver_hourly_stats materialized up to 2026-01-05T00:00:00Z" in after
