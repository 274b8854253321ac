"""A source's rows as a Spark DataFrame, read the way the DuckDB engine reads them, for the
operations on a window: the latest row per key (:mod:`.latest`), data checks
(:mod:`.checks`), source events (:mod:`.events`) and statistics (:mod:`.stats`).

Unlike the point-in-time join's reader (:mod:`.sources`), every row is kept, null keys too:
materialization stores a null key part as ``NULL_PART`` and a check counts every source row,
as the DuckDB engine does. Columns keep their names (field_mapping is applied by asking
:meth:`~fsctl.offline.requests.SourceSpec.column_for`); times become integer microseconds
since the epoch, UTC: zoned timestamps are instants already, naive ones (and dates) are UTC
wall time, and text (CSV) is parsed with its offset if it has one (the session time zone
is UTC). A folder is read at any depth; ``s3://`` is read through Hadoop's ``s3a://``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.requests import SourceSpec, ViewSpec, Window
from fsctl.offline.schema import ColumnType, dtype_accepts
from fsctl.offline.spark.sources import column_type, open_source, spark_type

__all__ = ["column_type", "spark_type"]


def quote(name: str) -> str:
    """A Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware (or naive UTC) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    from datetime import timedelta

    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value)


def window_sql(t_us: str, window: Window) -> str:
    """SQL true for event times (microseconds) ``t_us`` in the half-open ``window``."""
    where = f"{t_us} < {micros(window.end)}"
    if window.start is not None:
        where += f" AND {t_us} >= {micros(window.start)}"
    return where


def spark_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a Spark query raises (analysis, execution, Python workers, the JVM)."""
    from pyspark.errors import PySparkException

    kinds: list[type[BaseException]] = [PySparkException]
    try:
        from py4j.protocol import Py4JError

        kinds.append(Py4JError)
    except ImportError:  # Spark Connect has no JVM here
        pass
    return tuple(kinds)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():  # a Python worker's traceback ends with the error itself
        if "fsctl.errors." in line and "Error: " in line:
            return line.split("Error: ", 1)[1].strip()
    return (text.splitlines() or [type(exc).__name__])[0]


@dataclass
class SourceFrame:
    """A source opened in a Spark session: its rows and its columns' Spark types."""

    source: SourceSpec
    location: str  # what messages show
    df: Any  # the DataFrame of every row, columns as stored
    columns: dict[str, Any]  # column -> Spark DataType
    nanos: frozenset[str] = frozenset()  # integer columns holding nanosecond timestamps

    def column_type(self, column: str) -> ColumnType:
        return column_type(self.columns[column], column in self.nanos)

    def need(self, column: str, view: ViewSpec | None, role: str) -> Any:
        """The column's Spark type, or a StoreError naming the view, source and column."""
        if column in self.columns:
            return self.columns[column]
        who = f"view '{view.name}': " if view is not None else ""
        shown = ", ".join(list(self.columns)[:12]) + (", ..." if len(self.columns) > 12 else "")
        raise StoreError(
            f"{who}source '{self.source.name}' has no column '{column}' ({role}) in {self.location} "
            f"(columns: {shown})",
            hint="fix the definition or the data, or map the column with field_mapping",
        )

    def timestamp_us(self, column: str, view: ViewSpec | None, role: str) -> str:
        """SQL of the column as microseconds since the epoch, UTC."""
        data_type = self.need(column, view, role)
        name, q = type(data_type).__name__, quote(column)
        if column in self.nanos:  # integer division: exact where a double would round
            return f"(({q} - pmod({q}, 1000)) div 1000)"
        if name == "TimestampType":
            return f"unix_micros({q})"
        if name in ("TimestampNTZType", "DateType"):  # wall time in UTC (the session's zone)
            return f"unix_micros(CAST({q} AS TIMESTAMP))"
        if name in ("StringType", "VarcharType", "CharType"):
            return f"unix_micros(CAST({q} AS TIMESTAMP))"
        raise StoreError(
            f"source '{self.source.name}' column '{column}' ({role}) in {self.location} is "
            f"{data_type.simpleString()}, not a timestamp",
            hint="point timestamp_field / created_timestamp_field at a timestamp or ISO-8601 column",
        )

    def timestamp(self, column: str, view: ViewSpec | None, role: str) -> str:
        """SQL of the column as a Spark TIMESTAMP (an instant)."""
        return f"timestamp_micros({self.timestamp_us(column, view, role)})"


def open_frame(spark: Any, source: SourceSpec) -> SourceFrame:
    """``source``'s rows as a DataFrame (nothing is read but the schema), read by
    :func:`fsctl.offline.spark.sources.open_source` (folders, globs, S3, nanosecond times)."""
    table = open_source(spark, source)
    return SourceFrame(source, source.location, table.frame, dict(table.types), table.nanos)


def check_features(frame: SourceFrame, view: ViewSpec, features: list[str] | tuple[str, ...]) -> None:
    """Every requested feature's column exists and its type can serve the declared dtype."""
    declared = {f.name: f.dtype for f in view.features}
    for feature in features:
        column = frame.source.column_for(feature)
        frame.need(column, view, f"feature '{feature}'")
        actual = frame.column_type(column)
        if not dtype_accepts(declared[feature], actual):
            raise StoreError(
                f"view '{view.name}' feature '{feature}' is declared {declared[feature]} but column "
                f"'{column}' of source '{frame.source.name}' ({frame.location}) is {actual}",
                hint="declare the dtype the data has, or cast the column in the source",
            )


def read_error(frame: SourceFrame, exc: BaseException) -> StoreError:
    return StoreError(
        f"cannot read source '{frame.source.name}' at {frame.location}: {first_line(exc)}",
        hint="check that the source's files are complete and readable",
    )
