"""Pushed rows, checked: columns (``{name: [value per row]}``, as Feast's ``df``) -> the
online records of one feature view, or one :class:`~fsctl.errors.UsageError` naming the
column, the view, the row and what was wrong.

A view's rows need every join key, every feature (a write replaces the whole record: a
feature left out would read as missing) and the event time, in the source's
``timestamp_field`` or in ``event_timestamp`` (what Feast clients send); the created time,
in the source's ``created_timestamp_field`` or ``created``, is optional and breaks ties
between equal event times. ``event_timestamp`` and ``created`` are never read as times in a
view that has a feature of that name. Values must have the view's dtypes: integers (in range) for
``int32`` / ``int64``, numbers for ``float32`` / ``float64``, strings, booleans, base64
strings (or bytes) for ``bytes``, ISO-8601 strings, datetimes or epoch seconds for
``timestamp`` (and for the event and created times; naive times are UTC), lists of those for ``list<T>``; null is a
null value. Join keys must be of the dtypes plan recorded for them (``key_dtypes``: "1001" is
converted for an int64 key, "abc" refused), or strings or integers when none is recorded. Of several rows with one key the latest
(event time, then created time) is written, as materialize does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fsctl.errors import UsageError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.format import encode_key
from fsctl.online.rules import keeps_stored
from fsctl.results.online import json_type
from fsctl.services.entity_keys import agreed_dtype, convert_key

EVENT_COLUMN = "event_timestamp"  # what Feast's clients name the event time
CREATED_COLUMN = "created"  # and the created time
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INT_RANGE = {"int32": 2**31, "int64": 2**63}


@dataclass(frozen=True)
class PushTarget:
    """One online view a push writes to, with the names of its time columns."""

    view: OnlineView
    timestamp_field: str
    created_field: str | None
    key_dtypes: dict[str, str] = field(default_factory=dict)  # join key -> dtype, as recorded by plan

    def _fallback(self, name: str) -> tuple[str, ...]:
        """Feast's name for a time column, unless the view has a feature of that name."""
        return () if name in self.view.feature_names else (name,)

    def event_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.timestamp_field, *self._fallback(EVENT_COLUMN))))

    def created_columns(self) -> tuple[str, ...]:
        named = (self.created_field,) if self.created_field else ()
        return tuple(dict.fromkeys((*named, *self._fallback(CREATED_COLUMN))))

    def columns(self) -> set[str]:
        """Every column this view reads."""
        return {*self.view.join_keys, *self.view.feature_names, *self.event_columns(), *self.created_columns()}


@dataclass(frozen=True)
class ViewRows:
    """The records of one view out of the pushed rows: at most one per key, the latest."""

    target: PushTarget
    records: list[OnlineRecord]
    rows: int
    newest_event: datetime | None


class _Bad(ValueError):
    """A value that is not what its column needs (the message says what it is)."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_datetime(value: Any) -> datetime:
    """An ISO-8601 string or a datetime (naive = UTC), or epoch seconds, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise _Bad(f"{_shown(value)} is not an ISO-8601 time") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _EPOCH + timedelta(seconds=value)
        except (OverflowError, ValueError):
            raise _Bad(f"{_shown(value)} is not a time (seconds since the epoch) in range") from None
    raise _Bad(f"a time must be an ISO-8601 string or seconds since the epoch, not {json_type(value)}")


def _integer(dtype: str) -> Callable[[Any], Any]:
    bound = _INT_RANGE[dtype]

    def check(value: Any) -> Any:
        if type(value) is not int:
            raise _Bad(f"must be an integer, not {json_type(value)} ({_shown(value)})")
        if not -bound <= value < bound:
            raise _Bad(f"{value} is out of the range of {dtype}")
        return value

    return check


def _float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"must be a number, not {json_type(value)} ({_shown(value)})")
    return float(value)  # NaN and infinities are stored as they are (reads show them as null in JSON)


def _string(value: Any) -> Any:
    if not isinstance(value, str):
        raise _Bad(f"must be a string, not {json_type(value)} ({_shown(value)})")
    return value


def _bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, not {json_type(value)} ({_shown(value)})")
    return value


def _bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise _Bad(f"bytes must be a base64 string, not {json_type(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"{_shown(value)} is not base64") from None


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "int32": _integer("int32"),
    "int64": _integer("int64"),
    "float32": _float,
    "float64": _float,
    "string": _string,
    "bool": _bool,
    "bytes": _bytes,
    "timestamp": to_datetime,
}


