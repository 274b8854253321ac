"""Join-key dtypes (issue 11, item 4): what plan reads from a source, how a read checks and
converts key values against them, and how the planner classifies a changed key dtype."""

from __future__ import annotations

from datetime import datetime, timezone
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
