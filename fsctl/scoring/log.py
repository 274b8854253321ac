"""The prediction log: every prediction ``fsctl serve`` answers, appended to parquet files
partitioned by date, under a local folder or an S3 prefix (``scoring.prediction_log`` in
fsctl.yaml). The prediction endpoint appends :class:`PredictionRecord` rows to a
:class:`PredictionLog`; a background thread writes them in batches, off the request path;
the server closes the log on shutdown. Analysts read the files with any parquet reader
(DuckDB, Spark, pandas) to compare model versions or build training sets from live traffic.

Layout (hive partitioning: readers get ``date`` from the path; it is not stored in files)::

    {location}/date=YYYY-MM-DD/part-{UTC write time YYYYmmddTHHMMSSffffff}-{8 hex}.parquet

A batch is written when ``flush_rows`` rows are pending or the oldest is ``flush_seconds``
old: one file per date (UTC, of ``predicted_at``) in the batch. A local file is written to a
temp file beside it, fsynced, then renamed (:func:`fsctl.storage.local.atomic_write`), so a
reader never sees half a file; on S3 each file is one ``PutObject``.

Columns (stable; adding a column is not a breaking change, renaming, removing or retyping
one is):

=================  =========================  ==========================================
request_id         string                     the request's id (several rows may share it)
predicted_at       timestamp[us, tz=UTC]      when the prediction was made
model              string                     the model's name
alias              string (null)              the alias the request named, if any
model_version      int64                      the version that predicted
registry_version   int64                      the registry version the request read
entity             string (JSON)              the row's join keys
features           string (JSON)              feature name -> value used (null: missing)
outputs            string (JSON)              output column -> value
prediction         double (null)              the first output, when it is a number (a
                                              boolean as 0/1; NaN and infinities null)
=================  =========================  ==========================================

JSON is compact, with sorted keys; NaN and infinities are null, datetimes ISO 8601 (UTC,
with a ``Z``), bytes base64.

Guarantees: :meth:`PredictionLog.append` never waits for I/O. A failed write (disk full, S3
down) keeps its rows, warns on the ``fsctl.prediction_log`` logger and is retried at the
next flush (``flush_seconds`` later, or at :meth:`~PredictionLog.flush`). Memory is
bounded: past 100 × ``flush_rows`` pending rows the oldest are dropped, counted and warned
about. :meth:`~PredictionLog.close` writes every row appended before it, or raises a
:class:`~fsctl.errors.StoreError` saying how many were not written; a log still open when
the interpreter exits is closed then (a failure is logged).
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fsctl.errors import StoreError, UsageError
from fsctl.json_values import json_safe
from fsctl.storage import parse_location

_LOG = logging.getLogger("fsctl.prediction_log")

MAX_PENDING_BATCHES = 100  # at most this many × flush_rows rows wait in memory
_TICK = 0.1  # the writer re-reads the clock at least this often while rows are pending
_DROP_WARNING_SECONDS = 60.0  # at most one warning about dropped rows per minute (by the clock)

COLUMNS = (
    "request_id",
    "predicted_at",
    "model",
    "alias",
    "model_version",
    "registry_version",
    "entity",
    "features",
    "outputs",
    "prediction",
)


@dataclass(frozen=True)
class PredictionRecord:
    """One predicted row, as the log stores it (see the module docstring for the columns)."""

    request_id: str
    predicted_at: datetime  # tz-aware UTC (a naive time is taken as UTC)
    model: str
    alias: str | None
    model_version: int
    registry_version: int
    entity: dict[str, Any]  # the join keys of the row
    features: dict[str, Any]  # feature name -> value used (None for a missing one)
    outputs: dict[str, Any]  # output column name -> value


@dataclass(frozen=True)
class LogStats:
    """Counters of a :class:`PredictionLog` since it was opened (for ``/metrics`` and
    ``/health``). ``pending_rows`` counts rows appended and not yet written, including a batch
    being written now."""

    written_rows: int = 0
    written_files: int = 0
    failed_writes: int = 0  # files that could not be written (their rows were kept)
    dropped_rows: int = 0  # the oldest rows, dropped to bound memory
    pending_rows: int = 0


def arrow_schema() -> Any:
    """The pyarrow schema of every prediction log file."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("request_id", pa.string(), nullable=False),
            pa.field("predicted_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("alias", pa.string()),
            pa.field("model_version", pa.int64(), nullable=False),
            pa.field("registry_version", pa.int64(), nullable=False),
            pa.field("entity", pa.string(), nullable=False),
            pa.field("features", pa.string(), nullable=False),
            pa.field("outputs", pa.string(), nullable=False),
            pa.field("prediction", pa.float64()),
        ]
    )


