"""The entity rows of a retrieval: join keys, an ``event_timestamp`` and any other columns
(labels pass through), loaded into DuckDB in their input order and checked.

Accepted inputs: a pyarrow Table or RecordBatchReader, a pandas or polars DataFrame, or a
path to a parquet or CSV file. The rows keep their
input order through ``rowid`` of the temp table they are loaded into.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline.sources import literal, quote, timestamp_sql

TIMESTAMP_COLUMN = "event_timestamp"
ROW = "__fsctl_row"
TS = "__fsctl_ts"
TABLE = "__fsctl_entities"


def _reader_sql(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({literal(str(path))})"
    if suffix == ".csv":
        return f"read_csv({literal(str(path))}, header = true, auto_detect = true)"
    raise UsageError(f"entity file {path}: unknown extension '{path.suffix}'", hint="use .parquet or .csv")


def input_label(entities: Any) -> str:
    if isinstance(entities, (str, Path)):
        return str(entities)
    return f"the entity {type(entities).__name__}"


def load_input(con: Any, entities: Any, table: str) -> None:
    """Copy ``entities`` into the temp table ``table``, in input order."""
    import duckdb

    label = input_label(entities)
    if isinstance(entities, (str, Path)):
        path = Path(entities)
        if not path.is_file():
            raise UsageError(f"entity file {path} does not exist")
        source = _reader_sql(path)
    else:
        module = type(entities).__module__.split(".")[0]
        if module == "polars":
            entities = entities.to_arrow()
        elif module not in ("pyarrow", "pandas"):
            raise UsageError(
                f"entities must be a pyarrow Table, a pandas or polars DataFrame, or a path; "
                f"got {type(entities).__name__}"
            )
        con.register("__fsctl_input", entities)
        source = "__fsctl_input"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {source}")
    except duckdb.Error as exc:
        raise UsageError(f"cannot read {label}: {str(exc).splitlines()[0]}") from None
    finally:
        if source == "__fsctl_input":
            con.unregister("__fsctl_input")


def prepare(con: Any, entities: Any, join_keys: list[str]) -> tuple[str, dict[str, str], int]:
    """Load and check the entity rows; returns (a relation to select from, the input's column
    types, the row count). The relation has the input columns plus ``__fsctl_row`` (input
    position) and ``__fsctl_ts`` (the entity time as a naive UTC timestamp)."""
    label = input_label(entities)
    load_input(con, entities, TABLE)
    relation = con.table(TABLE)
    columns = dict(zip(relation.columns, [str(t) for t in relation.types], strict=True))
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
    ts_sql = timestamp_sql(quote(TIMESTAMP_COLUMN), columns[TIMESTAMP_COLUMN])
    if ts_sql is None:
        raise UsageError(
            f"{label}: column '{TIMESTAMP_COLUMN}' is {columns[TIMESTAMP_COLUMN]}, not a timestamp",
            hint="use timestamps, or ISO-8601 strings such as 2026-01-31T12:00:00Z",
        )
    try_ts = ts_sql.replace("CAST(", "TRY_CAST(")
    # One pass finds the first bad row of every kind, and counts the rows.
    checks = [f"min(rowid) FILTER (WHERE {try_ts} IS NULL)"]
    checks += [f"min(rowid) FILTER (WHERE {quote(k)} IS NULL)" for k in join_keys]
    found = con.execute(f"SELECT count(*), {', '.join(checks)} FROM {TABLE}").fetchall()[0]
    count, bad_ts, bad_keys = found[0], found[1], found[2:]
    if bad_ts is not None:
        value = con.execute(
            f"SELECT CAST({quote(TIMESTAMP_COLUMN)} AS VARCHAR) FROM {TABLE} WHERE rowid = {int(bad_ts)}"
        ).fetchall()[0][0]
        what = "is null" if value is None else f"{value!r} is not a timestamp"
        raise UsageError(
            f"{label}: row {bad_ts + 1} column '{TIMESTAMP_COLUMN}' {what}",
            hint="every entity row needs a time; ISO-8601 without an offset is read as UTC",
        )
    for key, bad in zip(join_keys, bad_keys, strict=True):
        if bad is not None:
            raise UsageError(f"{label}: row {bad + 1} has a null join key '{key}'")
    relation = f"(SELECT *, rowid AS {ROW}, {ts_sql} AS {TS} FROM {TABLE})"
    return relation, columns, int(count)