def converter(dtype: str) -> Callable[[Any], Any]:
    """The check and conversion of one value of ``dtype`` (null passes as null)."""
    text = dtype.replace(" ", "")
    if text.startswith("list<") and text.endswith(">"):
        inner = _SCALARS[text[5:-1]]

        def each(values: Any) -> Any:
            if not isinstance(values, list):
                raise _Bad(f"must be an array, not {json_type(values)}")
            return [None if v is None else inner(v) for v in values]

        return each
    return _SCALARS[text]


def key_dtypes(view: Mapping[str, Any]) -> dict[str, str]:
    """The join-key dtypes a view's registry document records (``key_dtypes``, read from its
    source by plan) that key values are checked against."""
    recorded: dict[str, str] = view.get("key_dtypes") or {}
    return {key: dtype for key, dtype in recorded.items() if agreed_dtype({dtype})}


def _key_part(value: Any, dtype: str | None) -> Any:
    if dtype is not None and value is not None:
        typed, why = convert_key(dtype, value)
        if why is not None:
            raise _Bad(f"the join key is {dtype}, and {_shown(value)} is {why}")
        return typed
    if type(value) is str or type(value) is int:
        return value
    raise _Bad(f"a join key must be a string or an integer, not {json_type(value)} ({_shown(value)})")


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def check_columns(columns: Mapping[str, Sequence[Any]], targets: Sequence[PushTarget], what: str) -> int:
    """The number of rows; UsageError for columns of unequal length, a column no target
    reads, or a column a target needs that is not there. ``what`` names the push in
    messages (``push source 'x'``)."""
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise UsageError(f"{what}: df columns have different lengths: {shown}", hint="give one value per row in every column")
    known = set().union(*(t.columns() for t in targets))
    unknown = [name for name in columns if name not in known]
    views = ", ".join(f"'{t.view.name}'" for t in targets)
    if unknown:
        raise UsageError(
            f"{what}: df column '{unknown[0]}' is not a join key, feature or timestamp of feature view {views}",
            hint=f"the columns are {', '.join(sorted(known))}",
        )
    for target in targets:
        view = target.view.name
        for key in target.view.join_keys:
            if key not in columns:
                raise UsageError(f"{what}: df has no column '{key}' (join key of feature view '{view}')")
        for feature, dtype in target.view.features:
            if feature not in columns:
                raise UsageError(
                    f"{what}: df has no column '{feature}' ({dtype} feature of feature view '{view}')",
                    hint="a push writes whole records: give every feature of the view (null for no value)",
                )
        if not any(c in columns for c in target.event_columns()):
            names = " or ".join(f"'{c}'" for c in target.event_columns())
            raise UsageError(f"{what}: df has no event time column {names} (feature view '{view}')")
    return next(iter(lengths.values()), 0)


def view_rows(target: PushTarget, columns: Mapping[str, Sequence[Any]], rows: int, what: str) -> ViewRows:
    """The latest record per key of ``target``'s view out of checked ``columns``."""
    view = target.view.name
    column = ""
    row = 0

    def bad(problem: str) -> UsageError:
        return UsageError(f"{what}: df column '{column}' (feature view '{view}'), row {row + 1}: {problem}")

    event_column = next(c for c in target.event_columns() if c in columns)
    created_column = next((c for c in target.created_columns() if c in columns), None)
    best: dict[str, OnlineRecord] = {}  # by the stored key: 1001 and "1001" are one key
    newest: int | None = None
    converters = [(name, converter(dtype), columns[name]) for name, dtype in target.view.features]
    key_columns = [(name, target.key_dtypes.get(name), columns[name]) for name in target.view.join_keys]
    try:
        for row in range(rows):
            column = event_column
            event = columns[event_column][row]
            if event is None:
                raise _Bad("the event time must not be null")
            event_us = _micros(to_datetime(event))
            created_us = None
            if created_column is not None:
                column = created_column
                created = columns[created_column][row]
                created_us = None if created is None else _micros(to_datetime(created))
            key = []
            for column, key_dtype, values in key_columns:  # noqa: B007 (column names the error)
                key.append(_key_part(values[row], key_dtype))
            record_values = {}
            for column, convert, values in converters:
                value = values[row]
                record_values[column] = None if value is None else convert(value)
            record = OnlineRecord(tuple(key), event_us, created_us, record_values)
            stored_key = encode_key(record.key)
            held = best.get(stored_key)
            if held is None or not keeps_stored(event_us, created_us, held.event_ts, held.created_ts):
                best[stored_key] = record
            newest = event_us if newest is None else max(newest, event_us)
    except _Bad as exc:
        raise bad(str(exc)) from None
    newest_time = None if newest is None else _EPOCH + timedelta(microseconds=newest)
    return ViewRows(target, list(best.values()), rows, newest_time)
