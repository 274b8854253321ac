"""Run history in the state document (issue 14): bounded per view, the last success kept
through any number of failures, runs of deleted views dropped; the newest event written per
view and store; and what ``fsctl status`` reads from it (last run, last success,
consecutive failures). Pure functions: snapshots in, snapshots out.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

from fsctl.state.document import (
    MAX_RUNS_PER_VIEW,
    PushRecord,
    Registered,
    RunRecord,
    StateSnapshot,
    dumps,
    empty_state,
    parse_document,
    prune_runs,
    record_failure,
    record_pushes,
    record_success,
)
from fsctl.state.history import newest_pushed, view_history

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
STORE = "sqlite:data/online.db"
OTHER = "redis:localhost:6379/0"


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def run(
    n: int,
    view: str = "stats",
    status: str = "succeeded",
    store: str | None = STORE,
    newest: datetime | None = None,
    keys: int = 3,
) -> RunRecord:
    return RunRecord(
        run_id=f"{view}-{n}",
        view=view,
        start=h(n),
        end=h(n + 1),
        started_at=h(n + 1),
        finished_at=h(n + 1) + timedelta(minutes=1),
        status=status,  # type: ignore[arg-type]
        rows_read=5,
        keys_written=keys if status == "succeeded" else 0,
        actor="cron@host",
        error="boom" if status == "failed" else None,
        store=store,
        newest_event=newest,
    )


def record(state: StateSnapshot, r: RunRecord, fingerprint: str = "fp1", registered: Registered | None = None) -> StateSnapshot:
    if r.status == "failed":
        return record_failure(state, r, registered)
    return record_success(state, r.view, r.start, r.end, fingerprint, r, registered)


def ids(runs: list[RunRecord] | tuple[RunRecord, ...]) -> list[str]:
    return [r.run_id for r in runs]


# --- pruning -------------------------------------------------------------------------------


def test_a_chatty_view_never_pushes_out_another_views_runs() -> None:
    state = record(empty_state("s"), run(0, view="daily"))
    for n in range(1, 500):
        state = record(state, run(n, view="minutely"))
    assert ids(view_history(state, "daily", STORE).runs) == ["daily-0"]
    kept = view_history(state, "minutely", STORE).runs
    assert len(kept) == MAX_RUNS_PER_VIEW
    assert ids(kept) == [f"minutely-{n}" for n in range(500 - MAX_RUNS_PER_VIEW, 500)]
    assert ids(state.runs) == ["daily-0", *ids(kept)]  # newest last, order kept


def test_the_last_success_survives_any_number_of_failures() -> None:
    state = record(empty_state("s"), run(0))
    for n in range(1, 120):
        state = record(state, run(n, status="failed"))
    history = view_history(state, "stats", STORE)
    assert len(history.runs) == MAX_RUNS_PER_VIEW + 1
    assert history.runs[0].run_id == "stats-0"  # the old success, then the newest 50 failures
    assert history.last_success is not None and history.last_success.run_id == "stats-0"
    assert history.last_run is not None and history.last_run.run_id == "stats-119"
    assert history.consecutive_failures == MAX_RUNS_PER_VIEW  # counted over the kept history


def test_the_last_success_is_kept_per_store() -> None:
    state = record(empty_state("s"), run(0, store=OTHER))
    state = record(state, run(1, store=STORE))
    for n in range(2, 80):
        state = record(state, run(n, status="failed"))
    assert view_history(state, "stats", OTHER).last_success is not None
    assert view_history(state, "stats", STORE).last_success is not None


def test_runs_of_views_no_longer_registered_are_dropped() -> None:
    state = record(record(empty_state("s"), run(0, view="gone")), run(1, view="kept"))
    registered = Registered(frozenset({"kept", "stats"}), read_at=h(10))
    state = record(state, run(20), registered=registered)
    assert ids(state.runs) == ["kept-1", "stats-20"]


def test_a_view_added_after_the_registry_was_read_keeps_its_runs() -> None:
    """A concurrent apply added ``new`` and another process materialized it after this
    writer read the registry: its run finished after the read, so it stays."""
    state = record(empty_state("s"), run(5, view="new"))  # finished at h(6) + 1m
    registered = Registered(frozenset({"stats"}), read_at=h(6))
    assert ids(record(state, run(7), registered=registered).runs) == ["new-5", "stats-7"]


def test_prune_keeps_the_list_when_nothing_is_dropped() -> None:
    runs = [run(n) for n in range(3)]
    assert prune_runs(runs) is runs


# --- what status reads ---------------------------------------------------------------------


def test_consecutive_failures_count_since_the_last_success() -> None:
    state = empty_state("s")
    for n, status in enumerate(["failed", "succeeded", "failed", "succeeded", "failed", "failed", "failed"]):
        state = record(state, run(n, status=status))
    history = view_history(state, "stats", STORE)
    assert history.consecutive_failures == 3
    assert history.last_success is not None and history.last_success.run_id == "stats-3"
    never = view_history(record(empty_state("s"), run(0, status="failed")), "stats", STORE)
    assert (never.last_success, never.consecutive_failures) == (None, 1)


def test_the_history_of_a_view_is_per_store() -> None:
    state = record(record(empty_state("s"), run(0, store=OTHER)), run(1, status="failed"))
    assert ids(view_history(state, "stats", OTHER).runs) == ["stats-0"]
    assert ids(view_history(state, "stats", STORE).runs) == ["stats-1"]
    assert view_history(state, "other", STORE).last_run is None


def test_the_newest_event_written_is_kept_per_view_and_store() -> None:
    state = record(empty_state("s"), run(0, newest=h(0.5)))
    state = record(state, run(1))  # a window without rows: the newest stays
    assert state.stores[STORE]["stats"].newest_event == h(0.5)
    state = record(state, run(2, newest=h(2.5)))
    assert state.stores[STORE]["stats"].newest_event == h(2.5)
    older = record_success(state, "stats", h(-10), h(-9), "fp1", run(-10, newest=h(-9.5)))  # a backfill
    assert older.stores[STORE]["stats"].newest_event == h(2.5)
    gap = record_success(state, "stats", h(8), h(9), "fp1", run(8, newest=h(8.5)))  # rows past a gap
    assert gap.stores[STORE]["stats"].watermark == h(3)  # the watermark waits for the gap
    assert gap.stores[STORE]["stats"].newest_event == h(8.5)  # the rows are in the store all the same


def test_a_new_definition_starts_the_newest_event_afresh() -> None:
    state = record(empty_state("s"), run(0, newest=h(0.5)))
    changed = record(state, run(1), fingerprint="fp2")
    assert changed.stores[STORE]["stats"].newest_event is None


def test_pushes_count_as_newest_events_only_when_something_was_written() -> None:
    def push(newest: datetime, written: int, store: str = STORE) -> PushRecord:
        return PushRecord("p", "stats", "push:src", 2, 2, written, newest, h(50), "127.0.0.1", store)

    state = record_pushes(empty_state("s"), [push(h(5), 2), push(h(9), 0), push(h(7), 1, OTHER)])
    assert newest_pushed(state, "stats", STORE) == h(5)
    assert newest_pushed(state, "stats", OTHER) == h(7)
    assert newest_pushed(state, "other", STORE) is None


def test_the_new_keys_roundtrip_and_are_absent_when_unknown() -> None:
    state = record(record(empty_state("s", "demo"), run(0, newest=h(0.5))), run(1, status="failed"))
    state = dataclasses.replace(state, serial=2)
    document = json.loads(dumps(state))
    assert document["stores"][STORE]["stats"]["newest_event"] == "2026-01-01T00:30:00Z"
    assert document["runs"][0]["newest_event"] == "2026-01-01T00:30:00Z"
    assert "newest_event" not in document["runs"][1]
    assert parse_document(dumps(state), "s") == state
