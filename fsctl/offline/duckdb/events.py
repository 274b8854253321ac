"""The newest event time of a view's source, and its rows in a window, in DuckDB
(``fsctl status``).

Both are cheap on parquet when the aggregate and the filter apply to the stored column:
DuckDB answers ``max(column)`` from the files' min/max statistics and skips row groups
outside a range, while ``max(timezone('UTC', column))`` reads every row (about 2 s for 10M
rows against a few ms). So for timestamp and date columns, whose conversion to a naive
UTC time keeps the order, the aggregate runs on the column and its result is converted;
other columns (ISO-8601 text in CSV files) are converted row by row.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.base import SourceEvents
from fsctl.offline.duckdb.sources import open_source, quote
from fsctl.offline.requests import EventsRequest, Window

_ZONED = "TIMESTAMP WITH TIME ZONE"
_NAIVE = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


def _literal(value: datetime, zoned: bool) -> str:
    utc = value.astimezone(timezone.utc)
    if zoned:
        return f"TIMESTAMPTZ '{utc.isoformat(sep=' ')}'"
    return f"TIMESTAMP '{utc.replace(tzinfo=None).isoformat(sep=' ')}'"


def _window_sql(t_sql: str, column: str, type_name: str, window: Window) -> str:
    """A WHERE clause for ``window``: on the stored column where that is exact (so DuckDB can
    skip row groups), else on the converted time ``t_sql``."""
    if type_name == _ZONED:
        target, zoned = quote(column), True
    elif type_name == "TIMESTAMP":
        target, zoned = quote(column), False
    else:
        target, zoned = t_sql, False
    where = f"{target} < {_literal(window.end, zoned)}"
    if window.start is not None:
        where += f" AND {target} >= {_literal(window.start, zoned)}"
    return where


def source_events(con: Any, request: EventsRequest) -> SourceEvents:
    import duckdb

    view = request.view
    source = view.source
    table = open_source(con, source, f"__fsctl_events_{view.name}")
    column = source.timestamp_field
    t_sql = table.timestamp(column, view, "timestamp_field")  # also checks the column exists and holds times
    type_name = table.columns[column].upper()
    if type_name == _ZONED:
        newest_sql = f"timezone('UTC', max({quote(column)}))"
    elif type_name in _NAIVE:  # naive times are UTC already; a date is its midnight
        newest_sql = f"CAST(max({quote(column)}) AS TIMESTAMP)"
    else:
        newest_sql = f"max({t_sql})"
    try:
        newest = con.execute(f"SELECT {newest_sql} FROM {table.from_sql}").fetchone()[0]
        rows = None
        if request.window is not None:
            where = _window_sql(t_sql, column, type_name, request.window)
            rows = int(con.execute(f"SELECT count(*) FROM {table.from_sql} WHERE {where}").fetchone()[0])
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot read source '{source.name}' at {table.location}: {str(exc).splitlines()[0]}",
            hint="check that the source's files are complete and readable",
        ) from None
    if newest is not None:
        newest = newest.replace(tzinfo=timezone.utc) if newest.tzinfo is None else newest.astimezone(timezone.utc)
    return SourceEvents(newest_event=newest, window_rows=rows)
