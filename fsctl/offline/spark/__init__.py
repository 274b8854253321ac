"""The Spark offline engine (``offline_store: {type: spark, ...}``): the same answers as the
DuckDB engine, computed where the data lives, for offline data beyond one machine. Every
line of pyspark in fsctl lives in this package, and pyspark is imported only when the engine
is used (the ``spark`` extra: ``pip install 'fsctl[spark]'``; a local master needs Java 17+).

* :mod:`.session`: fsctl's own Spark session (a ``newSession()`` of the ambient, Spark
  Connect or local one, time zone UTC), so fsctl never changes the user's session;
* :mod:`.sources`: a source's files as a DataFrame (keys, UTC event/created times in
  integer microseconds, features), pruned to a time range;
* :mod:`.entities`: entity rows from a file, a frame, a Spark DataFrame or a table name;
* :mod:`.pit`: the point-in-time join (DataFrame API); :mod:`.result`: its result, written
  by the executors or collected through Arrow below ``collect_limit`` rows;
* :mod:`.latest`, :mod:`.checks`, :mod:`.events`, :mod:`.stats`: materialization, data
  checks, source events and statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsctl.definitions.config import PortConfig
from fsctl.errors import UsageError
from fsctl.offline.base import CheckResult, LatestRows, Progress, SourceEvents, TableStats
from fsctl.offline.requests import (
    CheckRequest,
    EventsRequest,
    LatestRequest,
    PointInTimeRequest,
    StatsRequest,
)

if TYPE_CHECKING:
    from fsctl.offline.spark.result import SparkResult
    from fsctl.offline.spark.session import SparkHandle


@dataclass(frozen=True)
class SparkEngineConfig(PortConfig):
    """``offline_store: {type: spark, master: local[2], remote: null, conf: {}, staging: null}``.

    ``master``: a Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``); null uses
    the ambient session (spark-submit, a Databricks job, ``SPARK_REMOTE``). ``remote``: a
    Spark Connect URL (``sc://host:15002``), wins over ``master``. ``conf``: Spark settings
    for fsctl's session. ``staging``: a folder (local or a Hadoop URI such as ``s3a://``)
    for results written by the executors before they are streamed into one file.
    ``collect_limit``: the most rows a result may bring to the driver (``to_arrow`` and
    friends); bigger results must be written (``--output``)."""

    type: str = "spark"
    master: str | None = "local[2]"
    remote: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    staging: str | None = None
    collect_limit: int = 5_000_000
    asof: bool = False  # use Spark's native ASOF join instead of the window scan (not for hot keys)


def _not_yet(what: str) -> UsageError:
    return UsageError(
        f"{what} is not yet available on the spark engine",
        hint="use offline_store: {type: duckdb} for this command",
    )


class SparkEngine:
    """The :class:`~fsctl.offline.base.OfflineEngine` on Spark. ``session``: a SparkSession to
    derive fsctl's own session from (tests share one); by default it comes from ``config``."""

    def __init__(self, config: SparkEngineConfig | None = None, session: Any = None) -> None:
        self.config = config or SparkEngineConfig()
        self._given = session
        self._handle: SparkHandle | None = None
        where = self.config.remote or self.config.master or "ambient session"
        self.name = f"spark ({where})"

    @property
    def handle(self) -> SparkHandle:
        """fsctl's session, started on first use."""
        if self._handle is None:
            from fsctl.offline.spark.session import open_session

            self._handle = open_session(self.config, self._given)
        return self._handle

    @property
    def spark(self) -> Any:
        """fsctl's own SparkSession (time zone UTC)."""
        return self.handle.session

    def historical(self, request: PointInTimeRequest, progress: Progress | None = None) -> SparkResult:
        from fsctl.offline.spark.pit import point_in_time_join

        return point_in_time_join(self.spark, request, self.config, progress)

    def latest(self, request: LatestRequest) -> LatestRows:
        try:
            from fsctl.offline.spark.latest import latest_rows
        except ImportError:
            raise _not_yet("materialization") from None
        rows: LatestRows = latest_rows(self.spark, request)
        return rows

    def check(self, request: CheckRequest) -> CheckResult:
        try:
            from fsctl.offline.spark.checks import run_checks
        except ImportError:
            raise _not_yet("fsctl check") from None
        result: CheckResult = run_checks(self.spark, request)
        return result

    def events(self, request: EventsRequest) -> SourceEvents:
        try:
            from fsctl.offline.spark.events import source_events
        except ImportError:
            raise _not_yet("fsctl status (source events)") from None
        events: SourceEvents = source_events(self.spark, request)
        return events

    def stats(self, request: StatsRequest) -> TableStats:
        try:
            from fsctl.offline.spark.stats import table_stats
        except ImportError:
            raise _not_yet("fsctl stats") from None
        stats: TableStats = table_stats(self.spark, request)
        return stats

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def create_engine(config: SparkEngineConfig) -> SparkEngine:
    return SparkEngine(config)
