"""Value types of the definitions: durations, dtypes and names (fsctl.definitions.fields, fsctl.types)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsctl import types
from fsctl.definitions.fields import (
    SCALAR_DTYPES,
    check_column,
    check_dtype,
    check_feature_name,
    check_name,
    format_duration,
    parse_duration,
)

# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("7d", 604800),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1d2h3m4s", 93784),
        ("0", 0),
        ("0s", 0),
        ("3600", 3600),
        (" 2H ", 7200),
        (0, 0),
        (86400, 86400),
        (timedelta(days=2), 172800),
        (timedelta(0), 0),
    ],
)
def test_parse_duration_accepts_documented_forms(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "2x",
        "h",
        "-1",
        "1.5h",
        "2h-",
        "h2",
        "abc",
        -1,
        1.5,
        True,
        False,
        None,
        [],
        timedelta(seconds=-1),
        timedelta(milliseconds=500),
    ],
)
def test_parse_duration_rejects_everything_else(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(bad)
    message = str(info.value)
    assert "duration" in message


def test_parse_duration_error_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match=r"'90s'.*'15m'.*'2h'.*'7d'"):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "none"),
        (0, "0s"),
        (1, "1s"),
        (90, "1m30s"),
        (3600, "1h"),
        (86400, "1d"),
        (93784, "1d2h3m4s"),
        (604800, "7d"),
    ],
)
def test_format_duration(seconds: int | None, text: str) -> None:
    assert format_duration(seconds) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_format_then_parse_roundtrips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


# --- dtypes ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", SCALAR_DTYPES)
def test_every_scalar_dtype_and_its_list_is_valid(dtype: str) -> None:
    assert check_dtype(dtype) == dtype
    assert check_dtype(f"list<{dtype}>") == f"list<{dtype}>"


def test_scalar_dtypes_are_the_documented_ones() -> None:
    assert set(SCALAR_DTYPES) == {
        "int32",
        "int64",
        "float32",
        "float64",
        "string",
        "bool",
        "bytes",
        "timestamp",
    }


@pytest.mark.parametrize(
    ("given_", "canonical"), [(" int64 ", "int64"), ("list< float32 >", "list<float32>")]
)
def test_dtype_is_normalised(given_: str, canonical: str) -> None:
    assert check_dtype(given_) == canonical


@pytest.mark.parametrize(
    "bad", ["Int64", "decimal", "list<>", "list<list<int64>>", "list<decimal>", "list[int64]", "", 5, None]
)
def test_unknown_dtypes_are_rejected_with_the_valid_list(bad: object) -> None:
    with pytest.raises(ValueError, match="dtype"):
        check_dtype(bad)


def test_unknown_dtype_message_lists_valid_dtypes() -> None:
    with pytest.raises(ValueError) as info:
        check_dtype("decimal")
    for dtype in SCALAR_DTYPES:
        assert dtype in str(info.value)


def test_python_dtype_constants_are_the_yaml_strings() -> None:
    assert (types.Int32, types.Int64, types.Float32, types.Float64) == (
        "int32",
        "int64",
        "float32",
        "float64",
    )
    assert (types.String, types.Bool, types.Bytes, types.Timestamp) == (
        "string",
        "bool",
        "bytes",
        "timestamp",
    )
    assert types.Array(types.Int64) == "list<int64>"
    for name in types.__all__:
        value = getattr(types, name)
        assert check_dtype(value if isinstance(value, str) else value(types.Float32))


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["driver", "Driver1", "driver_hourly_stats", "a", "a" * 128, "v2_x"])
def test_valid_object_names(good: str) -> None:
    assert check_name(good) == good


@pytest.mark.parametrize(
    "bad", ["", "1driver", "_driver", "driver-stats", "driver stats", "a__b", "a" * 129, "café", 5, None]
)
def test_invalid_object_names(bad: object) -> None:
    with pytest.raises(ValueError):
        check_name(bad)


@pytest.mark.parametrize("good", ["driver_id", "_id", "ID", "a1", "event_timestamp", "a__b"])
def test_valid_column_names(good: str) -> None:
    assert check_column(good) == good


@pytest.mark.parametrize("bad", ["", "1a", "a-b", "a b", "a.b", 1])
def test_invalid_column_names(bad: object) -> None:
    with pytest.raises(ValueError):
        check_column(bad)


def test_feature_names_reserve_double_underscore() -> None:
    assert check_feature_name("conv_rate") == "conv_rate"
    with pytest.raises(ValueError, match="__"):
        check_feature_name("view__feature")
