"""Reading a source (a :class:`~fsctl.offline.requests.SourceSpec`) in DuckDB: where its files are, what columns they have, and the
SQL that turns them into join keys, a UTC event time, a created time and features.
SQL sources and Delta tables are opened by :mod:`fsctl.offline.duckdb.sql_sources`.

Local files are read by DuckDB itself (``read_parquet`` / ``read_csv``; a file, a
directory or a glob). Files on S3 are opened as a pyarrow dataset on pyarrow's S3
filesystem (standard AWS credentials, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for
S3-compatible servers) and scanned by DuckDB with projection pushed down, so the same SQL
runs over both. Used by point-in-time retrieval and by materialization.

Every timestamp becomes a naive ``TIMESTAMP`` in UTC: zoned columns are converted, naive
ones are taken to be UTC already, and strings (CSV) are parsed with their offset if any.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.requests import SourceSpec, ViewSpec
from fsctl.offline.schema import dtype_accepts, from_duckdb

# fsctl dtype -> DuckDB type of the output column.
DUCKDB_TYPES = {
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "bytes": "BLOB",
    "timestamp": "TIMESTAMP",
}


def duckdb_type(dtype: str) -> str:
    if dtype.startswith("list<"):
        return duckdb_type(dtype[5:-1]) + "[]"
    return DUCKDB_TYPES[dtype]


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# 2**64 as a HUGEINT: times are multiplied by it, not shifted (DuckDB refuses to shift a
# negative number, and times before 1970 are negative).
TWO_64 = "18446744073709551616::HUGEINT"


def event_created_order(t_us: str, c_us: str) -> str:
    """SQL ordering rows exactly by (event time, created time), a null created time first, as
    one HUGEINT of the two microsecond values (retrieval and materialization share it)."""
    return f"({t_us}::HUGEINT * {TWO_64}) + coalesce({c_us}::HUGEINT + 9223372036854775808, 0::HUGEINT)"


def timestamp_sql(column: str, type_name: str) -> str | None:
    """SQL turning ``column`` (of DuckDB type ``type_name``) into a naive UTC TIMESTAMP, or
    None when the type cannot hold a time. The session time zone is UTC."""
    t = type_name.upper()
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"CAST({column} AS TIMESTAMP)"  # WITH TIME ZONE converts to UTC wall time
    if t == "VARCHAR":
        return f"CAST(CAST({column} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return None


@dataclass
class SourceTable:
    """A source opened in a DuckDB connection: SQL to select from, and its columns."""

    source: SourceSpec
    location: str  # what messages show: the path as written, resolved
    from_sql: str  # usable after FROM
    columns: dict[str, str]  # column -> DuckDB type name

    def need(self, column: str, view: ViewSpec | None, role: str) -> str:
        """The column's DuckDB type, or a StoreError naming the view, source and column."""
        if column in self.columns:
            return self.columns[column]
        who = f"view '{view.name}': " if view is not None else ""
        shown = ", ".join(list(self.columns)[:12]) + (", ..." if len(self.columns) > 12 else "")
        raise StoreError(
            f"{who}source '{self.source.name}' has no column '{column}' ({role}) in {self.location} "
            f"(columns: {shown})",
            hint="fix the definition or the data, or map the column with field_mapping",
        )

    def timestamp(self, column: str, view: ViewSpec | None, role: str) -> str:
        type_name = self.need(column, view, role)
        if type_name.upper() == "TIMESTAMP WITH TIME ZONE":
            # timezone(), not CAST: DuckDB pushes a CAST of a column down into read_csv, which
            # then parses '2024-01-01T03:00:00+02:00' as 03:00 and drops the offset.
            return f"timezone('UTC', {quote(column)})"
        sql = timestamp_sql(quote(column), type_name)
        if sql is None:
            raise StoreError(
                f"source '{self.source.name}' column '{column}' ({role}) in {self.location} is {type_name}, "
                "not a timestamp",
                hint="point timestamp_field / created_timestamp_field at a timestamp or ISO-8601 column",
            )
        return sql


def _s3_filesystem() -> Any:
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    kwargs: dict[str, Any] = {}
    if endpoint:
        scheme, _, rest = endpoint.partition("://")
        kwargs.update(endpoint_override=rest or scheme, scheme=scheme if rest else "https")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    return fs.S3FileSystem(connect_timeout=5, request_timeout=30, **kwargs)


