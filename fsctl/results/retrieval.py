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

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "rows": self.rows,
            "matched": {view: round(fraction, 6) for view, fraction in self.matched.items()},
            "seconds": round(self.seconds, 3),
        }
