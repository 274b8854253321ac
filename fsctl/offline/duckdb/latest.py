"""The latest row per entity key of one view in a window, for materialization, in DuckDB.

One aggregate picks, per key, the row with the latest event time in ``[start, end)`` (ties:
the latest created time; a null created time loses) with its values cast to the declared
dtypes, and counts the rows it read. The records then come out of DuckDB already in the
online store's stored form (:mod:`fsctl.online.format`): keys as text and values as one
JSON object, both written in SQL from the format's rules, so Python only hands finished
records to the store. Key columns whose SQL text would differ from the format's (dates,
floats, ...) are encoded in Python with :func:`fsctl.online.format.encode_key` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.duckdb.sources import (
    SourceTable,
    check_features,
    duckdb_type,
    event_created_order,
    open_source,
    quote,
)
from fsctl.offline.requests import LatestRequest, ViewSpec, Window
from fsctl.online.format import BASE64, EPOCH_MICROS, NATIVE_KEY_TYPES, StoredRecord, encode_key, value_rule

# DuckDB type -> key family of fsctl.online.format.NATIVE_KEY_TYPES
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}

# The SQL of each value rule of fsctl.online.format, for a value x.
_RULE_SQL = {EPOCH_MICROS: "epoch_us({})", BASE64: "base64({})"}


def key_family(type_name: str) -> str:
    t = type_name.upper()
    if t in _INTEGERS:
        return "integer"
    if t == "VARCHAR":
        return "string"
    if t == "BOOLEAN":
        return "bool"
    return t.lower()


def value_sql(column: str, dtype: str) -> str:
    """SQL for a feature value in the stored JSON, by the format's rule for ``dtype``."""
    rule, is_list = value_rule(dtype)
    if rule is None:
        return column
    if is_list:
        return f"list_transform({column}, lambda x: {_RULE_SQL[rule].format('x')})"
    return _RULE_SQL[rule].format(column)


def key_sql(width: int) -> str:
    """SQL for the stored key of columns k0..k{width-1} (integers, strings, bools)."""
    parts = [f"coalesce(CAST(k{i} AS VARCHAR), chr(0))" for i in range(width)]
    return " || chr(31) || ".join(parts)


def _sql_time(value: datetime) -> str:
    utc = value.astimezone(timezone.utc).replace(tzinfo=None)
    return f"TIMESTAMP '{utc.isoformat(sep=' ')}'"


def window_sql(t_sql: str, window: Window) -> str:
    """SQL true for event times ``t_sql`` in the half-open ``window``."""
    where = f"{t_sql} < {_sql_time(window.end)}"
    if window.start is not None:
        where += f" AND {t_sql} >= {_sql_time(window.start)}"
    return where


def _cast(table: SourceTable, view: ViewSpec, column: str, dtype: str) -> str:
    if dtype == "timestamp":  # zoned or ISO-8601 text -> naive UTC, as event times are read
        return table.timestamp(column, view, f"feature column '{column}'")
    return f"CAST({quote(column)} AS {duckdb_type(dtype)})"


class DuckDBLatestRows:
    """A :class:`~fsctl.offline.base.LatestRows` over a DuckDB temp table."""

    def __init__(self, con: Any, table: SourceTable, view: ViewSpec, keys: int, rows_read: int, native: bool):
        self._con, self._table, self._view = con, table, view
        self.keys, self.rows_read, self._native = keys, rows_read, native

    def batches(self, size: int) -> Iterator[list[StoredRecord]]:
        import duckdb

        view, width = self._view, len(self._view.join_keys)
        values = ", ".join(f"{quote(f.name)} := {value_sql(f'v.f{i}', f.dtype)}" for i, f in enumerate(view.features))
        json_sql = f"CAST(to_json(struct_pack({values})) AS VARCHAR)"
        try:
            if self._native:
                cursor = self._con.execute(
                    f"SELECT {key_sql(width)} AS key, epoch_us(v.__t), epoch_us(v.__c), {json_sql} "
                    "FROM __fsctl_latest ORDER BY key"
                )
            else:
                keys = ", ".join(f"k{i}" for i in range(width))
                cursor = self._con.execute(
                    f"SELECT {keys}, epoch_us(v.__t), epoch_us(v.__c), {json_sql} FROM __fsctl_latest"
                )
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                if self._native:  # already (key, event_ts, created_ts, values)
                    yield rows
                else:
                    yield [(encode_key(r[:width]), r[width], r[width + 1], r[width + 2]) for r in rows]
        except duckdb.Error as exc:
            raise read_error(self._table, exc) from None


def read_error(table: SourceTable, exc: Exception) -> StoreError:
    return StoreError(
        f"cannot read source '{table.source.name}' at {table.location}: {str(exc).splitlines()[0]}",
        hint="check that the source's files are complete and readable",
    )


def latest_rows(con: Any, request: LatestRequest) -> DuckDBLatestRows:
    import duckdb

    view, window = request.view, request.window
    source = view.source
    table = open_source(con, source, f"__fsctl_src_{view.name}")
    check_features(table, view, view.feature_names)
    t_sql = table.timestamp(source.timestamp_field, view, "timestamp_field")
    c_sql = (
        table.timestamp(source.created_timestamp_field, view, "created_timestamp_field")
        if source.created_timestamp_field
        else "NULL::TIMESTAMP"
    )
    key_columns = [source.column_for(k) for k in view.join_keys]
    key_types = [table.need(c, view, f"join key '{k}'") for k, c in zip(view.join_keys, key_columns, strict=True)]
    # Values cast to their declared dtypes, so every store holds the view's types.
    fields = [f"__t := {t_sql}", f"__c := {c_sql}"] + [
        f"f{i} := {_cast(table, view, source.column_for(f.name), f.dtype)}" for i, f in enumerate(view.features)
    ]
    order = event_created_order(f"epoch_us({t_sql})", f"epoch_us({c_sql})")
    where = window_sql(t_sql, window)
    key_aliases = ", ".join(f"{quote(c)} AS k{i}" for i, c in enumerate(key_columns))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __fsctl_latest AS SELECT {key_aliases}, "
            f"arg_max(struct_pack({', '.join(fields)}), {order}) AS v, count(*) AS n "
            f"FROM {table.from_sql} WHERE {where} GROUP BY ALL"
        )
        counts = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM __fsctl_latest").fetchall()[0]
    except duckdb.Error as exc:
        raise read_error(table, exc) from None
    native = all(key_family(t) in NATIVE_KEY_TYPES for t in key_types)
    return DuckDBLatestRows(con, table, view, int(counts[0]), int(counts[1]), native)
