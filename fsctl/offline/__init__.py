"""Offline data: the :class:`~fsctl.offline.base.OfflineEngine` interface and the
engine-neutral requests it answers (point-in-time joins, latest rows per key of a window,
statistics), the shared rules for output names (:mod:`.naming`), entity rows
(:mod:`.entity_input`) and column types (:mod:`.schema`). Engines live in sub-packages (:mod:`fsctl.offline.duckdb`);
nothing outside them imports an engine except the composition root.
"""

from __future__ import annotations

from fsctl.offline.base import (
    BinCounts,
    FeatureStats,
    HistogramBin,
    LatestRows,
    OfflineEngine,
    RetrievalResult,
    RetrievalStats,
    TableStats,
)
from fsctl.offline.requests import (
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
)

__all__ = [
    "BinCounts",
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
    "SourceSpec",
    "StatsColumn",
    "StatsRequest",
    "TableStats",
    "ViewSpec",
    "Window",
    "WindowRequest",
]