def _glob_match(path: str, pattern: str) -> bool:
    """Glob as DuckDB does for local files: ``*``, ``?`` and ``[...]`` match within one path
    segment, ``**`` any number of segments (so ``parts/*.parquet`` skips ``parts/old/x.parquet``)."""
    import fnmatch

    parts, pats = path.split("/"), pattern.split("/")

    def match(i: int, j: int) -> bool:
        if j == len(pats):
            return i == len(parts)
        if pats[j] == "**":
            return any(match(k, j + 1) for k in range(i, len(parts) + 1))
        return i < len(parts) and fnmatch.fnmatchcase(parts[i], pats[j]) and match(i + 1, j + 1)

    return match(0, 0)


def _open_s3(con: Any, source: SourceSpec, name: str) -> None:
    import pyarrow.dataset as ds

    path = source.location[len("s3://") :]
    try:
        filesystem = _s3_filesystem()
        if any(ch in path for ch in "*?["):
            import re

            base = re.split(r"[*?\[]", path, maxsplit=1)[0].rsplit("/", 1)[0]
            from pyarrow.fs import FileSelector

            infos = filesystem.get_file_info(FileSelector(base, recursive=True))
            files = sorted(i.path for i in infos if i.is_file and _glob_match(i.path, path))
            if not files:
                raise FileNotFoundError(f"no files match {source.location}")
            dataset = ds.dataset(files, filesystem=filesystem, format=source.format)
        else:
            dataset = ds.dataset(path, filesystem=filesystem, format=source.format)
    except Exception as exc:  # noqa: BLE001 - every S3 failure becomes one message
        raise StoreError(
            f"cannot read source '{source.name}' at {source.location}: {str(exc).splitlines()[0]}",
            hint="check the bucket and key, your AWS credentials, and AWS_ENDPOINT_URL for S3-compatible servers",
        ) from None
    con.register(name, dataset)


def _local_from(source: SourceSpec) -> tuple[str, str]:
    path = Path(source.location)
    location = str(path)
    pattern = str(path / "**" / f"*.{source.format}") if path.is_dir() else location
    if source.format == "csv":
        return location, f"read_csv({literal(pattern)}, header = true, auto_detect = true)"
    return location, f"read_parquet({literal(pattern)}, union_by_name = true)"


def open_source(con: Any, source: SourceSpec, name: str) -> SourceTable:
    """Make ``source`` selectable in ``con`` and read its columns (no rows are read)."""
    import duckdb

    if source.is_sql or source.format == "delta":
        from fsctl.offline.duckdb.sql_sources import open_delta, open_sql

        location = source.location
        if source.is_sql:
            from_sql = open_sql(con, source, name)
        else:
            open_delta(con, source, name)
            from_sql = quote(name)
    elif source.is_s3:
        _open_s3(con, source, name)
        location, from_sql = source.location, quote(name)
    else:
        location, from_sql = _local_from(source)
        from_sql = f"{from_sql} AS {quote(name)}"
    try:
        relation = con.sql(f"SELECT * FROM {from_sql} LIMIT 0")
        columns = dict(zip(relation.columns, [str(t) for t in relation.types], strict=True))
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot read source '{source.name}' at {location}: {str(exc).splitlines()[0]}",
            hint=f"check that the path exists and holds {source.format} files",
        ) from None
    return SourceTable(
        source=source,
        location=location,
        from_sql=from_sql,
        columns=columns,
    )


def check_features(table: SourceTable, view: ViewSpec, features: list[str] | tuple[str, ...]) -> None:
    """Every requested feature's column (or an aggregation's input column) exists and its type
    can serve the declared dtype."""
    declared = {f.name: f.dtype for f in view.features} | {a.column: a.input_dtype for a in view.aggregations}
    for feature in features:
        column = table.source.column_for(feature)
        table.need(column, view, f"feature '{feature}'")
        actual = from_duckdb(table.columns[column])
        if not dtype_accepts(declared[feature], actual):
            raise StoreError(
                f"view '{view.name}' feature '{feature}' is declared {declared[feature]} but column "
                f"'{column}' of source '{table.source.name}' ({table.location}) is {actual}",
                hint="declare the dtype the data has, or cast the column in the source",
            )
