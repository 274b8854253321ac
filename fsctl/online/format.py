"""The stored form of an online record: the one definition every online store keeps and
every producer of records (the Python codec, an offline engine encoding in SQL) derives from.

A record is a ``StoredRecord``, the tuple ``(key, event_ts, created_ts, values)``.

* ``key``: the join-key values joined by ``KEY_SEPARATOR`` (``\\x1f``); each part is ``str()``
  of an int or a string (so ``1001`` and ``"1001"`` name the same record), ``true`` /
  ``false`` for a bool, hex for bytes, ISO 8601 in UTC for a datetime (naive = UTC), and
  ``NULL_PART`` for a null. :func:`encode_key` is the Python form of this rule;
  ``NATIVE_KEY_TYPES`` are the column families whose SQL ``CAST(... AS VARCHAR)`` gives
  exactly the same text, so an engine may encode those in SQL.
* ``event_ts`` / ``created_ts``: integer microseconds since the epoch, UTC (created may be
  null).
* ``values``: one compact JSON object ``{feature: value}``. A value is stored as JSON
  holds it, except the dtypes of ``VALUE_RULES``: ``timestamp`` as integer microseconds
  since the epoch (``EPOCH_MICROS``), ``bytes`` as base64 (``BASE64``), and lists of those
  element by element. :func:`value_rule` says which rule a dtype follows.

:mod:`fsctl.online.codec` (Python values) and the DuckDB engine's SQL
(:mod:`fsctl.offline.duckdb.latest`) are both built from these rules; one test
checks that they produce the same records.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

KEY_SEPARATOR = "\x1f"
NULL_PART = "\x00"  # a null key part; never produced by str() of a real value

EPOCH_MICROS, BASE64 = "epoch-micros", "base64"
VALUE_RULES = {"timestamp": EPOCH_MICROS, "bytes": BASE64}
# Key column families whose text in SQL (CAST AS VARCHAR) is exactly encode_key's.
NATIVE_KEY_TYPES = ("integer", "string", "bool")


# (key, event_ts, created_ts, values): encode_key of the join-key values; microseconds since
# the epoch, UTC; the created time in microseconds or None; the JSON object of the values.
# A plain tuple, not a NamedTuple: an engine hands over the rows its database returns as
# they are (wrapping 100,000 rows costs ~30 ms per materialize).
StoredRecord = tuple[str, int, "int | None", str]


def value_rule(dtype: str) -> tuple[str | None, bool]:
    """(rule, is_list) for a dtype: the rule of ``VALUE_RULES`` (None: stored as is), and
    whether it applies element by element to a list."""
    dtype = dtype.replace(" ", "")
    if dtype.startswith("list<") and dtype.endswith(">"):
        return VALUE_RULES.get(dtype[5:-1]), True
    return VALUE_RULES.get(dtype), False


# -- keys ------------------------------------------------------------------------------


def _key_part(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return NULL_PART
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return str(value.astimezone(timezone.utc).isoformat())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a float column holding an int key (pandas upcasts)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _key_part(item())
    if isinstance(value, (str, int)):  # subclasses (enums and the like)
        return _key_part(str(value) if isinstance(value, str) else int(value))
    return str(value)


def encode_key(key: tuple[Any, ...]) -> str:
    """The canonical string of a tuple of join-key values (see the module docstring)."""
    if len(key) == 1:
        return _key_part(key[0])
    return KEY_SEPARATOR.join([_key_part(part) for part in key])


