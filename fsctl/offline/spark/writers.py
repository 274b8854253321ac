"""Writers on the executors: the latest rows of a window written into the online store by
the Spark tasks that hold them (``mapInArrow``), never through the driver.

Each task opens the store once, through the picklable
:class:`~fsctl.offline.base.SinkOpener` the materialize service built from the online
store's config, writes its partition in batches with the store's never-older write (so a
retried task, or a re-run, cannot replace a newer value), makes the writes durable
(``close`` syncs) and yields one row of counts; the driver sums them into
:class:`~fsctl.offline.base.WriteCounts`. A task that fails fails the job, and the job's
error becomes one :class:`~fsctl.errors.StoreError`: the service then records the run as
failed and leaves the watermark where it was; what the other tasks wrote stays and is
rewritten idempotently by the next run.

A store that is a file on this machine (SQLite) is written from the executors only when
they run on this machine (a ``local[N]`` master; SQLite's locking serializes the tasks'
transactions); elsewhere the engine declines and the records stream through the driver.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.base import RecordSink, SinkOpener, WriteCounts
from fsctl.offline.spark.frames import first_line, spark_errors
from fsctl.online.format import StoredRecord, encode_key

_COUNTS_SCHEMA = "sent long, written long, newest long"


def executors_are_local(spark: Any) -> bool:
    """True when Spark's tasks run on this machine (a ``local`` master)."""
    try:
        master = str(spark.sparkContext.master)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext here: ask its conf
        try:
            master = str(spark.conf.get("spark.master", ""))
        except Exception:  # noqa: BLE001
            return False
    return master.startswith("local")


def _records(batch: Any, width: int | None) -> list[StoredRecord]:
    """An Arrow batch of ``(key | k0.., t, c, v)`` as stored records."""
    columns = [column.to_pylist() for column in batch.columns]
    if width is None:
        return list(zip(*columns, strict=True))
    keys = [encode_key(key) for key in zip(*columns[:width], strict=True)]
    return list(zip(keys, *columns[width:], strict=True))


def write_task(
    opener: SinkOpener, width: int | None, batch_size: int, batches: Iterator[Any]
) -> Iterator[Any]:
    """One task: write every batch of its partition, then yield its counts (one row)."""
    import pyarrow as pa

    sink: RecordSink | None = None
    sent = written = 0
    newest: int | None = None
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if sink is None:
                sink = opener()
            records = _records(batch, width)
            for start in range(0, len(records), batch_size):
                chunk = records[start : start + batch_size]
                written += sink.write(chunk)
                sent += len(chunk)
            top = max(record[1] for record in records)
            newest = top if newest is None or top > newest else newest
        if sink is not None:
            sink.close()  # durable before the task reports success
            sink = None
    finally:
        if sink is not None:  # failed: release the store, keep the first error
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                pass
    yield pa.RecordBatch.from_pydict(
        {"sent": [sent], "written": [written], "newest": [newest]},
        schema=pa.schema([("sent", pa.int64()), ("written", pa.int64()), ("newest", pa.int64())]),
    )


def task_error(exc: BaseException) -> str:
    """The error a task raised (the last line of a Python worker's traceback), else the first line."""
    import re

    text = str(exc)
    if "Traceback" in text:
        found = [line for line in text.splitlines() if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", line)]
        if found:
            return found[-1].split(": ", 1)[1].strip()
    return first_line(exc)


def write_partitions(df: Any, opener: SinkOpener, width: int | None, batch_size: int) -> WriteCounts:
    """Write ``df`` (``(key | k0.., t, c, v)`` rows) from its partitions; the summed counts."""
    from pyspark.sql import functions as sf

    task = functools.partial(write_task, opener, width, max(1, batch_size))
    counts = df.mapInArrow(task, _COUNTS_SCHEMA).agg(
        sf.coalesce(sf.sum("sent"), sf.lit(0)),
        sf.coalesce(sf.sum("written"), sf.lit(0)),
        sf.count_if(sf.col("sent") > 0),
        sf.max("newest"),
    )
    try:
        row = counts.collect()[0]
    except spark_errors() as exc:
        raise StoreError(
            f"writing into the online store from the Spark executors failed: {task_error(exc)}",
            hint="fix the cause and run materialize again; rows already written are kept and the watermark did not move",
        ) from None
    newest = int(row[3]) if row[3] is not None else None
    return WriteCounts(sent=int(row[0]), written=int(row[1]), tasks=int(row[2]), newest_event_us=newest)
