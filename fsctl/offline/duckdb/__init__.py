"""The DuckDB offline engine (``offline_store: {type: duckdb}``, the default): every line of
DuckDB in fsctl lives in this package.

* :mod:`.connection`: connections set up for fsctl (UTC, spilling, limits from the environment);
* :mod:`.sources`: a source's files as SQL, its columns and timestamps;
* :mod:`.entities`: entity rows loaded and checked;
* :mod:`.pit`: the point-in-time join; :mod:`.result`: its result, streamed out;
* :mod:`.latest`: the latest row per key of a window, in the online store's stored form;
* :mod:`.aggregations`: time-window aggregations, per entity row and as of a time per key;
* :mod:`.checks`: a view's data checks over a window, in one aggregate query;
* :mod:`.events`: the newest event time of a source, and its rows in a window;
* :mod:`.stats`: statistics per column (``fsctl stats``, drift), two scans for all columns.

Each historical request gets its own connection (its result owns it); ``latest``,
``check``, ``events`` and ``stats`` requests share the engine's connection, one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsctl.definitions.config import PortConfig
from fsctl.offline.base import CheckResult, Progress, SourceEvents, TableStats
from fsctl.offline.requests import (
    CheckRequest,
    EventsRequest,
    LatestRequest,
    PointInTimeRequest,
    StatsRequest,
)

if TYPE_CHECKING:
    from fsctl.offline.duckdb.aggregations import DuckDBAggregateRows
    from fsctl.offline.duckdb.latest import DuckDBLatestRows
    from fsctl.offline.duckdb.result import DuckDBResult


@dataclass(frozen=True)
class DuckDBEngineConfig(PortConfig):
    """``offline_store: {type: duckdb}``. Memory and threads come from the environment
    (``FSCTL_DUCKDB_MEMORY_LIMIT``, ``FSCTL_DUCKDB_THREADS``)."""

    type: str = "duckdb"


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, config: DuckDBEngineConfig | None = None) -> None:
        self.config = config or DuckDBEngineConfig()
        self._con: Any = None

    def historical(self, request: PointInTimeRequest, progress: Progress | None = None) -> DuckDBResult:
        from fsctl.offline.duckdb.connection import connect
        from fsctl.offline.duckdb.pit import point_in_time_join

        con = connect()
        try:
            return point_in_time_join(con, request, progress)
        except BaseException:
            con.close()
            raise

    def _shared(self) -> Any:
        """The engine's connection, shared by ``latest``, ``check``, ``events`` and ``stats`` requests."""
        if self._con is None:
            from fsctl.offline.duckdb.connection import connect

            self._con = connect()
        return self._con

    def latest(self, request: LatestRequest) -> DuckDBLatestRows | DuckDBAggregateRows:
        if request.view.aggregations:
            from fsctl.offline.duckdb.aggregations import aggregate_rows

            return aggregate_rows(self._shared(), request)
        from fsctl.offline.duckdb.latest import latest_rows

        return latest_rows(self._shared(), request)

    def check(self, request: CheckRequest) -> CheckResult:
        from fsctl.offline.duckdb.checks import run_checks

        return run_checks(self._shared(), request)

    def events(self, request: EventsRequest) -> SourceEvents:
        from fsctl.offline.duckdb.events import source_events

        return source_events(self._shared(), request)

    def stats(self, request: StatsRequest) -> TableStats:
        from fsctl.offline.duckdb.stats import table_stats

        return table_stats(self._shared(), request)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def create_engine(config: DuckDBEngineConfig) -> DuckDBEngine:
    return DuckDBEngine(config)
