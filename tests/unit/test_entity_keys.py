"""Join-key dtypes (issue 11, item 4): what plan reads from a source, how a read checks and
converts key values against them, and how the planner classifies a changed key dtype."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from fsctl.diff.compare import classify
from fsctl.diff.plan import BREAKING, NON_BREAKING
from fsctl.errors import UsageError
from fsctl.loader.key_types import csv_key_dtypes, dtype_of_key_column
from fsctl.offline.schema import ColumnType
from fsctl.services.entity_keys import agreed_dtype, typed_column, typed_keys

UTC = timezone.utc


# -- converting and refusing key values ------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "given", "expected"),
    [
        ("int64", [1001, 1002], [1001, 1002]),
        ("int64", ["1001", " 1002 ", "+7", "-3"], [1001, 1002, 7, -3]),
        ("int64", [1001.0, None], [1001, None]),  # pandas makes floats of an int column with nulls
        ("int32", ["2147483647"], [2147483647]),
        ("string", ["a", 1001], ["a", "1001"]),  # the store names 1001 and "1001" alike
        ("bool", [True, "false", " TRUE "], [True, False, True]),
        ("timestamp", ["2026-01-01T00:00:00Z", "2026-01-01"], [datetime(2026, 1, 1, tzinfo=UTC)] * 2),
    ],
)
def test_values_of_the_keys_dtype_written_another_way_are_converted(dtype: str, given: list, expected: list) -> None:
    assert typed_column("k", dtype, given) == expected


def test_a_column_already_of_the_dtype_is_returned_as_it_is() -> None:
    values = [1, 2, 3]
    assert typed_column("k", "int64", values) is values


@pytest.mark.parametrize(
    ("dtype", "values", "shown"),
    [
        ("int64", ["abc"], "join key 'driver_id' is int64, and 'abc' is not an integer"),
        ("int64", ["1e3"], "'1e3' is not an integer"),
        ("int64", ["١٢"], "is not an integer"),  # Arabic-Indic digits: str.isdigit, but no key
        ("int64", [True], "True (bool) is not an integer"),
        ("int64", [1.5], "1.5 (float) is not an integer"),
        ("int64", [[1]], "[1] (list) is not an integer"),
        ("int32", [2**31], "2147483648 (int) is outside the range of int32"),
        ("int64", ["9" * 30], "is outside the range of int64"),
        ("string", [1.5], "1.5 (float) is not a string"),
        ("string", [{"a": 1}], "is not a string"),
        ("bool", ["yes"], "'yes' is not true or false"),
        ("bool", [1], "1 (int) is not true or false"),
        ("timestamp", ["yesterday"], "'yesterday' is not an ISO 8601 time"),
    ],
)
def test_a_value_that_cannot_be_of_the_dtype_is_an_error(dtype: str, values: list, shown: str) -> None:
    with pytest.raises(UsageError) as caught:
        typed_column("driver_id", dtype, values)
    assert shown in caught.value.message
    assert "give driver_id as" in (caught.value.hint or "")


def test_the_error_names_the_entity_row_of_a_batch() -> None:
    with pytest.raises(UsageError, match=r"entity row 3: join key 'k' is int64, and 'x' is not an integer"):
        typed_column("k", "int64", [1, "2", "x"])


def test_only_keys_with_a_dtype_are_checked() -> None:
    entity = {"a": ["1"], "b": ["anything"]}
    assert typed_keys(entity, {"a": "int64"}) == {"a": [1], "b": ["anything"]}


@pytest.mark.parametrize(
    ("recorded", "checked"),
    [
        ({"int64"}, "int64"),
        ({"int32", "int64"}, "int64"),  # integers of any width are one family
        ({"int64", "string"}, None),  # views disagree: not checked
        ({"int64", None}, None),  # a view has none recorded: not checked
        ({"bytes"}, None),
        (set(), None),
    ],
)
def test_the_dtype_a_key_is_checked_against(recorded: set, checked: str | None) -> None:
    assert agreed_dtype(recorded) == checked


# -- reading key dtypes from sources ---------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "dtype"),
    [
        (ColumnType("integer", 64), "int64"),
        (ColumnType("integer", 32), "int32"),
        (ColumnType("integer", 32, unsigned=True), "int64"),
        (ColumnType("integer", 64, unsigned=True), None),  # ids from 2**63 up are valid keys
        (ColumnType("date"), None),  # stored as 2024-01-01, which no timestamp key matches
        (ColumnType("string"), "string"),
        (ColumnType("bool"), "bool"),
        (ColumnType("timestamp"), "timestamp"),
        (ColumnType("float", 64), None),
        (None, None),
    ],
)
def test_key_dtype_of_a_parquet_column(column: ColumnType | None, dtype: str | None) -> None:
    assert dtype_of_key_column(column) == dtype


def test_key_dtypes_of_a_csv_source_from_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,code,flag,mixed,empty\n1,a1,true,1\n-2,b2,False,x\n,c3,,3\n", encoding="utf-8")
    found = csv_key_dtypes(path, ["id", "code", "flag", "mixed", "empty", "absent"])
    assert found == {"id": "int64", "code": "string", "flag": "bool", "mixed": "string", "empty": "string"}


def date_and_uint64_keyed_repo() -> dict[str, str | bytes]:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "day": pa.array([date(2024, 1, 1), date(2024, 1, 2)], pa.date32()),
            "big": pa.array([2**63 + 5, 7], pa.uint64()),
            "ts": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "x": pa.array([1, 2], pa.int64()),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    defs = "---\n".join(
        [
            "kind: Entity\nname: day\njoin_keys: [day]\n",
            "kind: Entity\nname: account\njoin_keys: [big]\n",
            "kind: FileSource\nname: src\npath: data/src.parquet\ntimestamp_field: ts\n",
            "kind: FeatureView\nname: by_day\nentities: [day]\nsource: src\nschema:\n  - {name: x, dtype: int64}\n",
            "kind: FeatureView\nname: by_big\nentities: [account]\nsource: src\nschema:\n  - {name: x, dtype: int64}\n",
        ]
    )
    config = "project: keys\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
    return {"fsctl.yaml": config, "defs.yaml": defs, "data/src.parquet": out.getvalue()}


def test_date_and_uint64_keys_materialized_are_found_by_reads_and_pushes(
    make_repo: Callable[..., Path],
) -> None:
    from fsctl import FeatureStore

    with FeatureStore(make_repo(date_and_uint64_keyed_repo())) as store:
        store.apply()
        store.materialize(datetime(2023, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
        for day in ("2024-01-01", date(2024, 1, 1)):
            assert store.get_online_features(["by_day:x"], entity_rows={"day": [day]}).to_dict()["x"] == [1]
        by_big = store.get_online_features(["by_big:x"], entity_rows={"big": [2**63 + 5, 7]})
        assert by_big.to_dict()["x"] == [1, 2]
        pushed = {"big": [2**64 - 1], "x": [3], "event_timestamp": ["2024-01-02T00:00:00Z"]}
        assert store.write_to_online_store("by_big", pushed).views[0].keys_written == 1
        assert store.get_online_features(["by_big:x"], entity_rows={"big": [2**64 - 1]}).to_dict()["x"] == [3]


def test_a_csv_source_is_sampled_once_for_all_its_views(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsctl.loader import key_types, load_repo

    defs = "---\n".join(
        [
            "kind: Entity\nname: driver\njoin_keys: [driver_id]\n",
            "kind: Entity\nname: rider\njoin_keys: [rider_id]\n",
            "kind: FileSource\nname: trips\npath: data/trips.csv\nformat: csv\n",
            "kind: FeatureView\nname: a\nentities: [driver]\nsource: trips\nschema:\n  - {name: x, dtype: int64}\n",
            "kind: FeatureView\nname: b\nentities: [rider]\nsource: trips\nschema:\n  - {name: x, dtype: int64}\n",
            "kind: FeatureView\nname: c\nentities: [driver, rider]\nsource: trips\nschema:\n  - {name: x, dtype: int64}\n",
        ]
    )
    csv = "driver_id,rider_id,event_timestamp,x\n1,r1,2026-01-01T00:00:00Z,1\n"
    root = make_repo({"fsctl.yaml": "project: p\n", "defs.yaml": defs, "data/trips.csv": csv})
    calls = []
    sample = key_types.csv_key_dtypes
    monkeypatch.setattr(key_types, "csv_key_dtypes", lambda path, cols: calls.append(cols) or sample(path, cols))
    assert load_repo(root).key_dtypes == {
        "a": {"driver_id": "int64"},
        "b": {"rider_id": "string"},
        "c": {"driver_id": "int64", "rider_id": "string"},
    }
    assert calls == [["driver_id", "rider_id"]]


# -- the planner -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "before", "after", "impact"),
    [
        ("key_dtypes", None, {"driver_id": "int64"}, NON_BREAKING),  # recorded on the first apply after an upgrade
        ("key_dtypes.driver_id", None, "int64", NON_BREAKING),
        ("key_dtypes.driver_id", "int32", "int64", NON_BREAKING),
        ("key_dtypes.driver_id", "int64", "string", BREAKING),
        ("key_dtypes.driver_id", "string", "int64", BREAKING),
    ],
)
def test_a_changed_key_dtype_is_classified(path: str, before: object, after: object, impact: str) -> None:
    got, reason = classify("FeatureView", path, before, after)
    assert got == impact, reason
    assert "join key" in reason
