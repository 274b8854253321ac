"""Point-in-time join on Spark (placeholder: the join lands in the next commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsctl.errors import UsageError
from fsctl.offline.base import Progress
from fsctl.offline.requests import PointInTimeRequest

if TYPE_CHECKING:
    from fsctl.offline.spark import SparkEngineConfig
    from fsctl.offline.spark.result import SparkResult


def point_in_time_join(
    spark: Any, request: PointInTimeRequest, config: SparkEngineConfig, progress: Progress | None = None
) -> SparkResult:
    raise UsageError("historical retrieval is not yet available on the spark engine")
