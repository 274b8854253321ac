"""The result of a point-in-time retrieval: a table kept in DuckDB (which spills to disk when
it outgrows memory), read out in entity-row order as arrow, pandas or polars, as a stream of
record batches, or written to parquet or CSV without first holding it all in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline.base import RetrievalStats
from fsctl.offline.duckdb.sources import literal, quote

ROW = "__fsctl_row"


class DuckDBResult:
    """A :class:`~fsctl.offline.base.RetrievalResult` kept as a DuckDB temp table."""

    def __init__(
        self,
        con: Any,
        table: str,
        columns: list[str],
        matched: dict[str, str],
        rows: int,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self._con = con
        self._table = table
        self.columns = columns
        self._matched = matched
        self.rows = rows
        self.metadata = dict(metadata or {})

    def __len__(self) -> int:
        return self.rows

    def _select(self) -> str:
        cols = ", ".join(quote(c) for c in self.columns)
        return f"SELECT {cols} FROM {self._table} ORDER BY {ROW}"

    def stats(self) -> RetrievalStats:
        if not self._matched or not self.rows:
            return RetrievalStats(self.rows, dict.fromkeys(self._matched, 0.0))
        sums = ", ".join(f"count_if({c})" for c in self._matched.values())
        counts = self._con.execute(f"SELECT {sums} FROM {self._table}").fetchall()[0]
        return RetrievalStats(
            self.rows, {view: int(n) / self.rows for view, n in zip(self._matched, counts, strict=True)}
        )

    def to_arrow(self) -> Any:
        """A pyarrow Table."""
        return self._con.sql(self._select()).to_arrow_table()

    def to_batches(self, batch_size: int = 100_000) -> Any:
        """A pyarrow RecordBatchReader streaming the rows in order."""
        return self._con.sql(self._select()).to_arrow_reader(batch_size)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def write(self, path: str | Path) -> Path:
        """Write to ``path``: parquet (with :attr:`metadata` in its footer) or CSV (no
        metadata), chosen by its extension, streamed from DuckDB."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            options = "FORMAT parquet"
            if self.metadata:  # into the file's footer (parquet key-value metadata)
                pairs = ", ".join(f"{quote(k)}: {literal(v)}" for k, v in sorted(self.metadata.items()))
                options += f", KV_METADATA {{{pairs}}}"
        elif suffix == ".csv":
            options = "FORMAT csv, HEADER true"
        else:
            raise UsageError(
                f"output file {path}: unknown extension '{path.suffix}'", hint="use .parquet or .csv"
            )
        import duckdb

        tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._con.execute(f"COPY ({self._select()}) TO {literal(str(tmp))} ({options})")
            tmp.replace(path)
        except (OSError, duckdb.Error) as exc:  # a path the user can fix: no half-written file
            if tmp.is_file():
                tmp.unlink()
            raise UsageError(
                f"cannot write output file {path}: {str(exc).splitlines()[0]}",
                hint="write to a file path in a folder you can write to",
            ) from None
        return path

    def to_parquet(self, path: str | Path) -> Path:
        return self.write(Path(path) if str(path).lower().endswith(".parquet") else f"{path}.parquet")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DuckDBResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
