"""What the state document says about one view in one online store: its runs (the last
one, the last success, the failures since), and the newest event written to the store.

``fsctl status`` reads these (and the UI will); they are pure functions of a
:class:`~fsctl.state.document.StateSnapshot`. Run history is bounded per view (see
:func:`~fsctl.state.document.prune_runs`), so consecutive failures are counted over the
kept history: at most :data:`~fsctl.state.document.MAX_RUNS_PER_VIEW`, while the last
success is always kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fsctl.state.document import RunRecord, StateSnapshot


@dataclass(frozen=True)
class ViewHistory:
    """The runs of one view in one online store, oldest first."""

    runs: tuple[RunRecord, ...]

    @property
    def last_run(self) -> RunRecord | None:
        return self.runs[-1] if self.runs else None

    @property
    def last_success(self) -> RunRecord | None:
        return next((r for r in reversed(self.runs) if r.status == "succeeded"), None)

    @property
    def consecutive_failures(self) -> int:
        """Failed runs since the last successful one (all of them when none succeeded)."""
        count = 0
        for run in reversed(self.runs):
            if run.status != "failed":
                break
            count += 1
        return count

    @property
    def wrote_rows(self) -> bool:
        """Some kept successful run wrote keys to the store."""
        return any(r.status == "succeeded" and r.keys_written > 0 for r in self.runs)


def view_history(snapshot: StateSnapshot, view: str, store: str) -> ViewHistory:
    """The runs of ``view`` that wrote (or tried to write) to the online store ``store``."""
    return ViewHistory(tuple(r for r in snapshot.runs if r.view == view and r.store == store))


def newest_pushed(snapshot: StateSnapshot, view: str, store: str) -> datetime | None:
    """The newest event time pushed to ``view`` in ``store`` among the recorded pushes."""
    times = [
        p.newest_event
        for p in snapshot.pushes
        if p.view == view and p.store == store and p.keys_written > 0 and p.newest_event is not None
    ]
    return max(times, default=None)
