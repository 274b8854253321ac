"""The entity rows of a retrieval (an :class:`~fsctl.offline.entity_input.EntityInput`):
join keys, an ``event_timestamp`` and any other columns (labels pass through), loaded into
DuckDB in their input order and checked. Files are read by DuckDB itself (parquet, CSV
with its type detection, JSON lines); frames are scanned in place. The rows keep their
input order through ``rowid`` of the temp table they are loaded into.
"""

from __future__ import annotations

from typing import Any

from fsctl.errors import UsageError
from fsctl.offline.duckdb.sources import literal, quote, timestamp_sql
from fsctl.offline.entity_input import EntityInput

TIMESTAMP_COLUMN = "event_timestamp"
ROW = "__fsctl_row"
TS = "__fsctl_ts"
TABLE = "__fsctl_entities"


_READERS = {
    "parquet": "read_parquet({})",
    "csv": "read_csv({}, header = true, auto_detect = true)",
    "jsonl": "read_json({}, format = 'newline_delimited')",
}


def load_input(con: Any, entities: EntityInput, table: str) -> None:
    """Copy ``entities`` into the temp table ``table``, in input order."""
    import duckdb

    refused = entities.spark_only("duckdb")
    if refused is not None:
        raise refused
    if entities.path is not None:
        source = _READERS[entities.format or "parquet"].format(literal(str(entities.path)))
    else:
        con.register("__fsctl_input", entities.frame)
        source = "__fsctl_input"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {source}")
    except duckdb.Error as exc:
        raise UsageError(f"cannot read {entities.label}: {str(exc).splitlines()[0]}") from None
    finally:
        if source == "__fsctl_input":
            con.unregister("__fsctl_input")


def prepare(con: Any, entities: EntityInput, join_keys: list[str]) -> tuple[str, dict[str, str], int]:
    """Load and check the entity rows; returns (a relation to select from, the input's column
    types, the row count). The relation has the input columns plus ``__fsctl_row`` (input
    position) and ``__fsctl_ts`` (the entity time as a naive UTC timestamp)."""
    label = entities.label
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
    if count == 0:
        raise UsageError(
            f"{label} has no rows, so there is no training set to build",
            hint="give at least one entity row (join keys and event_timestamp)",
        )
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
