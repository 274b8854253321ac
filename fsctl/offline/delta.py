"""Delta Lake tables as sources (``format: delta``), read through the ``deltalake`` package.

A Delta table is a folder (local, or ``s3://bucket/prefix``) of parquet files plus a
transaction log (``_delta_log/``) that says which files make up each version. fsctl opens
the table with ``deltalake`` at the version the source pins (``version: 3``), at the version
current at a time (``timestamp: 2024-05-01T00:00:00Z``), or at its latest version, and
hands it on as a pyarrow dataset: an engine scans it lazily, with projection and filters
pushed down. No DuckDB extension is needed (none can be downloaded on many machines).

S3 credentials and endpoints come from the standard AWS environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, and ``AWS_ENDPOINT_URL_S3``
/ ``AWS_ENDPOINT_URL`` for S3-compatible servers; an ``http://`` endpoint is allowed as such).

``deltalake`` is optional (``pip install 'fsctl[delta]'``); it is imported only here, when a
Delta source is read. Engine-neutral: the DuckDB engine and the loader (for schemas, read
from the log without reading rows) both use it.
"""

from __future__ import annotations

import os
from typing import Any

from fsctl.errors import StoreError, UsageError


def storage_options(location: str) -> dict[str, str]:
    """deltalake's storage options for ``location`` from the standard AWS environment."""
    if not location.startswith("s3://"):
        return {}
    options: dict[str, str] = {}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if os.environ.get(name):
            options[name] = os.environ[name]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["AWS_REGION"] = region
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def _pin(version: int | None, timestamp: str | None) -> str:
    if version is not None:
        return f" at version {version}"
    if timestamp is not None:
        return f" as of {timestamp}"
    return ""


def open_table(name: str, location: str, version: int | None = None, timestamp: str | None = None) -> Any:
    """The ``deltalake.DeltaTable`` of source ``name`` at ``location``, loaded at its pin."""
    try:
        import deltalake
    except ImportError:
        raise UsageError(
            f"source '{name}' is a Delta table (format: delta), and the deltalake package is not installed",
            hint="install fsctl with the delta extra: pip install 'fsctl[delta]'",
        ) from None
    from datetime import datetime

    try:
        table = deltalake.DeltaTable(location, version=version, storage_options=storage_options(location) or None)
        if timestamp is not None:
            table.load_as_version(datetime.fromisoformat(timestamp.replace("Z", "+00:00")))
    except Exception as exc:  # noqa: BLE001 - deltalake raises its own and pyo3 errors: one message
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(
            f"cannot read Delta table of source '{name}' at {location}{_pin(version, timestamp)}: {first}",
            hint="check the path (a folder with a _delta_log/), the pinned version or timestamp "
            "(the table's history must still have it), your AWS credentials and AWS_ENDPOINT_URL",
        ) from None
    return table


def delta_dataset(name: str, location: str, version: int | None = None, timestamp: str | None = None) -> Any:
    """The table as a pyarrow dataset (lazy: files are read when scanned)."""
    return open_table(name, location, version, timestamp).to_pyarrow_dataset()


def delta_schema(name: str, location: str, version: int | None = None, timestamp: str | None = None) -> Any:
    """The table's pyarrow schema, read from its transaction log (no data rows are read)."""
    import pyarrow as pa

    return pa.schema(open_table(name, location, version, timestamp).schema().to_arrow())
