"""The newest event time of a view's source, and its rows in a window, on Spark (``fsctl
status``): one aggregate job over the event times read as materialization reads them
(integer microseconds, UTC), the same answers as :mod:`fsctl.offline.duckdb.events`."""

from __future__ import annotations

from typing import Any

from fsctl.offline.base import SourceEvents
from fsctl.offline.requests import EventsRequest
from fsctl.offline.spark.frames import from_micros, open_frame, read_error, spark_errors, window_sql


def source_events(spark: Any, request: EventsRequest) -> SourceEvents:
    view = request.view
    frame = open_frame(spark, view.source)
    t_us = frame.timestamp_us(view.source.timestamp_field, view, "timestamp_field")
    aggregates = [f"max({t_us})"]
    if request.window is not None:
        aggregates.append(f"count_if({window_sql(t_us, request.window)})")
    try:
        row = frame.df.selectExpr(*aggregates).collect()[0]
    except spark_errors() as exc:
        raise read_error(frame, exc) from None
    newest = from_micros(int(row[0])) if row[0] is not None else None
    rows = int(row[1] or 0) if request.window is not None else None
    return SourceEvents(newest_event=newest, window_rows=rows)
