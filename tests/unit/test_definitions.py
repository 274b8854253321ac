"""Definition objects built from Python: validation, errors naming file:line, canonical form."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from pydantic import ValidationError

import fsctl
from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
from fsctl.definitions import KINDS, FeatureSelection, object_from_dict
from fsctl.definitions import graph as g
from fsctl.definitions.graph import build_graph
from fsctl.errors import DefinitionError, DefinitionErrors, FsctlError
from fsctl.types import Array, Float64, Int64, String

HERE = __file__


def _line() -> int:
    """The line of the caller."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def _stats_view(**overrides: object) -> FeatureView:
    kwargs: dict[str, object] = {
        "name": "stats",
        "entities": ["driver"],
        "source": "src",
        "schema": [Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)],
    }
    kwargs.update(overrides)
    return FeatureView(**kwargs)  # type: ignore[arg-type]


# --- the public API ----------------------------------------------------------------------


def test_public_api_is_explicit() -> None:
    assert set(fsctl.__all__) >= {
        "Entity",
        "FileSource",
        "FeatureView",
        "Field",
        "FeatureService",
        "Model",
        "ModelVersion",
    }
    for name in ("Entity", "FileSource", "FeatureView", "Field", "FeatureService", "Model", "ModelVersion"):
        assert getattr(fsctl, name) is getattr(__import__("fsctl.definitions", fromlist=[name]), name)
    with pytest.raises(AttributeError):
        fsctl.NotAThing  # noqa: B018


def test_kinds_are_the_yaml_kinds() -> None:
    assert set(KINDS) == {"Entity", "FileSource", "SqlSource", "FeatureView", "FeatureService", "Model"}


# --- errors name the file and line of the call --------------------------------------------


def test_bad_argument_raises_definition_error_at_the_call_line() -> None:
    line = _line() + 2
    with pytest.raises(DefinitionError) as info:
        Entity(name="bad name", join_keys=["driver_id"])
    problem = info.value.problem
    assert problem.file == HERE
    assert problem.line == line
    assert problem.kind == "Entity"
    assert problem.field == "name"
    assert f"{HERE}:{line}" in str(info.value)
    assert isinstance(info.value, FsctlError)


def test_multi_line_call_reports_the_line_where_the_call_starts() -> None:
    line = _line() + 2
    with pytest.raises(DefinitionError) as info:
        Entity(
            name="driver",
            join_keys=[],
        )
    assert info.value.problem.line == line
    assert info.value.problem.field == "join_keys"


def test_several_bad_arguments_are_all_reported() -> None:
    line = _line() + 2
    with pytest.raises(DefinitionErrors) as info:
        FeatureView(name="v", entities=[], source="src", ttl="soon", schema=[Field(name="a", dtype=Int64)])
    fields = {p.field for p in info.value.problems}
    assert {"entities", "ttl"} <= fields
    assert all(p.file == HERE and p.line == line and p.name == "v" for p in info.value.problems)


def test_unknown_argument_is_reported_as_unknown_field() -> None:
    with pytest.raises(DefinitionError) as info:
        Entity(name="driver", join_keys=["driver_id"], joinkeys=["x"])  # type: ignore[call-arg]
    assert info.value.problem.field == "joinkeys"
    assert "unknown field" in info.value.problem.message


def test_missing_argument_is_reported() -> None:
    with pytest.raises(DefinitionError) as info:
        Entity(name="driver")  # type: ignore[call-arg]
    assert info.value.problem.field == "join_keys"
    assert "required" in info.value.problem.message


def test_bad_duration_message_teaches_the_format() -> None:
    with pytest.raises(DefinitionError) as info:
        _stats_view(ttl="two days")
    assert info.value.problem.field == "ttl"
    assert "2h" in info.value.problem.message


def test_strict_types_are_not_coerced() -> None:
    with pytest.raises(DefinitionError) as info:
        _stats_view(online="yes")
    assert info.value.problem.field == "online"


def test_field_with_bad_dtype_raises_definition_error_at_the_call_line() -> None:
    # Field is part of the Python authoring API: a bad dtype must be a DefinitionError naming
    # this file and line, like every other definition object, not a raw pydantic error.
    line = _line() + 2
    with pytest.raises(DefinitionError) as info:
        Field(name="conv_rate", dtype="decimal")
    assert info.value.problem.file == HERE
    assert info.value.problem.line == line
    assert info.value.problem.field == "dtype"