class _WriteFailed(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class PredictionLog:
    """Appends :class:`PredictionRecord` rows to parquet files at ``location`` (a folder,
    relative to ``root`` unless absolute, or ``s3://bucket/prefix``), in batches written by a
    background thread. ``clock`` (seconds, monotonic) times the batches; tests inject one.
    Thread-safe; use it as a context manager or call :meth:`close`."""

    def __init__(
        self,
        location: str,
        root: Path,
        *,
        flush_rows: int = 1000,
        flush_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if flush_rows < 1 or not flush_seconds > 0:
            raise ValueError(
                f"flush_rows must be >= 1 and flush_seconds > 0, got {flush_rows}, {flush_seconds}"
            )
        self._bucket = ""
        self._prefix = ""
        self._path: Path | None = None
        if location.startswith("s3://"):
            bucket, _, prefix = location.removeprefix("s3://").partition("/")
            if not bucket:
                raise UsageError(
                    f"prediction log {location}: an S3 location is s3://bucket/prefix",
                    hint="name the bucket (and a prefix) in scoring.prediction_log",
                )
            self._bucket, self._prefix = bucket, prefix.strip("/")
            self._location = f"s3://{bucket}/{self._prefix}" if self._prefix else f"s3://{bucket}"
        else:
            parsed = parse_location(location, root, what="prediction log")
            self._path = parsed.path
            self._location = parsed.uri
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_pending = MAX_PENDING_BATCHES * flush_rows
        self._clock = clock
        self._client: Any = None

        self._cond = threading.Condition()  # guards everything below, up to _write_lock
        self._pending: deque[PredictionRecord] = deque()
        self._oldest_at = 0.0  # clock time the oldest pending row was appended
        self._retry_at = -math.inf  # after a failed write: no background attempt before this
        self._in_flight = 0
        self._closed = False
        self._written_rows = self._written_files = self._failed_writes = self._dropped = 0
        self._unreported_drops = 0
        self._drop_warned_at = -math.inf
        self._write_lock = threading.Lock()  # one batch written at a time, in append order

        self._import_writers()
        self._thread = threading.Thread(target=self._run, name="fsctl-prediction-log", daemon=True)
        self._thread.start()
        atexit.register(self._close_at_exit)  # a safety net: the owner should close the log

    @property
    def location(self) -> str:
        """Where the files go, as messages show it (an absolute folder or ``s3://bucket/prefix``)."""
        return self._location

    @property
    def stats(self) -> LogStats:
        with self._cond:
            return LogStats(
                written_rows=self._written_rows,
                written_files=self._written_files,
                failed_writes=self._failed_writes,
                dropped_rows=self._dropped,
                pending_rows=len(self._pending) + self._in_flight,
            )

    def __repr__(self) -> str:
        return f"PredictionLog({self._location!r})"

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request path ----------------------------------------------------------------

    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Queue ``records`` for the next batch; never waits for I/O. Past ``max_pending``
        rows the oldest are dropped (and counted). After :meth:`close`, a StoreError."""
        if not records:
            return
        with self._cond:
            if self._closed:
                raise StoreError(
                    f"prediction log {self._location} is closed: {len(records)} rows not logged",
                    hint="append predictions before the log is closed (the server closes it on shutdown)",
                )
            first = not self._pending
            if first:
                self._oldest_at = self._clock()
            self._pending.extend(records)
            self._trim()
            if first or len(self._pending) >= self.flush_rows:
                self._cond.notify_all()  # the writer starts timing the batch, or writes it

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every row appended so far, now (waits for a batch being written first). If
        a write fails, its rows stay pending (retried later) and this raises a StoreError."""
        failure, unwritten = self._write_pending()
        if failure is not None:
            raise StoreError(
                f"{failure.message}; {unwritten:,} rows of the prediction log {self._location} are kept "
                "and retried at the next flush",
                hint=failure.hint,
            )

    def close(self) -> None:
        """Stop the writer thread and write every pending row; idempotent. A StoreError
        naming the location and the number of rows not written if that last write fails (a
        later ``close()`` tries again)."""
        atexit.unregister(self._close_at_exit)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        failure, unwritten = self._write_pending()
        if failure is not None:
            raise StoreError(
                f"prediction log {self._location}: {unwritten:,} rows were not written: {failure.message}",
                hint=failure.hint or "check that the location is writable",
            )

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except StoreError as exc:
            _LOG.error("%s", exc)

    def _run(self) -> None:
        """The writer thread: waits for a batch to be due, writes it, until closed."""
        while True:
            with self._cond:
                while not self._closed and not self._due():
                    self._cond.wait(_TICK if self._pending else None)
                if self._closed:
                    return
            self._write_pending()

    def _import_writers(self) -> None:
        """Import what writing needs now, when the server starts: not on a request's path,
        nor first at interpreter exit, when modules can no longer register exit hooks
        (pyarrow imports pandas, if installed, on its first table)."""
        try:
            parquet_bytes(())
            if self._path is None:
                import boto3  # noqa: F401
                import botocore.exceptions  # noqa: F401
        except Exception:  # noqa: BLE001 - the first write reports it
            pass

    def _due(self) -> bool:
        if not self._pending:
            return False
        now = self._clock()
        if now < self._retry_at:
            return False
        return len(self._pending) >= self.flush_rows or now - self._oldest_at >= self.flush_seconds

    def _write_pending(self) -> tuple[_WriteFailed | None, int]:
        """Write the pending rows, one file per date; the rows of a file that fails go back
        in front of the queue. Returns the last failure (or None) and the rows still pending."""
        with self._write_lock:
            with self._cond:
                batch = list(self._pending)
                oldest_at = self._oldest_at
                self._pending.clear()
                self._in_flight = len(batch)
            failure: _WriteFailed | None = None
            failed: list[PredictionRecord] = []
            written_rows = written_files = failed_files = 0
            try:
                groups = _by_date(batch)
            except Exception as exc:  # noqa: BLE001 - a bad record must not kill the writer thread
                groups, failed, failed_files = {}, batch, 1
                failure = _WriteFailed(f"cannot write the prediction log {self._location}: {exc!r}")
            for day, rows in groups.items():
                try:
                    self._write_file(day, rows)
                except _WriteFailed as exc:
                    failure = exc
                except Exception as exc:  # noqa: BLE001 - a bug must not kill the writer and lose rows
                    failure = _WriteFailed(f"cannot write the prediction log {self._location}: {exc!r}")
                else:
                    written_rows, written_files = written_rows + len(rows), written_files + 1
                    continue
                failed += rows
                failed_files += 1
            with self._cond:
                self._in_flight = 0
                self._written_rows += written_rows
                self._written_files += written_files
                self._failed_writes += failed_files
                if failed:
                    if self._pending:
                        oldest_at = min(oldest_at, self._oldest_at)
                    self._pending.extendleft(reversed(failed))
                    self._oldest_at = oldest_at
                    self._retry_at = self._clock() + self.flush_seconds
                    self._trim()
                unwritten = len(self._pending)
                drops = self._take_drops(force=self._closed)
            if failure is not None:
                _LOG.warning(
                    "%s; %d rows kept, retried in %gs", failure.message, len(failed), self.flush_seconds
                )
            if drops:
                _LOG.warning(
                    "prediction log %s: dropped the %d oldest unwritten rows (%d in all) to keep at most "
                    "%d pending; writes are failing or falling behind",
                    self._location,
                    drops,
                    self._dropped,
                    self.max_pending,
                )
            return failure, unwritten

    def _trim(self) -> None:
        """Drop the oldest pending rows past ``max_pending`` (under the lock)."""
        overflow = len(self._pending) - self.max_pending
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            self._dropped += overflow
            self._unreported_drops += overflow

    def _take_drops(self, force: bool) -> int:
        """The rows dropped since the last warning, if one is due now (under the lock): at
        most one warning per minute, and a last one at close."""
        now = self._clock()
        if not self._unreported_drops or (not force and now - self._drop_warned_at < _DROP_WARNING_SECONDS):
            return 0
        drops, self._unreported_drops, self._drop_warned_at = self._unreported_drops, 0, now
        return drops

    def _write_file(self, day: str, records: Sequence[PredictionRecord]) -> None:
        """One parquet file of ``records`` (all predicted on ``day``)."""
        data = parquet_bytes(records)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"date={day}/part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        if self._path is None:
            self._put(f"{self._prefix}/{name}" if self._prefix else name, data)
            return
        from fsctl.storage.local import atomic_write

        path = self._path / name
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise _WriteFailed(
                f"cannot write the prediction log file {path}: {exc.strerror or exc}",
                hint="check that the folder exists (or can be created), is writable and has space",
            ) from None

    def _put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from fsctl.storage import s3

        try:
            if self._client is None:
                self._client = s3.client()
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType="application/vnd.apache.parquet"
            )
        except (BotoCoreError, ClientError) as exc:
            message, hint = s3.describe(exc, "write", "the prediction log file", self._bucket, key)
            raise _WriteFailed(message, hint) from None


# -- rows to parquet -----------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _by_date(records: Sequence[PredictionRecord]) -> dict[str, list[PredictionRecord]]:
    """``records`` by the UTC date of their ``predicted_at`` (``YYYY-MM-DD``), in order."""
    groups: dict[str, list[PredictionRecord]] = {}
    for record in records:
        groups.setdefault(_utc(record.predicted_at).date().isoformat(), []).append(record)
    return groups


def parquet_bytes(records: Sequence[PredictionRecord]) -> bytes:
    """``records`` as one parquet file with :func:`arrow_schema`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for r in records:
        columns["request_id"].append(r.request_id)
        columns["predicted_at"].append(_utc(r.predicted_at))
        columns["model"].append(r.model)
        columns["alias"].append(r.alias)
        columns["model_version"].append(int(r.model_version))
        columns["registry_version"].append(int(r.registry_version))
        columns["entity"].append(to_json(r.entity))
        columns["features"].append(to_json(r.features))
        columns["outputs"].append(to_json(r.outputs))
        columns["prediction"].append(prediction_value(r.outputs))
    table = pa.table(columns, schema=arrow_schema())
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def to_json(values: Mapping[str, Any]) -> str:
    """``values`` as compact JSON with sorted keys (see :func:`fsctl.json_values.json_safe`)."""
    return json.dumps(
        json_safe(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def prediction_value(outputs: Mapping[str, Any]) -> float | None:
    """The first output as a float when it is a number (a boolean as 0/1), else None
    (NaN and infinities too)."""
    if not outputs:
        return None
    value = json_safe(next(iter(outputs.values())))  # unwraps numpy scalars
    if not isinstance(value, (bool, int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
