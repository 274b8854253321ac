"""The latest row per entity key of one view in a window, for materialization, on Spark.

One splittable aggregate picks, per key, the row with the latest event time in
``[start, end)`` (ties: the latest created time; a null created time loses): ``max_by`` of
the row over the ordering ``(event µs, created is not null, created µs)``. Spark combines it
on the map side, so a key holding a third of the rows costs no more than any other (a
window sort would put them all in one task). Only the winners are then encoded, once per key,
in the online store's stored form (:mod:`fsctl.online.format`), written in Spark SQL from the
format's rules, exactly the DuckDB engine's records: keys as text (integer, string and bool
parts by ``CAST``, dates, timestamps and bytes formatted as the key rule writes them, other
types through :func:`~fsctl.online.format.encode_key`), values as one JSON object built
field by field (floats as JSON numbers, NaN and infinities as Python's ``json`` writes them).

The result is persisted on the executors (memory, then disk), counted, and then either
streamed to the driver in batches (:meth:`SparkLatestRows.batches`) or written into the
online store by the executors themselves (:meth:`SparkLatestRows.write`, see
:mod:`.writers`): never collected whole on the driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fsctl.offline.base import SinkOpener, WriteCounts
from fsctl.offline.requests import LatestRequest, ViewSpec
from fsctl.offline.spark.frames import (
    SourceFrame,
    check_features,
    literal,
    open_frame,
    quote,
    read_error,
    spark_errors,
    spark_type,
    window_sql,
)
from fsctl.online.format import BASE64, EPOCH_MICROS, StoredRecord, encode_key, value_rule

_NATIVE_KEYS = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "StringType",
    "VarcharType",
    "CharType",
    "BooleanType",
)
_NULL_PART, _SEPARATOR = "chr(0)", "chr(31)"
_JSON_OPTIONS = "map('ignoreNullFields', 'false')"


def _float_json(x: str) -> str:
    """JSON text of a double ``x`` as Python's json writes it (NaN, Infinity, -Infinity)."""
    return (
        f"CASE WHEN {x} IS NULL THEN 'null' WHEN isnan({x}) THEN 'NaN' "
        f"WHEN {x} = double('inf') THEN 'Infinity' WHEN {x} = double('-inf') THEN '-Infinity' "
        f"ELSE CAST({x} AS STRING) END"
    )


def _as_json(x: str) -> str:
    """JSON text of any value Spark's to_json writes as fsctl stores it (a one-field struct, unwrapped)."""
    wrapped = f"to_json(named_struct('v', {x}), {_JSON_OPTIONS})"
    return f"substr({wrapped}, 6, length({wrapped}) - 6)"


def _timestamp_us(x: str, data_type: Any) -> str:
    if type(data_type).__name__ == "TimestampType":
        return f"unix_micros({x})"
    return f"unix_micros(CAST({x} AS TIMESTAMP))"  # naive (UTC wall time), a date, ISO text


def value_json(column: str, dtype: str, data_type: Any) -> str:
    """SQL of the stored JSON text of a feature value ``column`` (of Spark type ``data_type``),
    by the format's rule for ``dtype``; a ``timestamp`` value is microseconds already."""
    rule, is_list = value_rule(dtype)
    base = dtype[5:-1] if is_list else dtype
    if base in ("float32", "float64"):
        if not is_list:
            return _float_json(f"CAST({column} AS DOUBLE)")
        items = f"transform({column}, e -> {_float_json('CAST(e AS DOUBLE)')})"
        return f"CASE WHEN {column} IS NULL THEN 'null' ELSE concat('[', array_join({items}, ','), ']') END"
    if rule == EPOCH_MICROS:
        if is_list:
            element = data_type.elementType
            return _as_json(f"transform({column}, e -> {_timestamp_us('e', element)})")
        return f"coalesce(CAST({column} AS STRING), 'null')"
    if rule == BASE64:
        return _as_json(f"transform({column}, e -> base64(e))" if is_list else f"base64({column})")
    return _as_json(f"CAST({column} AS {spark_type(dtype)})")


def _key_part_sql(column: str, data_type: Any) -> str | None:
    """SQL of one key part's text by the key rule, or None when Python must encode it."""
    name = type(data_type).__name__
    if name in _NATIVE_KEYS:
        return f"coalesce(CAST({column} AS STRING), {_NULL_PART})"
    if name == "DateType":
        return f"coalesce(CAST({column} AS STRING), {_NULL_PART})"
    if name == "BinaryType":
        return f"coalesce(lower(hex({column})), {_NULL_PART})"
    if name in ("TimestampType", "TimestampNTZType"):
        us = _timestamp_us(column, data_type)
        text = (
            f"concat(date_format(timestamp_micros({us}), \"yyyy-MM-dd'T'HH:mm:ss\"), "
            f"CASE WHEN pmod({us}, 1000000) != 0 THEN concat('.', lpad(CAST(pmod({us}, 1000000) AS STRING), 6, '0')) "
            "ELSE '' END, '+00:00')"
        )
        return f"coalesce({text}, {_NULL_PART})"
    return None


