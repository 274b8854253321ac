"""The result of a point-in-time retrieval on Spark: a DataFrame kept by Spark (cached on
first use), read out in entity-row order.

* :meth:`SparkResult.write` — the executors write it: to a folder or URI (``s3a://``,
  ``hdfs://``, ``dbfs:/``, or a local path without a ``.parquet``/``.csv`` extension) as
  parquet parts ``part-NNNNN.parquet`` in row order, each with the request's metadata in its
  footer; to a single local ``.parquet``/``.csv`` file (what ``fsctl historical --output``
  gives) by writing the parts to a staging folder (``staging`` in the config, else beside the
  file), then streaming them in order into the file on the driver with pyarrow, one row group
  at a time: the driver never holds the result.
* :meth:`to_arrow` (via Spark's Arrow path, never pandas), :meth:`to_batches`,
  :meth:`to_pandas`, :meth:`to_polars` — collect to the driver, refused above the config's
  ``collect_limit`` rows with a UsageError pointing at ``write`` / ``--output``.
* :meth:`to_spark` — the DataFrame itself, in order, for further Spark work.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.errors import StoreError, UsageError
from fsctl.offline.base import RetrievalStats
from fsctl.offline.spark.entities import ROW

if TYPE_CHECKING:
    from fsctl.offline.spark import SparkEngineConfig


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _first_line(exc: BaseException) -> str:
    """The line of a Spark error worth showing (for a Python worker's traceback, its last error)."""
    import re

    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    if "Python worker" in lines[0]:
        errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line)]
        if errors:
            return errors[-1][:400]
    return lines[0][:400]


