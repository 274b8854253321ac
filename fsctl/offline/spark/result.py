"""The result of a point-in-time retrieval on Spark (placeholder)."""

from __future__ import annotations

from typing import Any


class SparkResult:
    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def to_spark(self) -> Any:
        return self.frame
