"""The summary of a batch scoring run, ``fsctl score``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScoreSummary:
    output: str  # the file written
    rows: int
    made_by: dict[str, Any]  # what the output records (services.score.ScoreResult.metadata)
    seconds: float
    lookup_seconds: float
    model_seconds: float
    metadata_written: bool  # parquet footer; CSV has the version columns instead

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "rows": self.rows,
            "model": self.made_by,
            "seconds": round(self.seconds, 3),
            "feature_seconds": round(self.lookup_seconds, 3),
            "model_seconds": round(self.model_seconds, 3),
            "metadata_written": self.metadata_written,
        }