class SparkResult:
    """A :class:`~fsctl.offline.base.RetrievalResult` kept as a Spark DataFrame."""

    def __init__(
        self,
        frame: Any,
        columns: list[str],
        matched: dict[str, str],
        rows: int,
        metadata: dict[str, str],
        config: SparkEngineConfig,
        cached: list[Any] | None = None,
    ) -> None:
        self._frame = frame.persist()
        self.columns = columns
        self._matched = matched
        self.rows = rows
        self.metadata = dict(metadata)
        self._config = config
        self._cached = [*(cached or []), self._frame]

    def __len__(self) -> int:
        return self.rows

    def to_spark(self) -> Any:
        """The rows as a Spark DataFrame, sorted in entity-row order."""
        return self._frame.orderBy(ROW).select(*[_q(c) for c in self.columns])

    def _run(self, what: str, action: Any) -> Any:
        try:
            return action()
        except (UsageError, StoreError):
            raise
        except Exception as exc:  # noqa: BLE001 - Spark fails reading data at run time
            raise StoreError(
                f"point-in-time join failed ({what}): {_first_line(exc)}",
                hint="check that the sources' files are complete and readable",
            ) from None

    def stats(self) -> RetrievalStats:
        if not self._matched:
            return RetrievalStats(self.rows, {})
        from pyspark.sql import functions as sf

        sums = [sf.sum(sf.col(c).cast("long")) for c in self._matched.values()]
        counts = self._run("counting matches", lambda: self._frame.agg(*sums).collect()[0])
        return RetrievalStats(
            self.rows, {view: int(n or 0) / self.rows for view, n in zip(self._matched, counts, strict=True)}
        )

    def _collectable(self) -> None:
        limit = self._config.collect_limit
        if self.rows > limit:
            raise UsageError(
                f"the training set has {self.rows:,} rows, more than the spark engine brings to the driver "
                f"(collect_limit: {limit:,})",
                hint="write it with --output (result.write(path)) or use result.to_spark(); "
                "or raise offline_store.collect_limit",
            )

    def to_arrow(self) -> Any:
        """A pyarrow Table (collected through Arrow; refused above ``collect_limit`` rows)."""
        self._collectable()
        return self._run("collecting", lambda: self.to_spark().toArrow())

    def to_batches(self, batch_size: int = 100_000) -> Any:
        import pyarrow as pa

        table = self.to_arrow()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_size))

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def _write_parts(self, target: str) -> list[tuple[int, int]]:
        """Executors write the sorted rows as parquet parts under ``target``; (part, rows) pairs."""
        from pyspark import cloudpickle

        from fsctl.offline.spark import parts

        cloudpickle.register_pickle_by_value(parts)  # type: ignore[no-untyped-call]  # executors need pyarrow, not fsctl
        writer = parts.part_writer(target, self.metadata)
        written = self.to_spark().mapInArrow(writer, "part int, rows long")
        found = self._run("writing", lambda: written.collect())
        return sorted((int(r["part"]), int(r["rows"])) for r in found if r["rows"])

    def write(self, path: str | Path) -> Path:
        """Write to ``path`` (see the module docstring): a folder or URI of parquet parts, or one
        local parquet or CSV file; no half-written file is left on failure."""
        text = str(path)
        suffix = Path(text).suffix.lower()
        if "://" in text or text.startswith("dbfs:") or suffix not in (".parquet", ".csv"):
            if suffix == ".csv":
                raise UsageError(f"output {text}: CSV is written to a local file only", hint="use parquet")
            self._write_parts(text)
            return Path(text)
        target = Path(text)
        staging = self._staging(target)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            done = self._write_parts(staging)
            self._merge(staging, done, tmp, suffix)
            tmp.replace(target)
        except OSError as exc:
            raise UsageError(
                f"cannot write output file {target}: {_first_line(exc)}",
                hint="write to a file path in a folder you can write to",
            ) from None
        finally:
            if tmp.is_file():
                tmp.unlink()
            self._remove(staging)
        return target

    def _staging(self, target: Path) -> str:
        name = f"fsctl-parts-{uuid.uuid4().hex[:12]}"
        if self._config.staging:
            return self._config.staging.rstrip("/") + "/" + name
        return str(target.parent.resolve() / f".{target.name}.{name}")

    def _remove(self, staging: str) -> None:
        from fsctl.offline.spark.parts import filesystem_path

        if "://" not in staging:
            shutil.rmtree(staging, ignore_errors=True)
            return
        try:
            filesystem, base = filesystem_path(staging)
            filesystem.delete_dir(base)
        except Exception:  # noqa: BLE001 - best effort: the parts are only a copy
            pass

    def _merge(self, staging: str, done: list[tuple[int, int]], tmp: Path, suffix: str) -> None:
        """Stream the parts, in order, into one file (one row group at a time)."""
        import pyarrow.parquet as pq

        from fsctl.offline.spark.parts import filesystem_path

        filesystem, base = filesystem_path(staging)
        writer: Any = None
        try:
            for part, _rows in done:
                source = pq.ParquetFile(filesystem.open_input_file(f"{base.rstrip('/')}/part-{part:05d}.parquet"))
                for group in range(source.num_row_groups):
                    table = source.read_row_group(group)
                    if writer is None:
                        writer = self._writer(tmp, suffix, table.schema)
                    writer.write_table(table) if suffix == ".parquet" else writer.write(table)
            if writer is None:  # no rows: still a file with the columns
                schema = self.to_spark().limit(0).toArrow().schema
                writer = self._writer(tmp, suffix, schema)
        finally:
            if writer is not None:
                writer.close()

    def _writer(self, tmp: Path, suffix: str, schema: Any) -> Any:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetWriter(tmp, schema.with_metadata(self.metadata or None))
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(tmp, schema.remove_metadata())

    def to_parquet(self, path: str | Path) -> Path:
        return self.write(Path(path) if str(path).lower().endswith(".parquet") else f"{path}.parquet")

    def close(self) -> None:
        for frame in self._cached:
            try:
                frame.unpersist()
            except Exception:  # noqa: BLE001 - the session may already be gone
                pass
        self._cached = []

    def __enter__(self) -> SparkResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