class SparkLatestRows:
    """A :class:`~fsctl.offline.base.LatestRows` over a persisted Spark DataFrame of
    ``(key or k0.., event_ts, created_ts, values)``; writable by the executors."""

    def __init__(self, frame: SourceFrame, cached: Any, width: int | None, keys: int, rows_read: int) -> None:
        self._frame, self._cached, self._df = frame, cached, cached.drop("n")
        self._width = width  # None: the key is text already; else the raw key columns to encode
        self.keys, self.rows_read = keys, rows_read

    def _release(self) -> None:
        try:
            self._cached.unpersist()
        except Exception:  # noqa: BLE001 - a stopped session has nothing left to free
            pass

    def batches(self, size: int) -> Iterator[list[StoredRecord]]:
        """The records streamed to the driver partition by partition, in batches of ``size``."""
        width = self._width
        batch: list[StoredRecord] = []
        try:
            for row in self._df.toLocalIterator(prefetchPartitions=True):
                if width is None:
                    batch.append((row[0], row[1], row[2], row[3]))
                else:
                    batch.append((encode_key(tuple(row[:width])), row[width], row[width + 1], row[width + 2]))
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        except spark_errors() as exc:
            raise read_error(self._frame, exc) from None
        finally:
            self._release()

    def write(self, opener: SinkOpener, batch_size: int) -> WriteCounts | None:
        """Write every record into the online store from the executors (see :mod:`.writers`);
        None when the store cannot be opened where the executors run (a local file and a
        cluster), so the caller streams the records through :meth:`batches` instead."""
        from fsctl.offline.spark.writers import executors_are_local, write_partitions

        if getattr(opener, "local", False) and not executors_are_local(self._df.sparkSession):
            return None
        try:
            return write_partitions(self._df, opener, self._width, batch_size)
        finally:
            self._release()


def _select(frame: SourceFrame, view: ViewSpec, request: LatestRequest) -> tuple[Any, int | None]:
    """The latest row per key as ``(key | k0.., t, c, v, n)``, and the raw key width (None:
    the key is SQL text). Rows are grouped by their raw keys and only the winners are
    encoded (key text and JSON are built once per key, not per source row)."""
    from pyspark.sql import functions as sf

    source = view.source
    t_us = frame.timestamp_us(source.timestamp_field, view, "timestamp_field")
    c_us = (
        frame.timestamp_us(source.created_timestamp_field, view, "created_timestamp_field")
        if source.created_timestamp_field
        else "CAST(NULL AS BIGINT)"
    )
    key_columns = [source.column_for(k) for k in view.join_keys]
    key_types = [
        frame.need(c, view, f"join key '{k}'") for k, c in zip(view.join_keys, key_columns, strict=True)
    ]
    columns = [frame.source.column_for(f.name) for f in view.features]
    raw = [
        frame.timestamp_us(c, view, f"feature '{f.name}'") if f.dtype == "timestamp" else quote(c)
        for f, c in zip(view.features, columns, strict=True)
    ]
    keys = [f"k{i}" for i in range(len(key_columns))]
    rows = frame.df.selectExpr(
        *(f"{quote(c)} AS k{i}" for i, c in enumerate(key_columns)),
        f"{t_us} AS t",
        f"{c_us} AS c",
        *(f"{sql} AS f{i}" for i, sql in enumerate(raw)),
    ).where(window_sql("t", request.window))
    order = "named_struct('t', t, 'has_c', c IS NOT NULL, 'c', coalesce(c, 0))"
    fields = ", ".join(["'t', t", "'c', c", *(f"'f{i}', f{i}" for i in range(len(raw)))])
    latest = rows.groupBy(*keys).agg(
        sf.expr(f"max_by(named_struct({fields}), {order})").alias("r"), sf.count("*").alias("n")
    )
    values = [
        f"{literal(json.dumps(f.name) + ':')} || {value_json(f'r.f{i}', f.dtype, frame.columns[c])}"
        for i, (f, c) in enumerate(zip(view.features, columns, strict=True))
    ]
    json_sql = "concat('{', " + " || ',' || ".join(values) + ", '}')" if values else "'{}'"
    parts = [_key_part_sql(k, t) for k, t in zip(keys, key_types, strict=True)]
    if all(p is not None for p in parts):
        key_sql = [f"{f' || {_SEPARATOR} || '.join(p for p in parts if p is not None)} AS key"]
        width = None
    else:
        key_sql, width = keys, len(keys)
    out = latest.selectExpr(*key_sql, "r.t AS t", "r.c AS c", f"{json_sql} AS v", "n")
    return out, width


def latest_rows(spark: Any, request: LatestRequest) -> SparkLatestRows:
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    view = request.view
    frame = open_frame(spark, view.source)
    check_features(frame, view, view.feature_names)
    out, width = _select(frame, view, request)
    try:
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
        counts = out.agg(sf.count("*"), sf.coalesce(sf.sum("n"), sf.lit(0))).collect()[0]
    except spark_errors() as exc:
        try:
            out.unpersist()
        except Exception:  # noqa: BLE001
            pass
        raise read_error(frame, exc) from None
    return SparkLatestRows(frame, out, width, int(counts[0]), int(counts[1]))
