"""DuckDB connections as fsctl uses them."""

from __future__ import annotations

from typing import Any


def connect() -> Any:
    """A DuckDB connection set up for fsctl: UTC session time zone, spilling to a temp folder,
    and ``FSCTL_DUCKDB_MEMORY_LIMIT`` / ``FSCTL_DUCKDB_THREADS`` when set."""
    import os
    import tempfile

    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # it writes to stdout; fsctl reports progress itself
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/fsctl-duckdb-{os.getpid()}'")
    limit = os.environ.get("FSCTL_DUCKDB_MEMORY_LIMIT")
    if limit:
        con.execute("SET memory_limit = ?", [limit])
    threads = os.environ.get("FSCTL_DUCKDB_THREADS")
    if threads:
        con.execute("SET threads = ?", [int(threads)])
    return con
