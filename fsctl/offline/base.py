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
  (:mod:`fsctl.online.format`), streamed in batches (materialization). An engine whose
  records live on other machines (Spark) may also offer :class:`ExecutorWrites`: the
  records written into the online store where they are, by the engine's own tasks, each
  opening the store through a picklable :class:`SinkOpener` the service gives it (built by
  the composition root from the online store's config; engines never import a store) and
  writing with the store's never-older write; the engine returns the summed
  :class:`WriteCounts` of its tasks, and declines (returns None) when the store cannot be
  opened where its tasks run (a local file, executors on other machines), so the service
  streams the batches through the driver instead. Either way the service moves the
  watermark only after the whole write succeeded.
* :meth:`OfflineEngine.check` — a view's data checks over every source row of a window
  (a :class:`~fsctl.offline.requests.CheckRequest`), answered as a :class:`CheckResult`:
  per check the offending row count and one example key (``fsctl check``, and
  materialize before it writes a window).
* :meth:`OfflineEngine.events` — the newest event time in a view's source, and the rows
  in a window (``fsctl status``: how far the source is ahead of the online store, and
  whether a run that wrote nothing missed rows). Engines should answer the newest event
  from file metadata where they can (DuckDB reads parquet min/max statistics).
* :meth:`OfflineEngine.stats` — statistics per column over a view's rows in a time range or
  over files (a training set, the prediction log): counts, nulls, min/max, mean, standard
  deviation, distinct estimate, quantiles, histograms, counts in given bins (``fsctl
  stats``, drift). All columns in one request, so an engine can answer in one scan.

Operations planned, with the signatures they will have, so engines and consumers can be
added without changing what is here:

* ``compute(request)`` for SQL sources and window aggregations defined in the repo.

Every engine passes one contract suite (``tests/offline``: the same answers as a
brute-force reference). Failures reading data are :class:`~fsctl.errors.StoreError`;
bad entity rows or requests are :class:`~fsctl.errors.UsageError`; an engine never lets
its own exception types out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fsctl.offline.requests import (
    CheckRequest,
    EventsRequest,
    LatestRequest,
    PointInTimeRequest,
    StatsRequest,
)
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


class RecordSink(Protocol):
    """One online view's store, opened where an engine's task runs."""

    def write(self, records: Sequence[StoredRecord]) -> int:
        """The store's never-older upsert of ``records``; how many were stored."""
        ...

    def close(self) -> None:
        """Make the writes durable (the store's ``sync``) and close the store."""
        ...


class SinkOpener(Protocol):
    """A picklable zero-argument callable opening a :class:`RecordSink` (in any process).
    ``local``: the store is a file on this machine, so only tasks running on this machine
    (a ``local[N]`` master) may open it."""

    @property
    def local(self) -> bool: ...

    def __call__(self) -> RecordSink: ...


@dataclass(frozen=True)
class WriteCounts:
    """What the tasks of an :class:`ExecutorWrites` wrote, summed: records sent to the store,
    records it stored (not older than what it held), tasks that wrote, and the newest event
    time written (microseconds; None: nothing written)."""

    sent: int
    written: int
    tasks: int
    newest_event_us: int | None = None


@runtime_checkable
class ExecutorWrites(Protocol):
    """Optional on a :class:`LatestRows`: write the records where they are (see the module
    docstring)."""

    def write(self, opener: SinkOpener, batch_size: int) -> WriteCounts | None:
        """Write every record through sinks from ``opener`` in batches of at most
        ``batch_size``; None (nothing written) when ``opener`` cannot be used where the
        engine's tasks run. A failed task fails the whole call with a StoreError."""
        ...


@dataclass(frozen=True)
class HistogramBin:
    """Values ``lower <= x < upper`` (the last bin of a histogram also takes ``upper``)."""

    lower: float
    upper: float
    count: int


@dataclass(frozen=True)
class BinCounts:
    """Non-null values counted into ``(-inf, e0), [e0, e1), ..., [e_last, inf)`` for the
    sorted, distinct ``edges``: ``len(counts) == len(edges) + 1``."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class FeatureStats:
    """The statistics of one column of a :class:`~fsctl.offline.requests.StatsRequest`.

    ``kind`` is :func:`~fsctl.offline.requests.stats_kind` of the dtype. ``min``/``max``:
    numbers (numeric), text (strings), ISO-8601 UTC text (timestamps), else None; ``mean``
    and ``std`` (sample) numeric only; ``distinct`` an estimate (None for lists);
    ``quantiles`` pairs (q, approximate value), numeric only, empty when there are no values.
    ``histogram``: numeric, ``bins`` equal-width bins from min to max (one bin when they
    are equal). ``top``: categorical, the most frequent values (as text; bools ``true`` and
    ``false``) with exact counts, most frequent first. ``binned``: counts in the requested
    ``edges`` or the ``bin_quantiles`` bins; ``categories``: the exact count of each
    requested category, in request order."""

    name: str
    dtype: str
    kind: str
    count: int  # rows
    nulls: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    distinct: int | None = None
    quantiles: tuple[tuple[float, float], ...] = ()
    histogram: tuple[HistogramBin, ...] = ()
    top: tuple[tuple[str, int], ...] = ()
    binned: BinCounts | None = None
    categories: tuple[tuple[str, int], ...] = ()

    @property
    def values(self) -> int:
        """Non-null values."""
        return self.count - self.nulls

    @property
    def null_fraction(self) -> float | None:
        return self.nulls / self.count if self.count else None


@dataclass(frozen=True)
class TableStats:
    """The answer to a StatsRequest: the rows it read, and one FeatureStats per column in
    request order."""

    rows: int
    features: tuple[FeatureStats, ...]

    def feature(self, name: str) -> FeatureStats:
        return next(f for f in self.features if f.name == name)


@dataclass(frozen=True)
class CheckOutcome:
    """One data check over one window, as every engine answers it.

    ``failed`` counts the rows at fault: values below ``min`` / above ``max`` (a NaN is
    both), null values (``max_null_fraction``), values not ``allowed``, rows sharing their
    join keys and event time with another row (``unique``), and for ``min_rows`` the rows
    missing to reach the minimum. ``example_key`` (join key -> value) and ``example_time``
    name one row at fault, the one with the earliest event time (then the smallest key);
    None for ``min_rows`` and for checks that passed.
    """

    check: str  # min | max | max_null_fraction | allowed | unique | min_rows
    feature: str | None  # None for the row checks (unique, min_rows)
    limit: Any  # the check's setting: a number, the allowed values (a list), True
    failed: int
    rows: int  # source rows in the window
    example_key: dict[str, Any] | None = field(default=None, compare=False)
    example_time: datetime | None = None  # aware UTC

    def __post_init__(self) -> None:
        if self.passed:  # a check that passed has no row at fault to show
            object.__setattr__(self, "example_key", None)
            object.__setattr__(self, "example_time", None)

    @property
    def passed(self) -> bool:
        if self.check == "max_null_fraction":  # an empty window has no null fraction
            return self.rows == 0 or self.failed <= float(self.limit) * self.rows * (1 + 1e-12)
        return self.failed == 0


@dataclass(frozen=True)
class CheckResult:
    """The answer to a CheckRequest: one outcome per check, in request order (per feature
    in schema order: min, max, max_null_fraction, allowed; then unique, min_rows)."""

    view: str
    rows: int  # source rows in the window
    outcomes: tuple[CheckOutcome, ...]

    @property
    def failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> bool:
        return not self.failures


class OfflineEngine(Protocol):
    name: str  # for messages: "duckdb", "spark (local[2])"

    def historical(self, request: PointInTimeRequest, progress: Progress | None = None) -> RetrievalResult:
        """The training set of ``request`` (see PointInTimeRequest for the semantics)."""
        ...

    def latest(self, request: LatestRequest) -> LatestRows:
        """The latest row per key of ``request.view`` in ``request.window``."""
        ...

    def check(self, request: CheckRequest) -> CheckResult:
        """The data checks of ``request`` over every source row of ``request.window``."""
        ...

    def events(self, request: EventsRequest) -> SourceEvents:
        """The newest event time of ``request.view``'s source (and its rows in ``request.window``)."""
        ...

    def stats(self, request: StatsRequest) -> TableStats:
        """The statistics of ``request.columns`` over its rows (see StatsRequest)."""
        ...

    def close(self) -> None:
        """Release what the engine holds; results already returned may become unreadable."""
        ...
