"""Python values to the stored form of :mod:`fsctl.online.format`, and back.

``encode_values`` / ``decode_values`` turn a ``{feature: value}`` dict into the stored JSON
text and back, following the per-dtype rules of ``fsctl.online.format.VALUE_RULES``
(timestamps decode to aware UTC ``datetime``s, bytes to ``bytes``); NaN and infinities
roundtrip. Names the view no longer has are ignored; features missing from stored data are
absent from the decoded dict. ``stored_records`` encodes whole records for
``OnlineStore.write``; ``encode_key`` is the format's key rule.

Decoders are built once per view and cached, because a single-key online read must stay
at a few microseconds of Python work.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fsctl.errors import StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.format import BASE64, EPOCH_MICROS, StoredRecord, encode_key, value_rule

__all__ = [
    "ViewCodec",
    "codec_for",
    "decode_values",
    "encode_key",
    "encode_values",
    "micros_to_datetime",
    "stored_records",
    "timestamp_to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

Converter = Callable[[Any], Any]


# -- values ----------------------------------------------------------------------------


def timestamp_to_micros(value: Any) -> int:
    """Microseconds since the epoch, UTC, of a datetime (naive = UTC), an ISO string or an int."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int((value - _EPOCH) // _US)
    if isinstance(value, bool):
        raise TypeError(f"a timestamp cannot be a bool ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return timestamp_to_micros(datetime.fromisoformat(value.replace("Z", "+00:00")))
    if isinstance(value, date):
        return timestamp_to_micros(datetime(value.year, value.month, value.day))
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return timestamp_to_micros(item())
    raise TypeError(f"cannot store {type(value).__name__} {value!r} as a timestamp")


def micros_to_datetime(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _encode_bytes(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _decode_bytes(value: str) -> bytes:
    return base64.b64decode(value)


def _each(convert: Converter) -> Converter:
    def convert_list(values: Any) -> Any:
        return [None if v is None else convert(v) for v in values]

    return convert_list


# One Python function per rule of fsctl.online.format.VALUE_RULES, each way.
_ENCODERS: dict[str, Converter] = {EPOCH_MICROS: timestamp_to_micros, BASE64: _encode_bytes}
_DECODERS: dict[str, Converter] = {EPOCH_MICROS: micros_to_datetime, BASE64: _decode_bytes}


def _converter(dtype: str, table: dict[str, Converter]) -> Converter | None:
    rule, is_list = value_rule(dtype)
    convert = table.get(rule) if rule else None
    if convert is None:
        return None
    return _each(convert) if is_list else convert


def _json_default(value: Any) -> Any:
    """Values json cannot write as they are: numpy scalars and arrays, tuples of bytes, ..."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not a supported feature value type ({value!r})")


# Built once: json.dumps/json.loads would set up an encoder or check for whitespace per call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default).encode
# The stored text is our own: one JSON object with no padding, so the scanner alone reads it.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class ViewCodec:
    """The precomputed encoder and decoder of one view's feature values."""

    __slots__ = ("decoders", "dtypes", "encoders", "name_set", "names", "view")

    def __init__(self, view: OnlineView) -> None:
        self.view = view.name
        self.dtypes = dict(view.features)
        self.names = view.feature_names
        self.name_set = frozenset(self.names)
        self.encoders = {
            name: conv for name, dtype in view.features if (conv := _converter(dtype, _ENCODERS))
        }
        self.decoders = tuple(
            (name, conv) for name, dtype in view.features if (conv := _converter(dtype, _DECODERS))
        )

    def encode(self, values: dict[str, Any]) -> str:
        out: dict[str, Any] = {}
        encoders = self.encoders
        name = ""
        try:
            for name in self.names:
                if name not in values:
                    continue
                value = values[name]
                if value is not None:
                    conv = encoders.get(name)
                    if conv is not None:
                        value = conv(value)
                out[name] = value
            name = ""
            return _ENCODE(out)
        except (TypeError, ValueError) as exc:
            where = f"feature '{name}' ({self.dtypes[name]})" if name else "a feature value"
            raise StoreError(
                f"view '{self.view}': cannot store {where}: {exc}",
                hint="make the source column match the dtype in the view's schema",
            ) from None

    def decode(self, text: str | bytes) -> dict[str, Any]:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8")
        try:
            values: dict[str, Any] = _SCAN(text, 0)[0]
        except StopIteration:
            raise ValueError(f"stored feature values are not JSON: {text[:80]!r}") from None
        if values.keys() != self.name_set:
            values = {k: v for k, v in values.items() if k in self.name_set}
        for name, conv in self.decoders:
            value = values.get(name)
            if value is not None:
                values[name] = conv(value)
        return values


_CODECS: dict[OnlineView, ViewCodec] = {}


def codec_for(view: OnlineView) -> ViewCodec:
    """The cached codec of ``view`` (stores call this once per read or write)."""
    codec = _CODECS.get(view)
    if codec is None:
        if len(_CODECS) > 4096:  # views change rarely; bound the cache anyway
            _CODECS.clear()
        codec = _CODECS[view] = ViewCodec(view)
    return codec


def encode_values(view: OnlineView, values: dict[str, Any]) -> str:
    """The compact JSON text stored for ``values`` (feature name -> value) of ``view``."""
    return codec_for(view).encode(values)


def decode_values(view: OnlineView, text: str | bytes) -> dict[str, Any]:
    """The feature values stored as ``text``, typed per ``view``'s dtypes."""
    return codec_for(view).decode(text)


def stored_records(view: OnlineView, records: Sequence[OnlineRecord]) -> list[StoredRecord]:
    """``records`` (Python values) in the stored form, for ``OnlineStore.write``."""
    encode = codec_for(view).encode
    return [(encode_key(r.key), r.event_ts, r.created_ts, encode(r.values)) for r in records]
