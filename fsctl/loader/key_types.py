"""The dtypes of a view's join keys, read from its source when the plan is made.

Entities name their join keys but not their types; the data decides them (a parquet
``driver_id`` column of int64). ``plan`` records them in each view's registry document as
``key_dtypes`` (``{"driver_id": "int64"}``, in join-key order) so that online reads can tell
a key value that can never match (``driver_id=abc``) from one that has no value yet, and
answer the first with an error instead of "missing". Feast does the same (its view's
``entity_columns``, inferred at apply).

A parquet source gives the type from its footer (read by the loader's source checks); a CSV
source from its first rows (integers, booleans, else strings: what DuckDB infers for
them). A key of a type fsctl has no dtype for (a float, a decimal, a date, a uint64), or a
source that cannot be read here (on S3), gives no dtype: such keys are not checked on reads.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from fsctl.offline.schema import BINARY, BOOL, INTEGER, STRING, TIMESTAMP, ColumnType

_CSV_SAMPLE_ROWS = 2048
_INTEGER = re.compile(r"[+-]?\d+")
_BOOL = {"true", "false"}


def dtype_of_key_column(column: ColumnType | None) -> str | None:
    """The fsctl dtype of a key column's type; None for types keys are not checked for.

    Unsigned integers are int64, except uint64: its values from 2**63 up are valid keys that
    no int64 holds, so it has none. Dates have none either: the store
    names a date ``2024-01-01``, which a ``timestamp`` key (a datetime, named
    ``2024-01-01T00:00:00+00:00``) would never match."""
    if column is None:
        return None
    if column.kind == INTEGER:
        if column.unsigned and column.bits >= 64:
            return None
        return "int32" if column.bits <= 32 and not column.unsigned else "int64"
    return {STRING: "string", BOOL: "bool", BINARY: "bytes", TIMESTAMP: "timestamp"}.get(column.kind)


def csv_key_dtypes(path: Path, columns: list[str]) -> dict[str, str]:
    """The dtype of each of ``columns`` in a CSV file, from its first rows: int64 when every
    non-empty value is an integer, bool when every one is true or false, else string."""
    seen: dict[str, set[str]] = {c: set() for c in columns}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        index = {c: header.index(c) for c in columns if c in header}
        for n, row in enumerate(reader):
            if n >= _CSV_SAMPLE_ROWS:
                break
            for column, i in index.items():
                value = row[i].strip() if i < len(row) else ""
                if not value:
                    continue
                kinds = seen[column]
                if "string" in kinds:
                    continue
                if _INTEGER.fullmatch(value):
                    kinds.add("int64")
                elif value.lower() in _BOOL:
                    kinds.add("bool")
                else:
                    kinds.add("string")
    out = {}
    for column in index:
        kinds = seen[column]
        out[column] = kinds.pop() if len(kinds) == 1 else "string"
    return out


def view_key_dtypes(
    keys: tuple[str, ...], source: Any, columns: dict[str, ColumnType | None] | None, csv_dtypes: dict[str, str] | None
) -> dict[str, str]:
    """``{join key: dtype}`` of a view whose source is ``source`` (a FileSource) with the
    column types ``columns`` (from the loader; None when it was not read) and, for a CSV
    source, the dtypes :func:`csv_key_dtypes` found for its key columns (None: not sampled);
    keys whose type is unknown are left out."""
    if columns is None:
        return {}
    wanted = {key: source.column_for(key) for key in keys}
    if source.format == "csv":
        found = csv_dtypes or {}
        return {key: found[col] for key, col in wanted.items() if col in found}
    out = {}
    for key, column in wanted.items():
        dtype = dtype_of_key_column(columns.get(column))
        if dtype is not None:
            out[key] = dtype
    return out
