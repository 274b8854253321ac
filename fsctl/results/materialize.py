"""The result of a materialize run: one :class:`ViewRun` per view, with the data checks run
on its window (when the view has some)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fsctl.results.checks import WindowChecks

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class ViewRun:
    view: str
    start: datetime | None
    end: datetime
    rows_read: int = 0
    keys: int = 0
    keys_written: int = 0
    keys_sent: int = 0  # keys handed to the store in batches it accepted
    seconds: float = 0.0
    status: str = "succeeded"  # succeeded | failed | up-to-date | skipped
    error: str | None = None
    note: str = ""
    checks: WindowChecks | None = None  # the view's data checks on the window; None: it has none

    @property
    def rejected(self) -> bool:
        """True when the window failed its checks and, by the view's policy, was not written."""
        c = self.checks
        return self.status == "failed" and c is not None and not c.passed and c.policy == "reject"
    newest_event_us: int | None = None  # the newest event time handed to the store, microseconds since the epoch

    @property
    def newest_event(self) -> datetime | None:
        """The newest event time among the records handed to the store (None: none)."""
        if self.newest_event_us is None:
            return None
        return _EPOCH + timedelta(microseconds=self.newest_event_us)

    @property
    def keys_kept_newer(self) -> int:
        """Keys the store kept because it held a newer record (not keys a failure left unwritten)."""
        return self.keys_sent - self.keys_written

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "status": self.status,
            "rows_read": self.rows_read,
            "keys": self.keys,
            "keys_written": self.keys_written,
            "keys_kept_newer": self.keys_kept_newer,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "note": self.note,
            **({"checks": self.checks.to_dict()} if self.checks is not None else {}),
        }


@dataclass
class MaterializeResult:
    runs: list[ViewRun] = field(default_factory=list)

    @property
    def failed(self) -> list[ViewRun]:
        return [r for r in self.runs if r.status == "failed"]
