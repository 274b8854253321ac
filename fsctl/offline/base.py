"""The offline-engine interface: what fsctl asks of the engine that reads feature sources.

An engine answers engine-neutral requests (:mod:`fsctl.offline.requests`) where the data
lives; services only ever see this interface, and the composition root
(:mod:`fsctl.workspace`) picks the engine by ``offline_store.type`` in fsctl.yaml.

Operations an engine has:

* :meth:`OfflineEngine.historical` — a point-in-time join of entity rows to views
  (training sets). The result stays with the engine (it may be larger than memory) and is
  read out as arrow, pandas or polars, streamed as record batches, or written to a file.
* :meth:`OfflineEngine.latest` — the latest row per entity key of one view in a window,
  cast to the declared dtypes and already in the online store's stored form
  (:mod:`fsctl.online.format`), streamed in batches (materialization).
* :meth:`OfflineEngine.events` — the newest event time in a view's source, and the rows
  in a window (``fsctl status``: how far the source is ahead of the online store, and
  whether a run that wrote nothing missed rows). Engines should answer the newest event
  from file metadata where they can (DuckDB reads parquet min/max statistics).

Operations planned, with the signatures they will have, so engines and consumers can be
added without changing what is here:

* ``statistics(request: WindowRequest, features) -> ViewStatistics`` — counts, nulls,
  min/max/mean and histograms per feature over a window (``fsctl stats``, drift);
* ``check(request: WindowRequest, checks) -> CheckResults`` — a view's data checks over a
  window (``fsctl check``, and before materialize writes a window);
* ``compute(request)`` for SQL sources and window aggregations defined in the repo.

Every engine passes one contract suite (``tests/offline``: the same answers as a
brute-force reference). Failures reading data are :class:`~fsctl.errors.StoreError`;
bad entity rows or requests are :class:`~fsctl.errors.UsageError`; an engine never lets
its own exception types out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from fsctl.offline.requests import EventsRequest, LatestRequest, PointInTimeRequest
from fsctl.online.format import StoredRecord

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrievalStats:
    rows: int
    matched: dict[str, float]  # view -> fraction of entity rows that found a row within its TTL


class RetrievalResult(Protocol):
    """A training set held by the engine, in entity-row order."""

    columns: list[str]
    rows: int
    metadata: dict[str, str]  # the request's metadata: written into a parquet file's footer

    def stats(self) -> RetrievalStats: ...

    def to_arrow(self) -> Any:
        """A pyarrow Table."""
        ...

    def to_batches(self, batch_size: int = 100_000) -> Any:
        """A pyarrow RecordBatchReader streaming the rows in order."""
        ...

    def to_pandas(self) -> Any: ...

    def to_polars(self) -> Any: ...

    def write(self, path: str | Path) -> Path:
        """Write parquet (with ``metadata`` as key-value metadata) or CSV (by extension)
        without holding it all in memory; no half-written file is left on failure."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> RetrievalResult: ...

    def __exit__(self, *exc: object) -> None: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class SourceEvents:
    """The answer to an :class:`~fsctl.offline.requests.EventsRequest`."""

    newest_event: datetime | None  # aware UTC; None: the source has no rows with an event time
    window_rows: int | None = None  # rows with event times in the request's window (None: no window asked)


class LatestRows(Protocol):
    """The answer to a LatestRequest: counts known up front, records streamed."""

    keys: int  # distinct entity keys in the window
    rows_read: int  # source rows in the window

    def batches(self, size: int) -> Iterator[list[StoredRecord]]:
        """The records in batches of at most ``size``."""
        ...


class OfflineEngine(Protocol):
    name: str  # for messages: "duckdb", "spark (local[2])"

    def historical(self, request: PointInTimeRequest, progress: Progress | None = None) -> RetrievalResult:
        """The training set of ``request`` (see PointInTimeRequest for the semantics)."""
        ...

    def latest(self, request: LatestRequest) -> LatestRows:
        """The latest row per key of ``request.view`` in ``request.window``."""
        ...

    def events(self, request: EventsRequest) -> SourceEvents:
        """The newest event time of ``request.view``'s source (and its rows in ``request.window``)."""
        ...

    def close(self) -> None:
        """Release what the engine holds; results already returned may become unreadable."""
        ...
