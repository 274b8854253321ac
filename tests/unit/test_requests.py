"""The shared request rules: output naming and order (fsctl.offline.naming), the one
FeatureRequest (fsctl.services.features), and the one entity-input reader
(fsctl.offline.entity_input) for files and frames."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.errors import UsageError
from fsctl.offline.entity_input import EntityInput, entity_input
from fsctl.offline.naming import check_unique, output_name, output_names
from fsctl.services.features import FeatureRequest, require_one

# -- naming ------------------------------------------------------------------------------


def test_output_names_follow_request_order_and_the_full_names_rule() -> None:
    pairs = [("stats", "conv"), ("profile", "balance"), ("stats", "trips")]
    assert output_names(pairs, False, {}) == ["conv", "balance", "trips"]
    assert output_names(pairs, True, {}) == ["stats__conv", "profile__balance", "stats__trips"]
    assert output_name("v", "f", True) == "v__f"


def test_a_name_used_twice_names_both_users_and_the_way_out() -> None:
    with pytest.raises(UsageError) as caught:
        output_names([("a", "x"), ("b", "x")], False, {})
    assert "output name 'x' is used twice: by feature 'b:x' and by feature 'a:x'" in caught.value.message
    assert "full feature names" in (caught.value.hint or "")
    with pytest.raises(UsageError) as caught:
        output_names([("a", "driver_id")], False, {"driver_id": "join key 'driver_id'"})
    assert "by join key 'driver_id'" in caught.value.message
    assert "rename" not in (caught.value.hint or "")
    with pytest.raises(UsageError) as caught:
        check_unique([("a", "label", "label")], {"label": "entity column 'label'"}, "rename the entity column")
    assert caught.value.hint == "use full feature names (view__feature), or rename the entity column"
    output_names([("a", "x"), ("b", "x")], True, {"x": "entity column 'x'"})  # full names: no clash


# -- FeatureRequest ----------------------------------------------------------------------


def test_a_request_names_its_features_exactly_one_way() -> None:
    assert FeatureRequest.of("a:x, b:y").features == ("a:x", "b:y")
    assert FeatureRequest.of(["a:x"], full_feature_names=True) == FeatureRequest(("a:x",), None, None, True)
    assert FeatureRequest.of(service="svc").service == "svc"
    with pytest.raises(UsageError, match=r"one way: give exactly one of features \| service \| model$"):
        FeatureRequest.of()
    with pytest.raises(UsageError, match=r"\(got --features, --model\)"):
        FeatureRequest.of("a:x", None, "m@Prod", labels=("--features", "--service", "--model"))
    with pytest.raises(UsageError, match="feature_service"):
        FeatureRequest.of(None, "s", "m@P", labels=("features", "feature_service", "model"))


def test_requests_are_hashable_cache_keys() -> None:
    assert {FeatureRequest.of("a:x"): 1}[FeatureRequest.of(["a:x"])] == 1


def test_require_one() -> None:
    require_one([("--entity", ["k=1"]), ("--entities", None)])
    with pytest.raises(UsageError, match=r"^give exactly one of --entity \| --entities$"):
        require_one([("--entity", None), ("--entities", None)])


# -- entity input ------------------------------------------------------------------------

ROWS = {"driver_id": [1, 2], "event_timestamp": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl", ".ndjson", ".json"])
def test_every_file_format_reads_the_same_columns(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rows{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.table(ROWS), path)
    elif suffix == ".csv":
        path.write_text("driver_id,event_timestamp\n1,2026-01-01T00:00:00Z\n2,2026-01-02T00:00:00Z\n")
    else:
        path.write_text("".join(json.dumps({k: v[i] for k, v in ROWS.items()}) + "\n" for i in range(2)))
    source = entity_input(path)
    assert source.path == path and source.label == str(path)
    assert source.columns(["driver_id"]) == {"driver_id": [1, 2]}


@pytest.mark.parametrize(
    "frame",
    [pa.table(ROWS), pd.DataFrame(ROWS), pl.DataFrame(ROWS), pa.table(ROWS).to_reader()],
    ids=["arrow", "pandas", "polars", "batch-reader"],
)
def test_every_frame_reads_the_same_columns(frame: object) -> None:
    source = entity_input(frame)
    assert source.path is None and source.label.startswith("the entity ")
    assert source.columns(["driver_id"]) == {"driver_id": [1, 2]}


def test_bad_entity_inputs_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown extension '\.xlsx'") as caught:
        entity_input(tmp_path / "rows.xlsx")
    assert ".jsonl" in (caught.value.hint or "")
    with pytest.raises(UsageError, match="does not exist"):
        entity_input(tmp_path / "nope.csv")
    with pytest.raises(UsageError, match="got dict"):
        entity_input({"driver_id": [1]})
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(UsageError, match="JSON lines expected"):
        entity_input(bad).columns(["driver_id"])
    with pytest.raises(UsageError, match=r"has no column 'customer_id' \(columns: driver_id, event_timestamp\)"):
        entity_input(pa.table(ROWS)).columns(["customer_id"])
    missing = UsageError("custom")
    with pytest.raises(UsageError, match="custom"):
        EntityInput("x", frame=pa.table(ROWS)).columns(["customer_id"], missing=lambda key: missing)
