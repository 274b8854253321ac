"""Entity key values of a read, checked against the join keys' dtypes.

A view's registry document records the dtype of each join key as its source has it
(``key_dtypes``, see :mod:`fsctl.loader.key_types`). A key value that cannot be of that
dtype — ``driver_id=abc`` for an int64 key, ``["abc"]`` sent to the server — can never match
a stored record; answering "missing" would hide the mistake, so it is an error naming the
key, its dtype and the value. A value that *is* one of the dtype's values written another
way is converted, as Feast does: the string ``"1001"`` (or ``" 1001"``, or the float
``1001.0`` that pandas makes of an integer column with nulls) for an integer key, an integer
for a string key (the store names ``1001`` and ``"1001"`` alike), ``"true"`` for a bool, an
ISO 8601 string for a timestamp. A null is left as it is (no record has a null key, so it
reads as missing).

The common case, a column whose values all have the right type already, costs one pass of
``type(v) is int`` over it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

from fsctl.errors import UsageError

_INTEGERS = ("int32", "int64")
_RANGE = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_EXAMPLE = {"int32": "1001", "int64": "1001", "string": "'abc'", "bool": "true", "timestamp": "2026-01-01T00:00:00Z"}


def agreed_dtype(dtypes: set[str | None]) -> str | None:
    """The dtype a key is checked against, given the dtypes its views recorded for it: the
    one they agree on (integers of any width agree as int64); None — not checked — when a
    view recorded none, they disagree, or reads do not check that dtype (bytes)."""
    if None in dtypes or not dtypes:
        return None
    if len(dtypes) > 1:
        return "int64" if dtypes <= set(_INTEGERS) else None
    dtype = next(iter(dtypes))
    return dtype if dtype in _CONVERT_NAMES else None


_CONVERT_NAMES = ("int32", "int64", "string", "bool", "timestamp")


def _integer(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit():
            return int(text)
        return None
    if kind is float:
        return int(value) if value.is_integer() else None
    if kind is bool:
        return None
    if isinstance(value, int):
        return int(value)
    item = getattr(value, "item", None)  # numpy scalars
    return _integer(item()) if callable(item) else None


def _string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    item = getattr(value, "item", None)
    return _string(item()) if callable(item) else None


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    item = getattr(value, "item", None)
    return _bool(item()) if callable(item) and not isinstance(value, (str, int)) else None


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    return None


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "int32": _integer,
    "int64": _integer,
    "string": _string,
    "bool": _bool,
    "timestamp": _timestamp,
}
_WHAT = {"int32": "an integer", "int64": "an integer", "string": "a string", "bool": "true or false",
         "timestamp": "an ISO 8601 time"}  # fmt: skip


def _already(dtype: str, values: list[Any]) -> bool:
    """Whether every value already has the dtype (the common case: one cheap pass)."""
    if dtype == "string":
        for v in values:
            if type(v) is not str:
                return False
        return True
    bounds = _RANGE.get(dtype)
    if bounds is None:
        return False
    low, high = bounds
    for v in values:
        if type(v) is not int or not low <= v <= high:
            return False
    return True


def convert_key(dtype: str, value: Any) -> tuple[Any, str | None]:
    """``(value as dtype, None)``, or ``(None, why not)`` for a non-null value that cannot
    be one (a dtype reads do not check is taken as it is)."""
    convert = _CONVERT.get(dtype)
    if convert is None:
        return value, None
    typed = convert(value)
    if typed is None:
        return None, f"not {_WHAT[dtype]}"
    if dtype in _RANGE and not _RANGE[dtype][0] <= typed <= _RANGE[dtype][1]:
        return None, f"outside the range of {dtype}"
    return typed, None


def typed_column(key: str, dtype: str, values: list[Any]) -> list[Any]:
    """``values`` of join key ``key`` as ``dtype`` values; a UsageError for the first that
    cannot be one."""
    if _already(dtype, values):
        return values
    out: list[Any] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        typed, why = convert_key(dtype, value)
        if why is not None:
            row = f"entity row {i + 1}: " if len(values) > 1 else ""
            shown = repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"
            raise UsageError(
                f"{row}join key '{key}' is {dtype}, and {shown} is {why}",
                hint=f"give {key} as {_WHAT[dtype]}, e.g. {key}={_EXAMPLE[dtype]} "
                "(the key's dtype is its source column's, recorded by `fsctl apply`)",
            )
        out.append(typed)
    return out


def typed_keys(entity: dict[str, list[Any]], dtypes: dict[str, str]) -> dict[str, list[Any]]:
    """The entity key columns with each checked and converted to its key's dtype (``entity``
    itself when every value already has its dtype)."""
    out = entity
    for key, dtype in dtypes.items():
        values = entity.get(key)
        if values is None or _already(dtype, values):
            continue
        if out is entity:
            out = dict(entity)
        out[key] = typed_column(key, dtype, values)
    return out
