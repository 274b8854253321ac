"""Writing a DataFrame as parquet parts from the executors, with fsctl's key-value metadata
in every footer (Spark's own writer cannot add it).

:func:`part_writer` returns the function a ``mapInArrow`` runs on each partition: it writes
the partition's batches with pyarrow to ``TARGET/part-NNNNN.parquet`` (NNNNN: the partition
index, so the parts of a sorted frame are in order) and yields one row (part, rows). It
imports only pyarrow and pyspark, and is shipped to the executors by value (cloudpickle), so
the executors need pyarrow but not fsctl. ``TARGET`` is a local folder or any URI pyarrow's
filesystems open (``s3://``; ``s3a://`` is read as ``s3://``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def filesystem_path(target: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path in it) for a local folder or a URI."""
    from pyarrow import fs

    if target.startswith("s3a://"):
        target = "s3://" + target[len("s3a://") :]
    if "://" not in target:
        return fs.LocalFileSystem(), target
    return fs.FileSystem.from_uri(target)  # type: ignore[no-any-return]


def part_writer(target: str, metadata: dict[str, str]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    def write(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        context = TaskContext.get()
        part = context.partitionId() if context is not None else 0
        filesystem, base = filesystem_path(target)
        filesystem.create_dir(base.rstrip("/"), recursive=True)
        path = f"{base.rstrip('/')}/part-{part:05d}.parquet"
        writer = None
        rows = 0
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if writer is None:
                    schema = batch.schema.with_metadata(metadata or None)
                    writer = pq.ParquetWriter(path, schema, filesystem=filesystem)
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        yield pa.RecordBatch.from_pydict(
            {"part": pa.array([part], pa.int32()), "rows": pa.array([rows], pa.int64())}
        )

    return write
