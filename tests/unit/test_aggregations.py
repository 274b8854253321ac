"""Time-window aggregations as definitions (issue 17): the derived schema and its dtypes, the
validation errors (each naming the field and the fix), the canonical form, the plan's
classification of changes, and the data fingerprint that restarts watermarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fsctl import Aggregation, Entity, FeatureService, FeatureView, Field, FileSource, Model
from fsctl.definitions.training import view_data_fingerprint
from fsctl.diff import build_plan
from fsctl.diff.plan import BREAKING, METADATA, NON_BREAKING
from fsctl.errors import DefinitionError, DefinitionErrors
from fsctl.loader import load_repo

INPUTS = [Field(name="amount", dtype="float64"), Field(name="qty", dtype="int32"), Field(name="city", dtype="string")]


def agg_view(**kw: Any) -> FeatureView:
    kw.setdefault("name", "orders_agg")
    kw.setdefault("entities", ["customer"])
    kw.setdefault("source", "orders")
    kw.setdefault("inputs", INPUTS)
    kw.setdefault(
        "aggregations",
        [
            Aggregation(column="amount", function="sum", window="7d", name="amount_sum_7d"),
            Aggregation(column="qty", function="sum", window="7d", name="qty_sum_7d"),
            Aggregation(column="qty", function="avg", window="30d", name="qty_avg_30d"),
            Aggregation(column="city", function="count_distinct", window="30d", name="cities_30d"),
            Aggregation(column="city", function="last", window="30d", name="last_city"),
            Aggregation(column="amount", function="max", window="1d", name="amount_max_1d", description="largest"),
            Aggregation(column="qty", function="count", window="1d", name="orders_1d"),
        ],
    )
    return FeatureView(**kw)


def test_schema_is_derived_with_documented_dtypes() -> None:
    view = agg_view()
    assert [(f.name, f.dtype) for f in view.schema_] == [
        ("amount_sum_7d", "float64"),
        ("qty_sum_7d", "int64"),
        ("qty_avg_30d", "float64"),
        ("cities_30d", "int64"),
        ("last_city", "string"),
        ("amount_max_1d", "float64"),
        ("orders_1d", "int64"),
    ]
    assert view.schema_[5].description == "largest"
    assert view.feature_names[0] == "amount_sum_7d"
    assert [f.name for f in view.read_columns] == ["amount", "qty", "city"]


def test_canonical_form_round_trips_and_plain_views_keep_their_form() -> None:
    view = agg_view(slide="1h")
    data = view.to_dict()
    assert data["slide"] == 3600 and data["aggregations"][0]["window"] == 7 * 86400
    again = FeatureView.model_validate({k: v for k, v in data.items() if k != "kind"})
    assert again.to_dict() == data
    plain = FeatureView(name="p", entities=["c"], source="s", schema=[Field(name="x", dtype="int64")]).to_dict()
    assert not {"inputs", "slide", "aggregations"} & set(plain)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ttl": "2d"}, "ttl does not apply to a view with aggregations"),
        ({"slide": "5h"}, "slide (18000s) does not divide the window"),
        ({"slide": 0}, "slide must be longer than 0"),
        (
            {"aggregations": [Aggregation(column="nope", function="sum", window="1d", name="n")]},
            "column 'nope' is not in the view's inputs (listed: amount, city, qty)",
        ),
        (
            {"aggregations": [Aggregation(column="city", function="sum", window="1d", name="n")]},
            "sum does not apply to column 'city' of dtype string",
        ),
        (
            {
                "aggregations": [
                    Aggregation(column="qty", function="sum", window="1d", name="n"),
                    Aggregation(column="qty", function="max", window="1d", name="n"),
                ]
            },
            "the name 'n' is used more than once",
        ),
        ({"checks": {"amount_sum_7d": {"min": 0}}}, "leave checks out"),
        ({"schema": [Field(name="amount_sum_7d", dtype="int64")]}, "derived from them"),
        ({"aggregations": [], "schema": [Field(name="x", dtype="int64")]}, "inputs applies only to a view with aggregations"),
        ({"aggregations": [], "inputs": []}, "a view needs at least one feature"),
    ],
)
def test_invalid_aggregation_views_say_what_to_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises((DefinitionError, DefinitionErrors)) as info:
        agg_view(**change)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("function", "median", "Input should be 'sum', 'count', 'avg', 'min', 'max', 'count_distinct' or 'last'"),
        ("window", "0s", "a window must be longer than 0"),
        ("window", "7 days", "duration"),
    ],
)
def test_bad_aggregation_fields(field: str, value: Any, message: str) -> None:
    kw: dict[str, Any] = {"column": "amount", "function": "sum", "window": "7d", "name": "a"}
    kw[field] = value
    with pytest.raises(DefinitionError) as info:
        Aggregation(**kw)
    assert message in str(info.value)


def test_yaml_errors_name_the_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "fsctl.yaml").write_text("project: p\nregistry: data/registry.json\n")
    (tmp_path / "views.yaml").write_text(
        "kind: FeatureView\nname: v\nentities: [c]\nsource: s\n"
        "inputs: [{name: amount, dtype: float64}]\n"
        "aggregations:\n  - {column: amount, function: sum, window: 7d, name: a}\n"
        "  - {column: amount, function: avg, window: -1, name: b}\n"
    )
    from fsctl.errors import FsctlError

    with pytest.raises(FsctlError) as info:
        load_repo(tmp_path)
    text = str(info.value)
    assert "views.yaml" in text and "aggregations.1.window" in text and "must not be negative" in text


# --- plan ---------------------------------------------------------------------------------


def _world(view: FeatureView) -> dict[str, dict[str, dict[str, Any]]]:
    objects = [
        Entity(name="customer", join_keys=["customer_id"]).to_dict(),
        FileSource(name="orders", path="data/orders.parquet").to_dict(),
        view.to_dict(),
        FeatureService(name="svc", features=[{"view": "orders_agg", "features": ["amount_sum_7d"]}]).to_dict(),
        FeatureService(name="other", features=[{"view": "orders_agg", "features": ["orders_1d"]}]).to_dict(),
        Model(
            name="m", versions=[{"version": 1, "uri": "s3://m/1", "feature_service": "svc"}], aliases={"Production": 1}
        ).to_dict(),
    ]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in objects:
        out.setdefault(obj["kind"], {})[obj["name"]] = obj
    return out


def _changed(window: str = "7d", function: str = "sum", description: str = "") -> FeatureView:
    aggs = list(agg_view().aggregations)
    aggs[0] = Aggregation(column="amount", function=function, window=window, name="amount_sum_7d", description=description)
    return agg_view(aggregations=aggs)


def test_a_changed_window_is_breaking_and_blocked_by_what_reads_that_feature() -> None:
    plan = build_plan("p", "r", 1, _world(agg_view()), _world(_changed(window="8d")))
    (change,) = plan.changes
    (field,) = change.fields
    assert field.path == "aggregations.amount_sum_7d.window" and field.impact == BREAKING
    assert "window changed from 7d to 8d" in field.reason and "materialized again from scratch" in field.reason
    (blocked,) = plan.blocked
    assert list(blocked.dependents) == ["FeatureService svc", "Model m v1 (Production)"]  # not 'other'


def test_function_slide_and_metadata_changes() -> None:
    function = build_plan("p", "r", 1, _world(agg_view()), _world(_changed(function="avg")))
    assert [f.impact for f in function.changes[0].fields] == [BREAKING]
    slide = build_plan("p", "r", 1, _world(agg_view()), _world(agg_view(slide="1h")))
    assert [(f.path, f.impact) for f in slide.changes[0].fields] == [("slide", BREAKING)]
    described = build_plan("p", "r", 1, _world(agg_view()), _world(_changed(description="total")))
    assert {f.impact for f in described.changes[0].fields} == {METADATA}
    added = agg_view(aggregations=[*agg_view().aggregations, Aggregation(column="qty", function="min", window="1d", name="q")])
    more = build_plan("p", "r", 1, _world(agg_view()), _world(added))
    assert {f.impact for f in more.changes[0].fields} == {NON_BREAKING} and more.blocked == ()


def test_the_data_fingerprint_follows_the_aggregations() -> None:
    source = FileSource(name="orders", path="data/orders.parquet").to_dict()

    def fp(view: FeatureView, features: list[str] | None = None) -> str:
        return view_data_fingerprint(view.to_dict(), source, ["customer_id"], features)

    base = fp(agg_view())
    assert fp(agg_view()) == base
    assert fp(_changed(window="8d")) != base
    assert fp(agg_view(slide="1h")) != base
    assert fp(_changed(description="total")) == base
    # a service snapshot over other features is not changed by this one
    assert fp(_changed(window="8d"), ["orders_1d"]) == fp(agg_view(), ["orders_1d"])


def test_inputs_are_checked_against_the_source_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    pq.write_table(
        pa.table({"customer_id": [1], "event_timestamp": pa.array([0], pa.timestamp("us")), "amount": [1.5]}),
        tmp_path / "data/orders.parquet",
    )
    (tmp_path / "fsctl.yaml").write_text("project: p\nregistry: data/registry.json\n")
    (tmp_path / "defs.yaml").write_text(
        "kind: Entity\nname: customer\njoin_keys: [customer_id]\n---\n"
        "kind: FileSource\nname: orders\npath: data/orders.parquet\n---\n"
        "kind: FeatureView\nname: v\nentities: [customer]\nsource: orders\n"
        "inputs: [{name: amount, dtype: int64}, {name: qty, dtype: int64}]\n"
        "aggregations:\n  - {column: amount, function: sum, window: 7d, name: a}\n"
        "  - {column: qty, function: sum, window: 7d, name: q}\n"
    )
    from fsctl.errors import FsctlError

    with pytest.raises(FsctlError) as info:
        load_repo(tmp_path)
    text = str(info.value)
    assert "field 'inputs.amount.dtype': input column 'amount' is declared int64 but column 'amount'" in text
    assert "field 'inputs.qty': input column 'qty' needs column 'qty'" in text
