"""Which column types can serve which declared dtype: one rule for validation (a parquet
footer read by the loader) and for every engine (a source opened for a query).

Column types are :class:`ColumnType`, an engine-neutral description built from what each
side has at hand: a parquet footer (:mod:`fsctl.offline.parquet_footer`), a DuckDB type
name (:func:`from_duckdb`), or a pyarrow type (:func:`from_arrow`). None of these needs
pyarrow except the last, so validating a repo or running a query never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTEGER, FLOAT, STRING, BOOL, BINARY, TIMESTAMP, DATE, LIST, OTHER = (
    "integer",
    "float",
    "string",
    "bool",
    "binary",
    "timestamp",
    "date",
    "list",
    "other",
)


@dataclass(frozen=True)
class ColumnType:
    kind: str  # one of the constants above
    bits: int = 0  # integers and floats
    unsigned: bool = False
    item: ColumnType | None = None  # a list's element type
    text: str = field(default="", compare=False)  # the storage's own name, for kinds fsctl has no dtype for

    def __str__(self) -> str:
        if self.kind == INTEGER:
            return f"{'u' if self.unsigned else ''}int{self.bits}"
        if self.kind == FLOAT:
            return f"float{self.bits}"
        if self.kind == LIST:
            return f"list<{self.item}>"
        if self.kind == OTHER:
            return self.text or "unknown"
        return self.kind


def dtype_accepts(dtype: str, column: ColumnType) -> bool:
    """Can a column of type ``column`` serve a feature declared as ``dtype``? Integers widen,
    and integers serve floats; anything else must match its kind."""
    if dtype.startswith("list<"):
        return column.kind == LIST and column.item is not None and dtype_accepts(dtype[5:-1], column.item)
    kind = column.kind
    if dtype == "int32":
        return kind == INTEGER and column.bits <= 32
    if dtype == "int64":
        return kind == INTEGER
    if dtype in ("float32", "float64"):
        return kind in (FLOAT, INTEGER)
    if dtype == "string":
        return kind == STRING
    if dtype == "bool":
        return kind == BOOL
    if dtype == "bytes":
        return kind == BINARY
    if dtype == "timestamp":
        return kind in (TIMESTAMP, DATE)
    return False


_DUCKDB_INTEGERS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}
_DUCKDB_SIMPLE = {
    "FLOAT": ColumnType(FLOAT, 32),
    "DOUBLE": ColumnType(FLOAT, 64),
    "VARCHAR": ColumnType(STRING),
    "UUID": ColumnType(STRING),
    "BOOLEAN": ColumnType(BOOL),
    "BLOB": ColumnType(BINARY),
    "DATE": ColumnType(DATE),
}


def from_duckdb(type_name: str) -> ColumnType:
    """The column type of a DuckDB type name (``BIGINT``, ``VARCHAR[]``, ``TIMESTAMP WITH
    TIME ZONE``, ``ENUM('a', 'b')``, ...), as DuckDB hands the column to arrow."""
    t = type_name.strip().upper()
    if t.endswith("[]"):
        return ColumnType(LIST, item=from_duckdb(type_name.strip()[:-2]))
    if t in _DUCKDB_INTEGERS:
        return ColumnType(INTEGER, _DUCKDB_INTEGERS[t])
    if t.startswith("U") and t[1:] in _DUCKDB_INTEGERS:
        return ColumnType(INTEGER, _DUCKDB_INTEGERS[t[1:]], unsigned=True)
    if t in _DUCKDB_SIMPLE:
        return _DUCKDB_SIMPLE[t]
    if t.startswith("TIMESTAMP"):
        return ColumnType(TIMESTAMP)
    if t.startswith("ENUM"):  # a dictionary of strings
        return ColumnType(STRING)
    return ColumnType(OTHER, text=type_name)  # HUGEINT (a decimal in arrow), DECIMAL, TIME, STRUCT, MAP, ...


def from_arrow(arrow_type: Any) -> ColumnType:
    """The column type of a pyarrow type."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return ColumnType(LIST, item=from_arrow(t.value_type))
    if pa.types.is_integer(t):
        return ColumnType(INTEGER, t.bit_width, unsigned=pa.types.is_unsigned_integer(t))
    if pa.types.is_floating(t):
        return ColumnType(FLOAT, t.bit_width)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ColumnType(STRING)
    if pa.types.is_boolean(t):
        return ColumnType(BOOL)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return ColumnType(BINARY)
    if pa.types.is_timestamp(t):
        return ColumnType(TIMESTAMP)
    if pa.types.is_date(t):
        return ColumnType(DATE)
    return ColumnType(OTHER, text=str(t))

