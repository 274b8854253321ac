"""The entity rows of a retrieval on Spark, as a DataFrame with their input order kept.

What an :class:`~fsctl.offline.entity_input.EntityInput` can be, and how its order is kept
in a 64-bit row index (:data:`ROW`):

* a Spark DataFrame or a table name (``table:db.name``): read where it lives; the index is
  ``monotonically_increasing_id()`` (ordered like the frame's partitions, not contiguous);
* a parquet file: read by Spark; the index is the row's position in the file
  (``_metadata.row_index``);
* a CSV or JSON-lines file, or a pyarrow/pandas/polars frame: read on the driver (pyarrow's
  type detection, as for online reads) and handed to Spark through Arrow, indexed 0..n-1.

:data:`TS` is the entity time in microseconds since the epoch (naive times are UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline.entity_input import EntityInput
from fsctl.offline.schema import TIMESTAMP, ColumnType
from fsctl.offline.spark.sources import column_type, nanos_to_micros, time_micros

TIMESTAMP_COLUMN = "event_timestamp"
ROW = "__fsctl_row"
TS = "__fsctl_ts"


@dataclass
class EntityFrame:
    """The checked entity rows: ``frame`` has the input columns (in ``columns``), ROW and TS."""

    frame: Any
    columns: list[str]
    types: dict[str, ColumnType]
    rows: int
    min_ts: int
    max_ts: int
    contiguous: bool  # ROW is 0..rows-1 (row numbers in messages are exact)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _arrow_for_spark(table: Any) -> Any:
    """Arrow types Spark reads: nanosecond times as microseconds, dictionaries decoded."""
    import pyarrow as pa

    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us", tz=t.tz)
        if pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema, safe=False)


def _raw(spark: Any, entities: EntityInput) -> tuple[Any, bool]:
    """(the DataFrame with ROW, whether ROW is contiguous)."""
    from pyspark.sql import functions as sf

    if entities.table is not None:
        try:
            frame = spark.table(entities.table)
        except Exception as exc:  # noqa: BLE001 - a table the user named
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"cannot read {entities.label}: {first}") from None
        return frame.withColumn(ROW, sf.monotonically_increasing_id()), False
    if entities.is_spark:
        return entities.frame.withColumn(ROW, sf.monotonically_increasing_id()), False
    if entities.path is not None and entities.format == "parquet":
        try:
            frame = spark.read.parquet(str(entities.path.resolve()))
            frame = frame.select("*", sf.col("_metadata.row_index").alias(ROW))
            frame.schema  # noqa: B018 - reads the footer: a bad file fails here
        except Exception as exc:  # noqa: BLE001
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"cannot read entity file {entities.path}: {first}") from None
        return _nanos_to_timestamps(frame, entities), True
    import pyarrow as pa

    table = _arrow_for_spark(entities.to_arrow())
    table = table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))
    frame = spark.createDataFrame(table)
    naive = [f.name for f in table.schema if pa.types.is_timestamp(f.type) and f.type.tz is None]
    for name in naive:  # Spark reads arrow's naive times as zoned; keep them naive (UTC wall time)
        frame = frame.withColumn(name, sf.col(_q(name)).cast("timestamp_ntz"))
    return frame, True


def _nanos_to_timestamps(frame: Any, entities: EntityInput) -> Any:
    """Nanosecond timestamps of a parquet file (read as integers) back as timestamps."""
    from pyspark.sql import functions as sf

    from fsctl.offline.parquet_footer import read_schema

    assert entities.path is not None
    longs = [f.name for f in frame.schema.fields if type(f.dataType).__name__ == "LongType" and f.name != ROW]
    if not longs:
        return frame
    footer = read_schema(entities.path)
    for name in longs:
        if name in footer and footer[name].kind == TIMESTAMP:
            col = sf.col(_q(name))
            frame = frame.withColumn(name, sf.timestamp_micros(nanos_to_micros(col)))
    return frame


def _ts(frame: Any, label: str) -> Any:
    from pyspark.sql import functions as sf

    found = time_micros(sf.col(TIMESTAMP_COLUMN), type(frame.schema[TIMESTAMP_COLUMN].dataType).__name__)
    if found is not None:
        return found
    raise UsageError(
        f"{label}: column '{TIMESTAMP_COLUMN}' is {frame.schema[TIMESTAMP_COLUMN].dataType.simpleString()}, "
        "not a timestamp",
        hint="use timestamps, or ISO-8601 strings such as 2026-01-31T12:00:00Z",
    )


def prepare(spark: Any, entities: EntityInput, join_keys: list[str]) -> EntityFrame:
    """Load and check the entity rows (one pass over them), cached for the join."""
    from pyspark.sql import functions as sf

    label = entities.label
    raw, contiguous = _raw(spark, entities)
    columns = [c for c in raw.columns if c != ROW]
    shown = ", ".join(columns)
    for reserved in (ROW, TS):
        if reserved in columns:
            raise UsageError(f"{label}: column '{reserved}' is reserved by fsctl; rename it")
    if TIMESTAMP_COLUMN not in columns:
        raise UsageError(
            f"{label} has no '{TIMESTAMP_COLUMN}' column (columns: {shown})",
            hint="add the time of each entity row as event_timestamp",
        )
    missing = [k for k in join_keys if k not in columns]
    if missing:
        raise UsageError(
            f"{label} has no join key column {', '.join(repr(k) for k in missing)} (columns: {shown})",
            hint="the requested views are keyed by " + ", ".join(join_keys),
        )
    frame = raw.withColumn(TS, _ts(raw, label)).persist()
    checks = [sf.count(sf.lit(1)), sf.min(TS), sf.max(TS), sf.min(sf.when(sf.col(TS).isNull(), sf.col(ROW)))]
    checks += [sf.min(sf.when(sf.col(_q(k)).isNull(), sf.col(ROW))) for k in join_keys]
    found = frame.agg(*checks).collect()[0]
    count, min_ts, max_ts, bad_ts, bad_keys = found[0], found[1], found[2], found[3], found[4:]

    def where(row: int) -> str:
        return f"row {row + 1}" if contiguous else "a row"

    if count == 0:
        frame.unpersist()
        raise UsageError(
            f"{label} has no rows, so there is no training set to build",
            hint="give at least one entity row (join keys and event_timestamp)",
        )
    if bad_ts is not None:
        value = frame.where(sf.col(ROW) == bad_ts).select(sf.col(TIMESTAMP_COLUMN).cast("string")).collect()[0][0]
        frame.unpersist()
        what = "is null" if value is None else f"{value!r} is not a timestamp"
        raise UsageError(
            f"{label}: {where(bad_ts)} column '{TIMESTAMP_COLUMN}' {what}",
            hint="every entity row needs a time; ISO-8601 without an offset is read as UTC",
        )
    for key, bad in zip(join_keys, bad_keys, strict=True):
        if bad is not None:
            frame.unpersist()
            raise UsageError(f"{label}: {where(bad)} has a null join key '{key}'")
    types = {f.name: column_type(f.dataType) for f in frame.schema.fields if f.name in columns}
    return EntityFrame(frame, columns, types, int(count), int(min_ts), int(max_ts), contiguous)
