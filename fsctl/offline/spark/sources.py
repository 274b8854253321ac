"""Reading a source (a :class:`~fsctl.offline.requests.SourceSpec`) in Spark: its files as a
DataFrame of join keys, features, and the event and created times as integer microseconds
since the epoch (UTC), pruned to a time range. Used by retrieval, materialization, checks,
events and statistics on Spark.

Locations: a local file, directory (every ``*.parquet`` / ``*.csv`` under it, at any depth) or
Hadoop glob (``*``, ``?``, ``[...]``, ``{a,b}``); ``s3://bucket/key`` is read as
``s3a://bucket/key`` through hadoop-aws, which the cluster must provide (see README, "Spark
engine"; not testable here without the jars). CSV files are read with a header and
inferred types.

Times: zoned timestamps are instants; naive ones (``TIMESTAMP_NTZ``) and dates are taken to be
UTC, ISO-8601 strings are parsed with their offset if any (the session time zone is UTC).
Parquet timestamps in nanoseconds (pyarrow's default for pandas data), which Spark cannot
read as timestamps, are read as integers (``spark.sql.legacy.parquet.nanosAsLong``) and
divided down to microseconds: a local file's footer tells which integer columns they are; on
S3 an integer time column is taken to be nanoseconds.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.requests import SourceSpec, ViewSpec
from fsctl.offline.schema import (
    BINARY,
    BOOL,
    DATE,
    FLOAT,
    INTEGER,
    LIST,
    OTHER,
    STRING,
    TIMESTAMP,
    ColumnType,
    dtype_accepts,
)

T = "__fsctl_t"  # event time, microseconds since the epoch (UTC)
C = "__fsctl_c"  # created time, microseconds since the epoch (UTC), or null
NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"

# fsctl dtype -> Spark SQL type of an output column (timestamps naive UTC, as DuckDB's).
SPARK_TYPES = {
    "int32": "int",
    "int64": "bigint",
    "float32": "float",
    "float64": "double",
    "string": "string",
    "bool": "boolean",
    "bytes": "binary",
    "timestamp": "timestamp_ntz",
}


def spark_type(dtype: str) -> str:
    if dtype.startswith("list<"):
        return f"array<{spark_type(dtype[5:-1])}>"
    return SPARK_TYPES[dtype]


def column_type(data_type: Any, nanos: bool = False) -> ColumnType:
    """The engine-neutral type of a Spark data type (``nanos``: an integer holding timestamps)."""
    name = type(data_type).__name__
    if nanos:
        return ColumnType(TIMESTAMP)
    ints = {"ByteType": 8, "ShortType": 16, "IntegerType": 32, "LongType": 64}
    if name in ints:
        return ColumnType(INTEGER, ints[name])
    if name in ("FloatType", "DoubleType"):
        return ColumnType(FLOAT, 32 if name == "FloatType" else 64)
    if name in ("StringType", "VarcharType", "CharType"):
        return ColumnType(STRING)
    simple = {"BooleanType": BOOL, "BinaryType": BINARY, "DateType": DATE}
    if name in simple:
        return ColumnType(simple[name])
    if name in ("TimestampType", "TimestampNTZType"):
        return ColumnType(TIMESTAMP)
    if name == "ArrayType":
        return ColumnType(LIST, item=column_type(data_type.elementType))
    return ColumnType(OTHER, text=data_type.simpleString())


def hadoop_path(location: str) -> str:
    """The location as Hadoop reads it: ``s3://`` becomes ``s3a://``."""
    return "s3a://" + location[len("s3://") :] if location.startswith("s3://") else location


def _first_local_file(location: str, fmt: str) -> Path | None:
    path = Path(location)
    if path.is_file():
        return path
    if path.is_dir():
        return next(iter(sorted(path.rglob(f"*.{fmt}"))), None)
    found = sorted(glob.glob(location))
    return Path(found[0]) if found else None


