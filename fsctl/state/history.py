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

from fsctl.state.document import RunRecord, StateSnapshot, ViewState


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


def newest_online(
    snapshot: StateSnapshot, view: str, store: str, current: ViewState | None
) -> tuple[datetime | None, str | None]:
    """The newest event of ``view``'s data in ``store``, and what it is taken from: ``runs``
    (materialized under the view's current definition: ``current``, its state entry when its
    fingerprint matches, else None), ``pushes``, or ``watermark`` (only when runs that wrote
    keys were recorded by an fsctl that kept no newest event: the watermark stands in).
    ``(None, None)``: the store holds no rows of it that fsctl knows of. ``fsctl status``
    and the plan's freshness gate judge freshness by it."""
    newest, basis = (current.newest_event, "runs") if current is not None else (None, None)
    if newest is None:
        basis = None
    pushed = newest_pushed(snapshot, view, store)
    if pushed is not None and (newest is None or pushed > newest):
        newest, basis = pushed, "pushes"
    if newest is None and current is not None and current.watermark is not None:
        runs = view_history(snapshot, view, store).runs
        if any(r.status == "succeeded" and r.keys_written and r.newest_event is None for r in runs):
            return current.watermark, "watermark"
    return newest, basis
