"""Entity rows as every command takes them: one reader for files and in-memory frames.

``fsctl historical``, ``fsctl online --entities`` (and later ``fsctl score``) and the
Python API all turn what they are given into an :class:`EntityInput` with
:func:`entity_input`:

* a path to a parquet file (``.parquet``), a CSV file with a header (``.csv``), or JSON
  lines, one object per line (``.jsonl``, ``.ndjson``, ``.json``);
* a pyarrow Table or RecordBatchReader, a pandas DataFrame, or a polars DataFrame (taken as
  arrow);
* for the Spark engine only: a Spark DataFrame (recognised by its type's module, so pyspark
  is never imported here) or a table name written ``table:db.name``.

An engine loads the input its own way (DuckDB reads the file itself, keeping its type
detection); :meth:`EntityInput.columns` reads chosen columns into Python lists for online
reads. Every problem is one UsageError naming the file or the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.errors import UsageError

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass(frozen=True)
class EntityInput:
    """A file (``path`` and ``format``), an in-memory ``frame`` (pyarrow, pandas or Spark), or
    a Spark ``table`` name."""

    label: str  # what messages call it: the path, or "the entity DataFrame"
    path: Path | None = None
    format: str | None = None  # parquet | csv | jsonl
    frame: Any = None
    table: str | None = None  # a Spark table name (the spark engine only)

    @property
    def is_spark(self) -> bool:
        """A Spark DataFrame (classic or Spark Connect)."""
        return self.frame is not None and type(self.frame).__module__.split(".")[0] == "pyspark"

    def spark_only(self, engine: str) -> UsageError | None:
        """The error for an engine that cannot read this input (a Spark frame or table), or None."""
        if self.table is None and not self.is_spark:
            return None
        return UsageError(
            f"{self.label} can only be read by the spark engine, not {engine}",
            hint="set offline_store: {type: spark} in fsctl.yaml, or pass a file or a pandas/arrow frame",
        )

    def columns(
        self,
        keys: tuple[str, ...] | list[str],
        needed_by: str = "",
        missing: Callable[[str], UsageError] | None = None,
    ) -> dict[str, list[Any]]:
        """The ``keys`` columns as Python lists. A missing column is ``missing(key)`` when
        given, else a UsageError naming the input and ``needed_by`` (e.g. "the requested
        features are keyed by a, b")."""
        table = self.to_arrow()
        if hasattr(table, "read_all"):  # a RecordBatchReader
            table = table.read_all()
        arrow = hasattr(table, "column_names")
        names = [str(c) for c in (table.column_names if arrow else table.columns)]
        absent = [k for k in keys if k not in names]
        if absent and missing is not None:
            raise missing(absent[0])
        if absent:
            raise UsageError(
                f"{self._what()} has no column {', '.join(repr(k) for k in absent)} "
                f"(columns: {', '.join(names) or 'none'})",
                hint=needed_by or None,
            )
        if arrow:
            return {k: table.column(k).to_pylist() for k in keys}
        return {k: table[k].tolist() for k in keys}  # pandas

    def to_arrow(self) -> Any:
        """The rows as a pyarrow Table (a file is read; a pandas frame converted without its index)."""
        if self.path is not None:
            return self._arrow()
        if self.table is not None:
            raise UsageError(f"{self.label} can only be read by the spark engine's retrieval")
        frame = self.frame
        if self.is_spark:
            return frame.toArrow()
        if hasattr(frame, "read_all"):  # a RecordBatchReader
            return frame.read_all()
        if type(frame).__module__.split(".")[0] == "pandas":
            import pyarrow as pa

            return pa.Table.from_pandas(frame, preserve_index=False)
        return frame

    def _what(self) -> str:
        return f"entity file {self.path}" if self.path is not None else self.label

    def _arrow(self) -> Any:
        import pyarrow as pa

        assert self.path is not None
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                return pq.read_table(self.path)
            if self.format == "csv":
                import pyarrow.csv as pcsv

                return pcsv.read_csv(self.path)
            import pyarrow.json as pjson

            return pjson.read_json(self.path)
        except (pa.ArrowException, OSError) as exc:
            what = " (JSON lines expected: one object per line)" if self.format == "jsonl" else ""
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"cannot read entity file {self.path}{what}: {first}") from None


def entity_input(value: Any) -> EntityInput:
    """``value`` (a path or a frame, see the module docstring) as an EntityInput, checked."""
    if isinstance(value, EntityInput):
        return value
    if isinstance(value, str) and value.startswith("table:"):
        name = value[len("table:") :].strip()
        if not name:
            raise UsageError("entities 'table:' names no table", hint="write table:db.name")
        return EntityInput(label=f"entity table {name}", table=name)
    if isinstance(value, (str, Path)):
        path = Path(value)
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UsageError(
                f"entity file {path}: unknown extension '{path.suffix}'",
                hint="use .parquet, .csv or .jsonl (JSON lines)",
            )
        if not path.is_file():
            raise UsageError(f"entity file {path} does not exist")
        return EntityInput(label=str(path), path=path, format=fmt)
    module = type(value).__module__.split(".")[0]
    if module == "polars":
        return EntityInput(label=f"the entity {type(value).__name__}", frame=value.to_arrow())
    if module == "pyspark" and hasattr(value, "schema"):
        return EntityInput(label="the entity Spark DataFrame", frame=value)
    if module in ("pyarrow", "pandas"):
        return EntityInput(label=f"the entity {type(value).__name__}", frame=value)
    raise UsageError(
        "entities must be a pyarrow Table, a pandas or polars DataFrame, a path to a parquet, CSV "
        f"or JSON-lines file, or (spark engine) a Spark DataFrame or table:NAME; got {type(value).__name__}"
    )