def read_files(spark: Any, location: str, fmt: str) -> Any:
    """The DataFrame of the files at ``location`` (not wrapped: callers name what they read)."""
    reader = spark.read
    path = Path(location)
    local = "://" not in location
    if fmt == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    if (local and path.is_dir()) or location.endswith("/"):
        reader = reader.option("recursiveFileLookup", "true").option("pathGlobFilter", f"*.{fmt}")
    if fmt == "parquet" and not (local and path.is_file()):
        reader = reader.option("mergeSchema", "true")
    target = hadoop_path(location)
    return reader.csv(target) if fmt == "csv" else reader.parquet(target)


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:400]


@dataclass
class SourceFrame:
    """A source opened in Spark: the raw DataFrame, its column types, and which integer
    columns hold nanosecond timestamps."""

    source: SourceSpec
    frame: Any
    types: dict[str, Any]  # column -> Spark data type
    nanos: frozenset[str]

    @property
    def location(self) -> str:
        return self.source.location

    def need(self, column: str, view: ViewSpec | None, role: str) -> Any:
        """The column's Spark type, or a StoreError naming the view, source and column."""
        if column in self.types:
            return self.types[column]
        who = f"view '{view.name}': " if view is not None else ""
        shown = ", ".join(list(self.types)[:12]) + (", ..." if len(self.types) > 12 else "")
        raise StoreError(
            f"{who}source '{self.source.name}' has no column '{column}' ({role}) in {self.location} "
            f"(columns: {shown})",
            hint="fix the definition or the data, or map the column with field_mapping",
        )

    def column_type(self, column: str) -> ColumnType:
        return column_type(self.types[column], column in self.nanos)

    def micros(self, column: str, view: ViewSpec | None, role: str) -> Any:
        """A Column: ``column`` as microseconds since the epoch (UTC), or a StoreError."""
        from pyspark.sql import functions as sf

        data_type = type(self.need(column, view, role)).__name__
        col = sf.col(_quote(column))
        if column in self.nanos:
            return nanos_to_micros(col)
        found = time_micros(col, data_type)
        if found is not None:
            return found
        raise StoreError(
            f"source '{self.source.name}' column '{column}' ({role}) in {self.location} is "
            f"{self.types[column].simpleString()}, not a timestamp",
            hint="point timestamp_field / created_timestamp_field at a timestamp or ISO-8601 column",
        )

    def value(self, column: str, dtype: str) -> Any:
        """A Column: feature ``column`` cast to the declared ``dtype``."""
        from pyspark.sql import functions as sf

        col = sf.col(_quote(column))
        if column in self.nanos:
            col = sf.timestamp_micros(nanos_to_micros(col))
        return col.cast(spark_type(dtype))


def time_micros(col: Any, data_type: str) -> Any:
    """A Column: ``col`` (of the Spark type named ``data_type``) as microseconds since the
    epoch, UTC; None when that type is not a time (a timestamp, a date, ISO-8601 text)."""
    from pyspark.sql import functions as sf

    if data_type == "TimestampType":
        return sf.unix_micros(col)
    if data_type in ("TimestampNTZType", "DateType"):
        return sf.unix_micros(col.cast("timestamp"))
    if data_type == "StringType":
        return sf.unix_micros(sf.try_to_timestamp(col))
    return None