def test_model_version_with_bad_number_raises_definition_error_at_the_call_line() -> None:
    line = _line() + 2
    with pytest.raises(DefinitionError) as info:
        ModelVersion(version=0, uri="s3://m/0", feature_service="svc")
    assert info.value.problem.file == HERE
    assert info.value.problem.line == line


def test_from_data_raises_pydantic_errors_for_the_loader() -> None:
    with pytest.raises(ValidationError):
        Entity.from_data({"name": "bad name", "join_keys": ["x"]})


# --- per-kind validation -----------------------------------------------------------------


def test_entity_join_keys_must_not_repeat() -> None:
    with pytest.raises(DefinitionError, match="repeat"):
        Entity(name="driver", join_keys=["driver_id", "driver_id"])


def test_entity_join_keys_are_columns() -> None:
    with pytest.raises(DefinitionError):
        Entity(name="driver", join_keys=["driver-id"])
    assert Entity(name="driver", join_keys=["_id", "region"]).join_keys == ["_id", "region"]


def test_file_source_defaults_and_format() -> None:
    src = FileSource(name="src", path="data/x.parquet")
    assert (src.format, src.timestamp_field, src.created_timestamp_field, src.field_mapping) == (
        "parquet",
        "event_timestamp",
        None,
        {},
    )
    assert FileSource(name="src", path="x.csv", format="csv").format == "csv"
    with pytest.raises(DefinitionError, match="parquet, csv or delta"):
        FileSource(name="src", path="x.json", format="json")
    with pytest.raises(DefinitionError):
        FileSource(name="src", path="")


def test_file_source_column_for_follows_field_mapping() -> None:
    src = FileSource(name="src", path="x.parquet", field_mapping={"DriverID": "driver_id"})
    assert src.column_for("driver_id") == "DriverID"
    assert src.column_for("conv_rate") == "conv_rate"


def test_feature_view_defaults() -> None:
    view = _stats_view()
    assert view.ttl == 0
    assert view.online is True
    assert view.freshness is None
    assert view.feature_names == ["conv_rate", "trips"]


@pytest.mark.parametrize(("ttl", "seconds"), [("2d", 172800), (timedelta(hours=1), 3600), (90, 90), (0, 0)])
def test_feature_view_ttl_forms(ttl: object, seconds: int) -> None:
    assert _stats_view(ttl=ttl).ttl == seconds


def test_feature_view_needs_a_schema_and_an_entity() -> None:
    with pytest.raises(DefinitionError):
        _stats_view(schema=[])
    with pytest.raises(DefinitionError):
        _stats_view(entities=[])


def test_feature_view_rejects_duplicate_features() -> None:
    with pytest.raises(DefinitionError, match="more than once"):
        _stats_view(schema=[Field(name="a", dtype=Int64), Field(name="a", dtype=String)])


def test_feature_view_accepts_objects_for_references() -> None:
    driver = Entity(name="driver", join_keys=["driver_id"])
    src = FileSource(name="src", path="x.parquet")
    view = _stats_view(entities=[driver], source=src)
    assert view.entities == ["driver"]
    assert view.source == "src"
    assert {c.name for c in view.children} == {"driver", "src"}


def test_feature_view_checks_and_list_dtypes() -> None:
    view = _stats_view(
        schema=[Field(name="conv_rate", dtype=Float64), Field(name="emb", dtype=Array(Float64))],
        checks={"conv_rate": {"min": 0, "max": 1, "max_null_fraction": 0.1}},
    )
    assert view.schema_[1].dtype == "list<float64>"
    assert view.checks["conv_rate"].max == 1
    with pytest.raises(DefinitionError):
        _stats_view(checks={"conv_rate": {"max_null_fraction": 2}})


def test_view_subscript_selects_features() -> None:
    selection = _stats_view()[["conv_rate"]]
    assert selection == FeatureSelection(view="stats", features=["conv_rate"])


def test_feature_service_accepts_names_views_and_selections() -> None:
    view = _stats_view()
    svc = FeatureService(name="svc", features=[view, {"view": "other", "features": ["x"]}])
    assert svc.to_dict()["features"] == [
        {"view": "stats", "features": None},
        {"view": "other", "features": ["x"]},
    ]
    svc2 = FeatureService(name="svc2", features=["stats", view[["trips"]]][1:])
    assert svc2.features[0].features == ["trips"]
    graph = build_graph({"FeatureService": {"svc": svc.to_dict()}})
    assert graph.parents(g.service("svc"), *g.SELECTIONS) == [g.view("other"), g.view("stats")]


