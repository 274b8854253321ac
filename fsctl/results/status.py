"""The answer of ``fsctl status``: per online view, how fresh its online data is and how its
materialization runs went (:class:`ViewStatus`), and whether anything needs a person
(:class:`StatusReport`; ``exit_code`` 1 when any view has a problem).

A view's *findings* are problems (the view misses its freshness, was never materialized
into the configured online store, or its last run failed: exit 1) and warnings (shown,
exit 0: a run that wrote nothing while its window has rows, a source that cannot be read
now, ...). Each says what to do. ``to_dict`` is the documented JSON (README "Freshness
status"): DESIGN.md's keys (``name``, ``fresh``, ``freshness``, ``newest_event``,
``watermark``, ``last_run``, ``problems``) and some more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fsctl.json_values import iso_timestamp

Severity = Literal["problem", "warning"]


def _time(value: datetime | None) -> str | None:
    return iso_timestamp(value) if value is not None else None


@dataclass(frozen=True)
class Finding:
    """Something wrong with a view: what (``code``, ``message``) and what to do (``fix``)."""

    severity: Severity
    code: str  # never-materialized | definition-changed | no-table | last-run-failed | stale | no-data | ...
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class LastRun:
    """A view's most recent materialization run into the configured online store."""

    run_id: str
    status: str  # succeeded | failed
    started_at: datetime
    finished_at: datetime
    start: datetime | None  # the window [start, end); None: from the earliest event
    end: datetime
    rows_read: int
    keys_written: int
    newest_event: datetime | None  # the newest event time it wrote
    error: str | None
    actor: str

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": _time(self.started_at),
            "finished_at": _time(self.finished_at),
            "seconds": round(self.seconds, 3),
            "start": _time(self.start),
            "end": _time(self.end),
            "rows_read": self.rows_read,
            "keys_written": self.keys_written,
            "newest_event": _time(self.newest_event),
            "error": self.error,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class ViewStatus:
    name: str
    freshness: int | None  # seconds: how old the newest online event may get; None: not declared
    fresh: bool  # meets its freshness (no freshness: has been materialized under its definition)
    newest_event: datetime | None  # the newest event time in the online store, from the state document
    age_seconds: float | None  # of newest_event, at the report's checked_at
    watermark: datetime | None  # under the view's current definition, in the configured store
    source_newest_event: datetime | None  # None: the source has no rows, or could not be read
    last_run: LastRun | None
    last_success: datetime | None  # when the last successful run finished
    consecutive_failures: int
    findings: tuple[Finding, ...] = ()
    age_basis: str | None = None  # what newest_event comes from: "runs", "pushes" or "watermark"

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fresh": self.fresh,
            "freshness": self.freshness,
            "newest_event": _time(self.newest_event),
            "watermark": _time(self.watermark),
            "last_run": self.last_run.to_dict() if self.last_run is not None else None,
            "problems": [f.message for f in self.problems],
            "warnings": [f.message for f in self.warnings],
            "age_seconds": round(self.age_seconds, 3) if self.age_seconds is not None else None,
            "age_basis": self.age_basis,
            "source_newest_event": _time(self.source_newest_event),
            "last_success": _time(self.last_success),
            "consecutive_failures": self.consecutive_failures,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class StatusReport:
    project: str
    online_store: str  # the configured store's identity: the one judged
    checked_at: datetime  # "now" for every age in the report
    views: tuple[ViewStatus, ...]

    @property
    def ok(self) -> bool:
        return not any(v.problems for v in self.views)

    @property
    def exit_code(self) -> int:
        """1 when any view misses its freshness, was never materialized, or its last run failed."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "online_store": self.online_store,
            "checked_at": _time(self.checked_at),
            "ok": self.ok,
            "views": [v.to_dict() for v in self.views],
        }
