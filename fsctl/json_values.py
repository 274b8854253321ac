"""Times in ISO 8601 both ways, and values as JSON can carry them, shared by every layer that writes JSON (the online
read's answers, the prediction log, check examples): bytes base64, datetimes ISO 8601 in
UTC with a ``Z``, NaN and infinities null, tuples lists, numpy scalars and arrays as Python
values. Imports nothing of fsctl, so adapters and results alike can use it."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any


def iso_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (microseconds only when there are any)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso_time(text: str) -> datetime:
    """ISO 8601 (``Z`` or an offset; without one, UTC) as an aware datetime; ValueError if
    it is not one."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it: bytes base64, datetimes ISO 8601, NaN and infinities
    null, tuples lists, numpy scalars and arrays as Python values."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return [json_safe(v) for v in value]
    if kind is dict or isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (str, bool, int)):  # subclasses (enums and the like)
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist())
    isoformat = getattr(value, "isoformat", None)  # dates, times
    if callable(isoformat):
        return isoformat()
    return str(value)
