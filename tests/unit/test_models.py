"""The Model kind in full (issue 12, item 1): version fields and their validation, the
canonical form (no new keys while unset), the cross-object rules the loader checks, and what
a protected version must carry (the promotion gate's data)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fsctl import Model, ModelVersion
from fsctl.definitions.config import repo_config
from fsctl.definitions.model_rules import missing_metadata, protected_versions
from fsctl.errors import ConfigError, DefinitionError, DefinitionErrors, Problem
from fsctl.loader import load_repo

MakeRepo = Callable[..., Path]


def version(**kw: Any) -> dict[str, Any]:
    return {"version": 1, "uri": "s3://m/1", "feature_service": "svc", **kw}


# --- fields and canonical form -----------------------------------------------------------


def test_every_field_of_a_model_and_its_versions_reaches_the_canonical_form() -> None:
    model = Model(
        name="churn",
        description="Churn within 30 days",
        owner="ranking@example.com",
        tags={"team": "ranking"},
        versions=[
            ModelVersion(
                version=1,
                uri="models:/churn/1",
                feature_service="svc",
                description="first",
                tags={"trainer": "xgboost"},
                metrics={"auc": 0.91, "rows": 120000},
                signature={"inputs": {"conv_rate": "float64", "trips": "list< int64 >"}, "output": {"p": "float64"}},
            ),
            ModelVersion(version=2, uri="runs:/abc/model", feature_service="svc", archived=True),
        ],
        aliases={"Champion": 1},
        traffic={"Champion": 100},
    )
    doc = model.to_dict()
    assert doc["traffic"] == {"Champion": 100}
    first, second = doc["versions"]
    assert first["metrics"] == {"auc": 0.91, "rows": 120000.0}
    assert first["tags"] == {"trainer": "xgboost"}
    assert first["signature"] == {"inputs": {"conv_rate": "float64", "trips": "list<int64>"}, "output": {"p": "float64"}}
    assert second["archived"] is True and "metrics" not in second
    # the canonical form is what the registry stores: it reads back as the same model
    assert Model.from_data({k: v for k, v in doc.items() if k != "kind"}).to_dict() == doc


def test_unset_new_keys_are_left_out_so_older_registries_read_the_same() -> None:
    doc = Model(name="churn", versions=[version()], aliases={"Production": 1}).to_dict()
    assert set(doc) == {"kind", "name", "description", "owner", "tags", "versions", "aliases"}
    assert set(doc["versions"][0]) == {"version", "uri", "feature_service", "description"}


@pytest.mark.parametrize(
    ("metrics", "needle"),
    [
        ({"auc": math.nan}, "metric 'auc' must be a finite number"),
        ({"auc": math.inf}, "metric 'auc' must be a finite number"),
        ({"auc": True}, "metric 'auc' must be a number, got bool"),
        ({"auc": "0.9"}, "metric 'auc' must be a number, got str"),
        ({"1auc": 0.9}, "invalid metric name '1auc'"),
    ],
)
def test_metrics_are_finite_numbers_with_sensible_names(metrics: dict[str, Any], needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        ModelVersion(**version(metrics=metrics))
    assert needle in info.value.problem.message
    assert info.value.problem.field == "metrics"


@pytest.mark.parametrize(
    ("signature", "field", "needle"),
    [
        ({"inputs": {"a": "float64"}, "output": {"p": "float64", "q": "int64"}}, "signature.output", "one name -> dtype"),
        ({"inputs": {"a": "float64"}, "output": {}}, "signature.output", "one name -> dtype"),
        ({"inputs": {}, "output": {"p": "float64"}}, "signature.inputs", "at least 1"),
        ({"inputs": {"a": "decimal"}, "output": {"p": "float64"}}, "signature.inputs.a", "unknown dtype 'decimal'"),
        ({"inputs": {"a": "float64"}}, "signature.output", "required field is missing"),
    ],
)
def test_a_signature_has_inputs_and_one_output_of_fsctl_dtypes(signature: Any, field: str, needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        ModelVersion(**version(signature=signature))
    assert info.value.problem.field == field
    assert needle in info.value.problem.message


@pytest.mark.parametrize(
    ("traffic", "needle"),
    [
        ({"Production": 80, "Challenger": 10}, "must add up to 100, got 80 + 10 = 90"),
        ({"Production": 120, "Challenger": -20}, "a percentage is a whole number 0..100"),
        ({"Production": 100.0}, "valid integer"),
    ],
)
def test_traffic_is_whole_percentages_adding_up_to_100(traffic: dict[str, Any], needle: str) -> None:
    with pytest.raises(DefinitionError) as info:
        Model(
            name="churn",
            versions=[version(), version(version=2)],
            aliases={"Production": 1, "Challenger": 2},
            traffic=traffic,
        )
    assert needle in info.value.problem.message


# --- rules the loader checks across the model and its services --------------------------

REPO = {
    "fsctl.yaml": "project: demo\n",
    "defs.yaml": textwrap.dedent(
        """\
        kind: Entity
        name: driver
        join_keys: [driver_id]
        ---
        kind: FileSource
        name: src
        path: data/driver.parquet
        ---
        kind: FeatureView
        name: stats
        entities: [driver]
        source: src
        schema:
          - {name: conv_rate, dtype: float64}
          - {name: trips, dtype: int64}
        ---
        kind: FeatureView
        name: other_stats
        entities: [driver]
        source: src
        schema:
          - {name: conv_rate, dtype: float64}
        ---
        kind: FeatureService
        name: svc
        features: [stats]
        ---
        kind: FeatureService
        name: both
        features: [stats, other_stats]
        """
    ),
}


def model_problems(make_repo: MakeRepo, model_yaml: str) -> list[Problem]:
    root = make_repo({**REPO, "models.yaml": textwrap.dedent(model_yaml)})
    with pytest.raises(DefinitionErrors) as info:
        load_repo(root)
    return info.value.problems


def test_an_alias_may_not_point_at_an_archived_version(make_repo: MakeRepo) -> None:
    [problem] = model_problems(
        make_repo,
        """\
        kind: Model
        name: churn
        versions:
          - {version: 1, uri: s3://m/1, feature_service: svc, archived: true}
          - {version: 2, uri: s3://m/2, feature_service: svc}
        aliases: {Production: 1, Challenger: 2}
        """,
    )
    assert (problem.file, problem.line, problem.kind, problem.name) == ("models.yaml", 1, "Model", "churn")
    assert problem.field == "aliases.Production"
    assert "alias 'Production' points at version 1, which is archived" in problem.message
    assert "remove 'archived: true' from version 1" in (problem.fix or "")


def test_traffic_goes_only_to_aliases(make_repo: MakeRepo) -> None:
    [problem] = model_problems(
        make_repo,
        """\
        kind: Model
        name: churn
        versions: [{version: 1, uri: s3://m/1, feature_service: svc}]
        aliases: {Champion: 1}
        traffic: {Champion: 80, Challenger: 20}
        """,
    )
    assert problem.field == "traffic.Challenger"
    assert "'Challenger', which is not an alias of this model" in problem.message


def test_a_signature_must_match_what_the_bound_service_gives(make_repo: MakeRepo) -> None:
    problems = model_problems(
        make_repo,
        """\
        kind: Model
        name: churn
        versions:
          - version: 1
            uri: s3://m/1
            feature_service: svc
            signature:
              inputs: {conv_rate: float32, trips: int64, conv_rat: float64}
              output: {p: float64}
          - version: 2
            uri: s3://m/2
            feature_service: both
            signature:
              inputs: {conv_rate: float64, other_stats__conv_rate: float64}
              output: {p: float64}
        """,
    )
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {
        "versions[0].signature.inputs.conv_rate",
        "versions[0].signature.inputs.conv_rat",
        "versions[1].signature.inputs.conv_rate",
    }
    dtype = by_field["versions[0].signature.inputs.conv_rate"]
    assert "expects input 'conv_rate' as float32, but feature service 'svc' gives stats:conv_rate as float64" in dtype.message
    missing = by_field["versions[0].signature.inputs.conv_rat"]
    assert "does not give" in missing.message and "did you mean 'conv_rate'" in (missing.fix or "")
    ambiguous = by_field["versions[1].signature.inputs.conv_rate"]
    assert "from 2 views" in ambiguous.message and "stats__conv_rate, other_stats__conv_rate" in (ambiguous.fix or "")


def test_a_well_formed_model_loads(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            **REPO,
            "models.yaml": textwrap.dedent(
                """\
                kind: Model
                name: churn
                versions:
                  - version: 1
                    uri: models:/churn/1
                    feature_service: svc
                    metrics: {auc: 0.91}
                    signature: {inputs: {conv_rate: float64}, output: {p: float64}}
                  - {version: 2, uri: s3://m/2, feature_service: svc, archived: true}
                aliases: {Champion: 1}
                traffic: {Champion: 100}
                """
            ),
        }
    )
    model = load_repo(root).objects["Model"]["churn"]
    assert isinstance(model, Model)
    assert model.versions[1].archived and model.versions[0].metrics == {"auc": 0.91}


def test_the_training_snapshot_is_registry_side_and_never_written_by_the_user(make_repo: MakeRepo) -> None:
    [problem] = model_problems(
        make_repo,
        """\
        kind: Model
        name: churn
        versions:
          - {version: 1, uri: s3://m/1, feature_service: svc, training_snapshot: {features: []}}
        """,
    )
    assert problem.field == "versions.0.training_snapshot" and problem.message == "unknown field"


# --- what a protected version must carry (models.required_metadata) -----------------------


def test_missing_metadata_names_what_a_version_lacks() -> None:
    model = {"owner": "", "tags": {"team": "ranking"}}
    bare = {"version": 1, "uri": "s3://m/1", "feature_service": "svc", "description": ""}
    assert missing_metadata(model, bare, ["owner", "description"]) == ["owner", "description"]
    full = {**bare, "description": "first", "metrics": {"auc": 0.9}}
    owned = {**model, "owner": "me@example.com"}
    assert missing_metadata(owned, full, ["owner", "description", "metrics", "tags.team", "signature"]) == ["signature"]
    assert missing_metadata(owned, full, ["tags.approved_by"]) == ["tags.approved_by"]


def test_protected_versions_lists_the_protected_aliases_per_version() -> None:
    model = {"aliases": {"Production": 1, "Champion": 1, "Challenger": 2, "Shadow": 3}}
    assert protected_versions(model, ("Production", "Champion")) == {1: ["Champion", "Production"]}


def test_required_metadata_in_fsctl_yaml_names_known_metadata() -> None:
    config = repo_config({"project": "p", "models": {"required_metadata": ["owner", "metrics", "tags.approved_by"]}})
    assert config.models.required_metadata == ("owner", "metrics", "tags.approved_by")
    with pytest.raises(ConfigError) as info:
        repo_config({"project": "p", "models": {"required_metadata": ["owner", "author"]}})
    assert "field 'models.required_metadata': unknown metadata 'author'" in info.value.message
