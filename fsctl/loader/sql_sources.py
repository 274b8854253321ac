"""Check each SQL source's query against the schemas of the sources it reads, without
reading their rows.

Each upstream is made a relation of a private DuckDB connection that has its columns and
types but reads no rows: a local parquet source as ``read_parquet`` (DuckDB reads only the
footers to bind a query), a CSV source as ``read_csv`` (its header and a sample of lines
for the types, as the engine reads it), a Delta table as an empty table of the schema in its
transaction log, and an upstream SQL source as the view of its own query. The query is then
*bound*, not run (``DESCRIBE``): unknown columns, functions or types, and SQL errors, are
reported at the SQL source with DuckDB's words; the output columns and types become the
source's schema, against which :mod:`fsctl.loader.sources` checks the views reading it like
any other source's.

An upstream that cannot be read here (on S3) leaves the query unchecked, with a warning;
an upstream that has a problem of its own (no file at its path) is reported there only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsctl.definitions import FileSource, FsctlObject, SqlSource
from fsctl.errors import Problem
from fsctl.loader.validate import problem_at
from fsctl.offline.schema import DATE, STRING, TIMESTAMP, ColumnType, from_duckdb


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Checker:
    """Binds SQL sources in dependency order, each once."""

    def __init__(self, root: Path, objects: Mapping[str, Mapping[str, FsctlObject]], columns: dict[str, dict[str, Any]]) -> None:
        import duckdb

        self.root = root
        self.files: Mapping[str, FileSource] = objects.get("FileSource", {})  # type: ignore[assignment]
        self.sqls: Mapping[str, SqlSource] = objects.get("SqlSource", {})  # type: ignore[assignment]
        self.columns = columns
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.relations: dict[str, str | None] = {}  # source -> relation name; None: cannot be bound
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def relation(self, name: str, stack: tuple[str, ...] = ()) -> str | None:
        """The relation of source ``name`` in the connection, or None (unreadable, broken,
        unknown, or in a cycle; each reported elsewhere)."""
        if name in self.relations:
            return self.relations[name]
        if name in stack:
            return None
        relation = f"src_{len(self.relations)}_{name}"
        found: str | None = None
        if name in self.files:
            found = self._file(self.files[name], relation)
        elif name in self.sqls:
            found = self._sql(self.sqls[name], relation, (*stack, name))
        self.relations[name] = found
        return found

    def _file(self, source: FileSource, relation: str) -> str | None:
        if source.name not in self.columns:
            return None  # not readable here (S3) or broken (reported)
        if source.format == "delta":
            from fsctl.offline.delta import delta_schema

            location = source.path if "://" in source.path else str(self.root / source.path)
            empty = delta_schema(source.name, location, source.version, source.timestamp).empty_table()
            self.con.register(relation, empty)
            return _quote(relation)
        path = Path(source.path)
        path = path if path.is_absolute() else self.root / path
        pattern = str(path / "**" / f"*.{source.format}") if path.is_dir() else str(path)
        if source.format == "csv":
            reader = f"read_csv({_literal(pattern)}, header = true, auto_detect = true)"
        else:
            reader = f"read_parquet({_literal(pattern)}, union_by_name = true)"
        self.con.execute(f"CREATE VIEW {_quote(relation)} AS SELECT * FROM {reader}")
        return _quote(relation)

    def _sql(self, source: SqlSource, relation: str, stack: tuple[str, ...]) -> str | None:
        import duckdb

        from fsctl.definitions.sql_query import render_query

        upstream: dict[str, str] = {}
        for name in source.upstreams:
            found = self.relation(name, stack)
            if found is None:
                if name in self.files and self.files[name].name not in self.columns and "://" in self.files[name].path:
                    self.warnings.append(
                        problem_at(
                            source,
                            f"the query is not checked here: it reads source '{name}' at {self.files[name].path}, "
                            "whose schema is not read here (not a local path)",
                            "query",
                        )
                    )
                return None
            upstream[name] = found
        sql = render_query(source.query, upstream.__getitem__)
        try:
            self.con.execute(f"CREATE VIEW {_quote(relation)} AS {sql}")
            described = self.con.execute(f"DESCRIBE SELECT * FROM {_quote(relation)}").fetchall()
        except duckdb.Error as exc:
            message = " ".join(str(exc).strip().split("\n")[0].split())
            self.problems.append(
                problem_at(
                    source,
                    f"the query does not run against its sources' columns: {message}",
                    "query",
                    "fix the query; the columns of the sources it reads are those of their files",
                )
            )
            return None
        cols = {str(row[0]): from_duckdb(str(row[1])) for row in described}
        self.columns[source.name] = cols
        self._check_times(source, cols)
        return _quote(relation)

    def _check_times(self, source: SqlSource, cols: dict[str, ColumnType]) -> None:
        shown = ", ".join(list(cols)[:12]) + (", ..." if len(cols) > 12 else "")
        for field_name in ("timestamp_field", "created_timestamp_field"):
            column = getattr(source, field_name)
            if not column:
                continue
            if column not in cols:
                self.problems.append(
                    problem_at(
                        source,
                        f"the query gives no column '{column}' (it gives: {shown})",
                        field_name,
                        f"select a column AS {column} in the query, or name a column it gives",
                    )
                )
            elif cols[column].kind not in (TIMESTAMP, DATE, STRING):
                self.problems.append(
                    problem_at(
                        source,
                        f"column '{column}' of the query is {cols[column]}, not a timestamp",
                        field_name,
                        "cast it in the query, e.g. CAST(x AS TIMESTAMP) AS " + column,
                    )
                )


def check_sql_sources(
    root: Path, objects: Mapping[str, Mapping[str, FsctlObject]], columns: dict[str, dict[str, Any]]
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of every SQL source's query; the output columns of each query that
    binds are added to ``columns`` (source name -> column -> ColumnType)."""
    sqls = objects.get("SqlSource", {})
    if not sqls:
        return [], []
    checker = _Checker(root, objects, columns)
    try:
        for name in sorted(sqls):
            checker.relation(name)
    finally:
        checker.con.close()
    return checker.problems, checker.warnings
