"""Time-window aggregations in DuckDB (issue 17): historical values per entity row, and the
values as of one time per key for materialization.

Semantics (the README section "Time-window aggregations" is the user-facing statement): for
an entity row of time ``t`` the as-of time is ``a = t`` aligned down to a multiple of the
view's ``slide`` since the epoch (no slide: ``a = t``), and each aggregation reads the
source rows with the same join keys and event time ``e`` with ``a - window < e <= a``, at
microsecond precision. Null values are skipped (SQL semantics); ``last`` is the non-null
value of the latest such row by (event time, created time; a null created time loses); an
empty window gives 0 for ``count``/``count_distinct`` and null for the others. Source rows
with a null event time or a null join key are never read.

Historical retrieval unions the entity rows (as-of time, row number, no values) with the
source rows (event time, values) per key and computes every aggregation as a window function
over ``RANGE BETWEEN window - 1 PRECEDING AND CURRENT ROW`` on microseconds: the frame is
exactly ``(a - window, a]``, and CURRENT ROW takes every peer, so source rows at ``a`` itself
count. Entity rows carry null values, so they never change an aggregate. Windows of one view
share one sort (same partition and order), whatever their lengths.

Materialization computes, per key with a source row in ``(min(start, a) - longest window, a]``
(every key whose values may have changed since the previous run, whose END was ``start``),
the aggregates as of ``a`` = the window's END aligned down to ``slide``, with ``FILTER``ed
aggregates in one ``GROUP BY``; the records carry ``a`` as their event time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from fsctl.errors import StoreError, UsageError
from fsctl.offline.duckdb import entities as entity_rows
from fsctl.offline.duckdb.latest import key_family, key_sql, read_error, value_sql
from fsctl.offline.duckdb.sources import SourceTable, duckdb_type, event_created_order, open_source, quote
from fsctl.offline.requests import AggregationSpec, LatestRequest, ViewSpec
from fsctl.offline.schema import dtype_accepts, from_duckdb
from fsctl.online.format import NATIVE_KEY_TYPES, StoredRecord, encode_key

_US = 1_000_000


def aligned_us(t_us: str, slide: int) -> str:
    """SQL: microsecond time ``t_us`` aligned down to a multiple of ``slide`` seconds since the
    epoch (floor, also before 1970); ``t_us`` itself when ``slide`` is 0."""
    if not slide:
        return t_us
    s = slide * _US
    return f"({t_us} - ((({t_us}) % {s}) + {s}) % {s})"


def _function_sql(agg: AggregationSpec, value: str, order: str, only: str = "") -> str:
    """The aggregate of ``value`` (null for rows that do not count) for one aggregation, over
    the rows where ``only`` holds (every row when empty)."""
    if agg.function == "count_distinct":
        sql = f"count(DISTINCT {value})"
    elif agg.function == "last":
        sql = f"arg_max({value}, CASE WHEN {value} IS NOT NULL THEN {order} END)"
    else:
        sql = f"{agg.function}({value})"
    return f"{sql} FILTER (WHERE {only})" if only else sql


def _check_inputs(table: SourceTable, view: ViewSpec) -> dict[str, str]:
    """column name (feature side) -> SQL reading it cast to its input dtype, checked."""
    out: dict[str, str] = {}
    for agg in view.aggregations:
        if agg.column in out:
            continue
        column = table.source.column_for(agg.column)
        actual = from_duckdb(table.need(column, view, f"input column '{agg.column}'"))
        if not dtype_accepts(agg.input_dtype, actual):
            raise StoreError(
                f"view '{view.name}' input '{agg.column}' is declared {agg.input_dtype} but column "
                f"'{column}' of source '{table.source.name}' ({table.location}) is {actual}",
                hint="declare the dtype the data has in the view's inputs, or cast the column in the source",
            )
        if agg.input_dtype == "timestamp":
            out[agg.column] = table.timestamp(column, view, f"input column '{agg.column}'")
        else:
            out[agg.column] = f"CAST({quote(column)} AS {duckdb_type(agg.input_dtype)})"
    return out


def _source_columns(table: SourceTable, view: ViewSpec) -> tuple[list[str], str, int]:
    """(select list of keys k0.., time t (µs), order o, values v0..; WHERE over the source of
    the rows that count; the number of values)"""
    source = table.source
    t_sql = table.timestamp(source.timestamp_field, view, "timestamp_field")
    c_sql = (
        table.timestamp(source.created_timestamp_field, view, "created_timestamp_field")
        if source.created_timestamp_field
        else "NULL::TIMESTAMP"
    )
    inputs = _check_inputs(table, view)
    keys = [quote(source.column_for(k)) for k in view.join_keys]
    select = [f"{k} AS k{i}" for i, k in enumerate(keys)]
    select += [f"epoch_us({t_sql}) AS t", f"{event_created_order(f'epoch_us({t_sql})', f'epoch_us({c_sql})')} AS o"]
    select += [f"{sql} AS v{n}" for n, sql in enumerate(inputs.values())]
    where = " AND ".join([f"{t_sql} IS NOT NULL"] + [f"{k} IS NOT NULL" for k in keys])
    return select, where, len(inputs)


def _value(view: ViewSpec, agg: AggregationSpec) -> str:
    columns = list(dict.fromkeys(a.column for a in view.aggregations))
    return f"v{columns.index(agg.column)}"


# -- historical retrieval ------------------------------------------------------------------


def historical_table(
    con: Any, entities: str, entity_types: dict[str, str], view: ViewSpec, index: int, leakage_guard: bool
) -> tuple[str, list[str], str]:
    """Compute the aggregations of ``view`` for every entity row into a temp table; returns
    (its name, the column of each feature in ``view.features`` order, the matched column:
    true when the longest window holds a source row)."""
    if leakage_guard:
        raise UsageError(
            f"view '{view.name}' aggregates over time windows; the leakage guard (created <= entity time) "
            "is not available for it",
            hint="retrieve without the guard, or leave the view out",
        )
    table = open_source(con, view.source, f"__fsctl_asrc{index}")
    for key in view.join_keys:
        column = view.source.column_for(key)
        source_type = table.need(column, view, f"join key '{key}'")
        if key_family(source_type) != key_family(entity_types[key]):
            raise UsageError(
                f"join key '{key}' is {entity_types[key]} in the entity rows but {source_type} in column "
                f"'{column}' of source '{view.source.name}' (view '{view.name}')",
                hint=f"cast '{key}' in the entity rows to {source_type}",
            )
    select, where, values = _source_columns(table, view)
    width = len(view.join_keys)
    keys = ", ".join(f"k{i}" for i in range(width))
    nulls = ", ".join(f"NULL AS v{n}" for n in range(values))
    events = f"SELECT {', '.join(select)}, NULL::BIGINT AS r FROM {table.from_sql} WHERE {where}"
    probe_keys = ", ".join(f"{quote(k)} AS k{i}" for i, k in enumerate(view.join_keys))
    probe_t = aligned_us(f"epoch_us({entity_rows.TS})", view.slide)
    probes = f"SELECT {probe_keys}, {probe_t} AS t, NULL::HUGEINT AS o, {nulls}, {entity_rows.ROW} AS r FROM {entities}"
    windows = sorted({a.window for a in view.aggregations})
    frames = ", ".join(
        f"w{w} AS (PARTITION BY {keys} ORDER BY t RANGE BETWEEN {w * _US - 1} PRECEDING AND CURRENT ROW)"
        for w in windows
    )
    outputs = [
        f"CAST({_function_sql(a, _value(view, a), 'o')} OVER w{a.window} AS {duckdb_type(a.dtype)}) AS a{n}"
        for n, a in enumerate(view.aggregations)
    ]
    outputs.append(f"count(o) OVER w{windows[-1]} > 0 AS m")
    name = f"__fsctl_agg{index}"
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT r, {', '.join(f'a{n}' for n in range(len(view.aggregations)))}, m "
        f"FROM (SELECT r, {', '.join(outputs)} FROM ({events} UNION ALL {probes}) WINDOW {frames}) WHERE r IS NOT NULL"
    )
    import duckdb

    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise read_error(table, exc) from None
    columns = {a.name: f"a{n}" for n, a in enumerate(view.aggregations)}
    return name, [columns[f.name] for f in view.features], "m"


# -- materialization -----------------------------------------------------------------------


def as_of(slide: int, end: datetime) -> int:
    """The as-of time (µs since the epoch) of a materialization up to ``end``: ``end``
    aligned down to a multiple of ``slide`` seconds (0: ``end`` itself)."""
    us = (end.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    if slide:
        us -= us % (slide * _US)  # Python's % floors, so times before 1970 align down too
    return int(us)


class DuckDBAggregateRows:
    """A :class:`~fsctl.offline.base.LatestRows` of aggregates as of one time, per key."""

    def __init__(self, con: Any, table: SourceTable, view: ViewSpec, keys: int, rows_read: int, native: bool):
        self._con, self._table, self._view = con, table, view
        self.keys, self.rows_read, self._native = keys, rows_read, native

    def batches(self, size: int) -> Iterator[list[StoredRecord]]:
        import duckdb

        view, width = self._view, len(self._view.join_keys)
        values = ", ".join(f"{quote(f.name)} := {value_sql(f'a{i}', f.dtype)}" for i, f in enumerate(view.features))
        json_sql = f"CAST(to_json(struct_pack({values})) AS VARCHAR)"
        keys = key_sql(width) if self._native else ", ".join(f"k{i}" for i in range(width))
        try:
            cursor = self._con.execute(
                f"SELECT {keys}, __at, NULL::BIGINT, {json_sql} FROM __fsctl_aggregates"
                + (" ORDER BY 1" if self._native else "")
            )
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                if self._native:
                    yield rows
                else:
                    yield [(encode_key(r[:width]), r[width], r[width + 1], r[width + 2]) for r in rows]
        except duckdb.Error as exc:
            raise read_error(self._table, exc) from None


def aggregate_rows(con: Any, request: LatestRequest) -> DuckDBAggregateRows:
    """Per key whose values may have changed since ``request.window.start``, the view's
    aggregates as of the window's END aligned down to the slide."""
    import duckdb

    view, window = request.view, request.window
    table = open_source(con, view.source, f"__fsctl_src_{view.name}")
    key_types = [
        table.need(view.source.column_for(k), view, f"join key '{k}'") for k in view.join_keys
    ]
    select, where, _values = _source_columns(table, view)
    at = as_of(view.slide, window.end)
    longest = max(a.window for a in view.aggregations) * _US
    scanned = f"t <= {at}"
    if window.start is not None:
        start = as_of(view.slide, window.start)
        scanned += f" AND t > {min(start, at) - longest}"
    outputs = [
        f"CAST({_function_sql(a, _value(view, a), 'o', f't > {at - a.window * _US}')} AS {duckdb_type(a.dtype)}) AS a{n}"
        for n, a in enumerate(view.aggregations)
    ]
    width = len(view.join_keys)
    keys = ", ".join(f"k{i}" for i in range(width))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __fsctl_aggregates AS SELECT {keys}, {at}::BIGINT AS __at, "
            f"{', '.join(outputs)}, count(*) AS n FROM (SELECT {', '.join(select)} FROM {table.from_sql} WHERE {where}) "
            f"WHERE {scanned} GROUP BY {keys}"
        )
        counts = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM __fsctl_aggregates").fetchall()[0]
    except duckdb.Error as exc:
        raise read_error(table, exc) from None
    native = all(key_family(t) in NATIVE_KEY_TYPES for t in key_types)
    return DuckDBAggregateRows(con, table, view, int(counts[0]), int(counts[1]), native)