def test_feature_service_rejects_a_view_listed_twice() -> None:
    with pytest.raises(DefinitionError, match="more than once"):
        FeatureService(name="svc", features=["stats", {"view": "stats", "features": ["a"]}])


def test_feature_service_needs_features() -> None:
    with pytest.raises(DefinitionError):
        FeatureService(name="svc", features=[])


def test_model_versions_and_aliases() -> None:
    svc = FeatureService(name="svc", features=["stats"])
    model = Model(
        name="churn",
        versions=[
            ModelVersion(version=1, uri="s3://m/1", feature_service=svc),
            {"version": 2, "uri": "s3://m/2", "feature_service": "svc2"},
        ],
        aliases={"Production": 1, "Challenger-2": 2},
    )
    assert model.version(2) is not None and model.version(2).feature_service == "svc2"  # type: ignore[union-attr]
    assert model.version(3) is None
    graph = build_graph({"Model": {"churn": model.to_dict()}})
    assert graph.parents(g.model_version("churn", 1), g.BOUND) == [g.service("svc")]
    assert graph.parents(g.model_version("churn", 2), g.BOUND) == [g.service("svc2")]


def test_model_rejects_duplicate_versions() -> None:
    with pytest.raises(DefinitionError, match="more than once"):
        Model(
            name="churn",
            versions=[{"version": 1, "feature_service": "a"}, {"version": 1, "feature_service": "b"}],
        )


@pytest.mark.parametrize("alias", ["", "1st", "prod env", "prod.v1"])
def test_model_rejects_bad_alias_names(alias: str) -> None:
    with pytest.raises(DefinitionError, match="alias"):
        Model(name="churn", versions=[{"version": 1, "feature_service": "a"}], aliases={alias: 1})


def test_objects_are_frozen() -> None:
    entity = Entity(name="driver", join_keys=["driver_id"])
    with pytest.raises(ValidationError):
        entity.name = "other"  # type: ignore[misc]


def test_metadata_is_optional_on_every_kind() -> None:
    entity = Entity(name="driver", join_keys=["driver_id"], description="d", owner="o", tags={"team": "x"})
    assert (entity.description, entity.owner, entity.tags) == ("d", "o", {"team": "x"})
    assert Entity(name="driver", join_keys=["driver_id"]).tags == {}


# --- canonical form ----------------------------------------------------------------------


def _one_of_each() -> list[object]:
    return [
        Entity(name="driver", join_keys=["driver_id"], description="A driver"),
        FileSource(
            name="src", path="data/x.parquet", created_timestamp_field="created", field_mapping={"a": "b"}
        ),
        _stats_view(ttl="2d", freshness="1h", checks={"conv_rate": {"min": 0}}, tags={"t": "1"}),
        FeatureService(name="svc", features=["stats", {"view": "other", "features": ["x"]}]),
        Model(
            name="churn", versions=[{"version": 1, "uri": "u", "feature_service": "svc"}], aliases={"P": 1}
        ),
    ]


@pytest.mark.parametrize("obj", _one_of_each(), ids=lambda o: type(o).__name__)
def test_to_dict_roundtrips_through_object_from_dict(obj: fsctl.Entity) -> None:
    data = obj.to_dict()
    assert data["kind"] == obj.KIND
    rebuilt = object_from_dict(data)
    assert type(rebuilt) is type(obj)
    assert rebuilt.to_dict() == data


def test_canonical_view_uses_schema_key_and_seconds() -> None:
    data = _stats_view(ttl="2d").to_dict()
    assert "schema" in data and "schema_" not in data
    assert data["ttl"] == 172800
    assert data["schema"][0] == {"name": "conv_rate", "dtype": "float64", "description": "", "tags": {}}


def test_view_references_in_the_graph() -> None:
    view = _stats_view()
    graph = build_graph({"FeatureView": {"stats": view.to_dict()}})
    assert graph.parents(g.view("stats")) == [g.entity("driver"), g.source("src")]
    assert graph.children(g.view("stats"), g.HAS) == [g.feature("stats", f) for f in sorted(view.feature_names)]