def nanos_to_micros(col: Any) -> Any:
    """A Column of integer nanoseconds as integer microseconds, floored and exact: ``/`` on
    longs is a double division in Spark, which is off by a microsecond at today's times
    (1.7e18 ns is past a double's 53 bits)."""
    from pyspark.sql import functions as sf

    return ((col - sf.pmod(col, sf.lit(1000))).cast("decimal(38,0)") / sf.lit(1000)).cast("bigint")


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def open_source(spark: Any, source: SourceSpec) -> SourceFrame:
    """Read ``source``'s schema (no rows yet); a StoreError names the source and location."""
    try:
        frame = read_files(spark, source.location, source.format)
        types = {f.name: f.dataType for f in frame.schema.fields}
    except Exception as exc:  # noqa: BLE001 - every failure to read is the user's to fix
        raise StoreError(
            f"cannot read source '{source.name}' at {source.location}: {_error_line(exc)}",
            hint=f"check that the path exists and holds {source.format} files"
            + ("; s3:// is read as s3a:// and needs hadoop-aws on the cluster" if source.is_s3 else ""),
        ) from None
    longs = {name for name, t in types.items() if type(t).__name__ == "LongType"}
    nanos: set[str] = set()
    if longs and source.format == "parquet":
        if source.is_s3 or "://" in source.location:
            times = {source.timestamp_field, source.created_timestamp_field}
            nanos = {n for n in longs if n in times}
        else:
            first = _first_local_file(source.location, source.format)
            if first is not None:
                from fsctl.offline.parquet_footer import read_schema

                try:
                    footer = read_schema(first)
                except Exception:  # noqa: BLE001 - then Spark's reading is all there is
                    footer = {}
                nanos = {n for n in longs if n in footer and footer[n].kind == TIMESTAMP}
    return SourceFrame(source, frame, types, frozenset(nanos))


def check_features(table: SourceFrame, view: ViewSpec, features: Sequence[str]) -> None:
    """Every requested feature's column exists and its type can serve the declared dtype."""
    declared = {f.name: f.dtype for f in view.features}
    for feature in features:
        column = table.source.column_for(feature)
        table.need(column, view, f"feature '{feature}'")
        actual = table.column_type(column)
        if not dtype_accepts(declared[feature], actual):
            raise StoreError(
                f"view '{view.name}' feature '{feature}' is declared {declared[feature]} but column "
                f"'{column}' of source '{table.source.name}' ({table.location}) is {actual}",
                hint="declare the dtype the data has, or cast the column in the source",
            )


def source_frame(
    spark: Any,
    source: SourceSpec,
    view: ViewSpec,
    *,
    keys: Sequence[str] = (),
    features: Sequence[str] = (),
    lower_us: int | None = None,
    upper_us: int | None = None,
    opened: SourceFrame | None = None,
    dtypes: dict[str, str] | None = None,
) -> Any:
    """The DataFrame of ``source``'s rows for ``view``: columns ``keys`` (entity-side names),
    ``features`` (cast to their declared dtypes), :data:`T` and :data:`C` (microseconds, C
    null without a created_timestamp_field). Rows with a null key or event time are dropped;
    with bounds, only ``lower_us <= T < upper_us`` is kept (pushed down to the files where
    the format allows). ``dtypes`` (feature -> dtype) serves features of several views on one
    source, which the caller has checked; by default they are ``view``'s, checked here."""
    from pyspark.sql import functions as sf

    table = opened or open_source(spark, source)
    if dtypes is None:
        check_features(table, view, features)
        dtypes = {f: view.dtype(f) for f in features}
    t = table.micros(source.timestamp_field, view, "timestamp_field")
    c = (
        table.micros(source.created_timestamp_field, view, "created_timestamp_field")
        if source.created_timestamp_field
        else sf.lit(None).cast("bigint")
    )
    columns = []
    for key in keys:
        table.need(source.column_for(key), view, f"join key '{key}'")
        columns.append(sf.col(_quote(source.column_for(key))).alias(key))
    columns += [table.value(source.column_for(f), dtypes[f]).alias(f) for f in features]
    frame = table.frame.select(*columns, t.alias(T), c.alias(C))
    condition = sf.col(T).isNotNull()
    for key in keys:
        condition = condition & sf.col(_quote(key)).isNotNull()
    if lower_us is not None:
        condition = condition & (sf.col(T) >= sf.lit(lower_us))
    if upper_us is not None:
        condition = condition & (sf.col(T) < sf.lit(upper_us))
    return frame.where(condition)
