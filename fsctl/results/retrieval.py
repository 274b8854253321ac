"""The summary of a training set written by ``fsctl historical``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistoricalSummary:
    output: str  # the file written
    rows: int
    matched: dict[str, float]  # view -> fraction of entity rows that found a row within its TTL
    seconds: float
    # Built for a model version: what the training set records about what made it (see
    # services.retrieve.training_metadata), and whether the file holds it (parquet) or not (CSV).
    made_for: dict[str, Any] | None = None
    metadata_written: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {
            "output": self.output,
            "rows": self.rows,
            "matched": {view: round(fraction, 6) for view, fraction in self.matched.items()},
            "seconds": round(self.seconds, 3),
        }
        if self.made_for is not None:
            out["model"] = self.made_for
            out["metadata_written"] = self.metadata_written
        return out
