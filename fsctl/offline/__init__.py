"""Offline data: the :class:`~fsctl.offline.base.OfflineEngine` interface and the
engine-neutral requests it answers (point-in-time joins, latest rows per key of a window,
a view's data checks over a window, statistics), the shared rules for output names
(:mod:`.naming`), entity rows (:mod:`.entity_input`) and column types (:mod:`.schema`).
Engines live in sub-packages (:mod:`fsctl.offline.duckdb`); nothing outside them imports an
engine except the composition root.
"""

from __future__ import annotations

from fsctl.offline.base import (
    BinCounts,
    CheckOutcome,
    CheckResult,
    FeatureStats,
    HistogramBin,
    LatestRows,
    OfflineEngine,
    RetrievalResult,
    RetrievalStats,
    SourceEvents,
    TableStats,
)
from fsctl.offline.requests import (
    CheckRequest,
    EventsRequest,
    FeatureCheck,
    FeatureRef,
    FeatureSpec,
    FileRows,
    LatestRequest,
    PointInTimeRequest,
    SourceSpec,
    StatsColumn,
    StatsRequest,
    ViewSpec,
    Window,
    WindowRequest,
    check_request,
)

__all__ = [
    "BinCounts",
    "CheckOutcome",
    "CheckRequest",
    "CheckResult",
    "EventsRequest",
    "FeatureCheck",
    "FeatureRef",
    "FeatureSpec",
    "FeatureStats",
    "FileRows",
    "HistogramBin",
    "LatestRequest",
    "LatestRows",
    "OfflineEngine",
    "PointInTimeRequest",
    "RetrievalResult",
    "RetrievalStats",
    "SourceEvents",
    "SourceSpec",
    "StatsColumn",
    "StatsRequest",
    "TableStats",
    "ViewSpec",
    "Window",
    "WindowRequest",
    "check_request",
]
