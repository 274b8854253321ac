"""The values definitions are made of, as plain functions with no pydantic: names, durations,
dtypes, and the order of the kinds. The loader, the planner and the data path use these
directly; :mod:`fsctl.definitions.fields` wraps them as pydantic field types.

Durations are stored as whole seconds; they are written as ``90s``, ``15m``,
``2h``, ``7d``, ``1w`` (or combinations such as ``1h30m``), as an integer
number of seconds, or in Python as a ``datetime.timedelta``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

KIND_ORDER = ("Entity", "FileSource", "SqlSource", "FeatureView", "FeatureService", "Model")

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

SCALAR_DTYPES = ("int32", "int64", "float32", "float64", "string", "bool", "bytes", "timestamp")
_LIST_RE = re.compile(r"^list<\s*([a-z0-9]+)\s*>$")
_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def check_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    if not NAME_RE.match(value) or "__" in value:
        raise ValueError(
            f"invalid name {value!r}: use letters, digits and single underscores, "
            "starting with a letter (at most 128 characters)"
        )
    return value


def check_column(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    if not COLUMN_RE.match(value):
        raise ValueError(
            f"invalid column name {value!r}: use letters, digits and underscores, not starting with a digit"
        )
    return value


def check_feature_name(value: Any) -> str:
    value = check_column(value)
    if "__" in value:
        raise ValueError(
            f"invalid feature name {value!r}: '__' is reserved for full feature names (view__feature)"
        )
    return str(value)


def parse_duration(value: Any) -> int:
    """Return a duration in whole seconds, or raise ``ValueError`` saying what is accepted."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a string like '2h' or a number of seconds, not a boolean")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds < 0 or seconds != int(seconds):
            raise ValueError(f"duration {value} must be a non-negative whole number of seconds")
        return int(seconds)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration {value} must not be negative")
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        pos, total = 0, 0
        for match in _DURATION_RE.finditer(text):
            if match.start() != pos:
                break
            total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos == len(text) and text:
            return total
    raise ValueError(
        f"invalid duration {value!r}: write a number with a unit s, m, h, d or w "
        "(e.g. '90s', '15m', '2h', '7d') or a whole number of seconds"
    )


def format_duration(seconds: int | None, units: int | None = None) -> str:
    """``seconds`` as ``1d2h3m4s``; with ``units``, rounded down to that many units from the
    largest one present (``units=2``: ``1d2h``, ``1d`` for 1d0h5m), for ages, where the
    seconds are noise."""
    if seconds is None:
        return "none"
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    used = 0
    for unit in ("d", "h", "m", "s"):
        if units is not None and used >= units:
            break
        size = _UNIT_SECONDS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if parts:
            used += 1
    return "".join(parts) or "0s"


def check_dtype(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"dtype must be a string, got {type(value).__name__}")
    text = value.strip()
    if text in SCALAR_DTYPES:
        return text
    match = _LIST_RE.match(text)
    if match and match.group(1) in SCALAR_DTYPES:
        return f"list<{match.group(1)}>"
    raise ValueError(f"unknown dtype {value!r}: use one of {', '.join(SCALAR_DTYPES)} or list<T> of those")
