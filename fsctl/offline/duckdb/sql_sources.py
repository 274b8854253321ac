"""SQL sources and Delta tables in DuckDB: what :func:`~fsctl.offline.duckdb.sources.open_source`
does for a source that is not plain files.

A SQL source (:class:`~fsctl.offline.requests.SourceSpec` with a ``query``) is opened by
opening each upstream it reads as a temporary view of its rows (recursively: an upstream may
itself be a SQL source), replacing each ``{{ source('name') }}`` of the query by that view's
quoted name, and making the query a temporary view too. Retrieval, materialization, checks,
events and statistics then select from it as from any source, and DuckDB pushes their
filters and projections into the query. The query is the user's own SQL and runs with the
user's rights, as a ``duckdb`` session of theirs would.

A Delta table is registered as the pyarrow dataset :mod:`fsctl.offline.delta` opens.
"""

from __future__ import annotations

from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.requests import SourceSpec


def open_delta(con: Any, source: SourceSpec, name: str) -> None:
    """Register the Delta table of ``source`` as ``name`` in ``con``."""
    from fsctl.offline.delta import delta_dataset

    con.register(name, delta_dataset(source.name, source.location, source.version, source.timestamp))


def open_sql(con: Any, source: SourceSpec, name: str) -> str:
    """Create the temporary view ``name`` of a SQL source's rows in ``con``; returns the SQL
    to select from it. Raises StoreError naming the source when the query does not run."""
    import duckdb

    from fsctl.definitions.sql_query import render_query
    from fsctl.offline.duckdb.sources import open_source, quote

    relations: dict[str, str] = {}
    for index, upstream in enumerate(source.upstreams):
        view_name = f"{name}__up{index}"
        table = open_source(con, upstream, f"{view_name}__rows")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(view_name)} AS SELECT * FROM {table.from_sql}")
        relations[upstream.name] = quote(view_name)
    assert source.query is not None
    sql = render_query(source.query, lambda upstream: relations[upstream])
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {sql}")
    except duckdb.Error as exc:
        raise StoreError(
            f"the query of SQL source '{source.name}' does not run: {str(exc).strip().splitlines()[0]}",
            hint="run `fsctl validate`, which checks the query against its sources' columns",
        ) from None
    return quote(name)
