"""Use case: materialize. Load the latest row per entity key of each online view, for event
times in ``[start, end)``, from its source into the online store.

Orchestration only: per view, the view's data checks run on the window first (every source
row in it, computed by the engine; see :mod:`fsctl.services.checks`): a window that fails
them is not written when the view's ``check_policy`` is ``reject`` (the default; the run
fails and the watermark stays) and is written with the failures recorded in the run when it
is ``warn``. Then the offline engine picks the latest row per key in the
window (latest event time, then latest created time; a null created time loses) and
streams it in the online store's stored form; the records are written in batches, so
memory is bounded by the batch and the number of keys, never the source. An engine whose
rows live on executors (Spark) writes them there instead, when it offers
:class:`~fsctl.offline.base.ExecutorWrites` and the caller gives a ``store_opener`` (the
online store, openable in the engine's tasks): each task writes its rows with the same
never-older write and the summed counts come back; the engine may decline (a local SQLite
file and executors on other machines), and then the records stream through this process.
Stores upsert with the never-older rule, so a re-run, an overlapping window or an older
backfill cannot replace a newer value. The view's watermark (in the state document beside
the registry, never in the registry) moves only after all its rows are written; a run
killed at any point leaves the watermark where it was, and re-running completes it.

Watermarks belong to the online store they were written to (``project.online_store``, the
configured store's identity): a store with no watermark of its own for a view loads it from
scratch, so switching stores never leaves a gap. A store the registry's online views were
not applied to is refused (its tables come with ``fsctl apply``; see
:func:`fsctl.services.online_tables.require_applied_store`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from fsctl.definitions.values import format_duration
from fsctl.errors import FsctlError, StoreError, UsageError
from fsctl.offline import LatestRequest, OfflineEngine, Window
from fsctl.offline.base import ExecutorWrites
from fsctl.online import OnlineStore
from fsctl.online.sinks import StoreOpener
from fsctl.registry import RegistryReader
from fsctl.results.materialize import MaterializeResult, ViewRun
from fsctl.services.catalog import Catalog
from fsctl.services.online_tables import require_applied_store
from fsctl.services.project import Project
from fsctl.state import StateStore

BATCH_SIZE = int(os.environ.get("FSCTL_MATERIALIZE_BATCH_SIZE", "10000"))


class ProgressSink:
    """What the CLI gives materialize to show progress; every method is optional work."""

    def start_view(self, view: str, keys: int, rows: int) -> None: ...

    def advance(self, view: str, keys: int) -> None: ...

    def message(self, text: str) -> None: ...


def _fault(point: str) -> None:
    """Test hook: ``FSCTL_FAULT_INJECT=point`` kills this process with SIGKILL at ``point``, so
    tests can show a run killed there loses nothing. Never set outside tests."""
    if os.environ.get("FSCTL_FAULT_INJECT") == point:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def data_fingerprint(view: dict[str, Any], objects: Catalog) -> str:
    """What a view's online values are computed from; an apply that keeps it keeps the watermark."""
    from fsctl.definitions.training import view_data_fingerprint

    source = objects.source(view["source"])
    return view_data_fingerprint(view, source, list(objects.join_keys(view)), sources=objects.sources)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def select_views(objects: Catalog, names: list[str] | None) -> list[dict[str, Any]]:
    all_views = [objects.view(name) for name in sorted(objects.names("FeatureView"))]
    if names is None:
        return [v for v in all_views if v.get("online", True)]
    if not names:
        raise UsageError(
            "no views named to materialize (an empty --views)",
            hint="name views with --views A,B, or leave --views out to materialize every online view",
        )
    chosen = []
    for name in dict.fromkeys(names):  # a view named twice is loaded once
        view = objects.view(name)
        if not view.get("online", True):
            raise UsageError(f"view '{name}' is not online (online: false), so it is not materialized")
        chosen.append(view)
    return chosen


def _load_view(
    engine: OfflineEngine,
    store: OnlineStore,
    objects: Catalog,
    name: str,
    run: ViewRun,
    progress: ProgressSink,
    store_opener: StoreOpener | None = None,
) -> None:
    target = objects.online_view(name)
    rows = engine.latest(LatestRequest(objects.view_spec(name), Window(run.start, run.end)))
    run.keys, run.rows_read = rows.keys, rows.rows_read
    progress.start_view(name, run.keys, run.rows_read)
    _fault("after-query")
    store.create(target)
    if store_opener is not None and isinstance(rows, ExecutorWrites):
        counts = rows.write(store_opener.for_view(target), BATCH_SIZE)
        if counts is not None:  # written by the engine's tasks (else: declined, stream below)
            run.keys_written, run.keys_sent, run.newest_event_us = counts.written, counts.sent, counts.newest_event_us
            progress.advance(name, counts.sent)
            return
    batches = 0
    for batch in rows.batches(BATCH_SIZE):
        run.keys_written += store.write(target, batch)
        run.keys_sent += len(batch)
        newest = max(record[1] for record in batch) if batch else None  # event_ts, in microseconds
        if newest is not None and (run.newest_event_us is None or newest > run.newest_event_us):
            run.newest_event_us = newest
        batches += 1
        progress.advance(name, len(batch))
        _fault(f"after-batch-{batches}")


def _checks_pass(
    engine: OfflineEngine, objects: Catalog, view: dict[str, Any], run: ViewRun, progress: ProgressSink
) -> bool:
    """Run the view's data checks on the run's window (none: nothing to do); False when the
    window fails them and the view's policy rejects it (the run is then failed)."""
    from fsctl.services.checks import policy_of, rejection, window_checks, window_request

    request = window_request(objects, view, Window(run.start, run.end))
    if request.empty:
        return True
    run.checks = result = window_checks(engine.check(request), policy_of(view))
    failures = result.failures
    if not failures:
        return True
    count = f"{len(failures)} of {len(result.outcomes)} data checks failed"
    if result.policy != "reject":
        progress.message(f"{run.view}: {count} (check_policy: warn): writing the window anyway")
        return True
    progress.message(f"{run.view}: {count} (check_policy: reject): nothing is written")
    run.status, run.error, run.rows_read = "failed", rejection(result), result.rows
    return False


def materialize(
    project: Project,
    registry: RegistryReader,
    state_store: StateStore,
    store: OnlineStore,
    engine: OfflineEngine,
    end: datetime,
    *,
    start: datetime | None = None,
    incremental: bool = False,
    views: list[str] | None = None,
    lookback: timedelta | None = None,
    progress: ProgressSink | None = None,
    now: Callable[[], datetime] | None = None,
    store_opener: StoreOpener | None = None,
) -> MaterializeResult:
    """Materialize ``[start, end)`` (or, incrementally, from each view's watermark to ``end``);
    ``store_opener`` lets an engine that can write from its own tasks do so."""
    from fsctl import state as state_module
    from fsctl.services.audit import actor
    from fsctl.services.checks import check_records
    from fsctl.state.document import Registered, RunRecord, watermark_for

    sink = progress or ProgressSink()
    clock = now or (lambda: datetime.now(timezone.utc))
    end = utc(end)
    if start is not None:
        start = utc(start)
        if start >= end:
            raise UsageError(f"START {start.isoformat()} is not before END {end.isoformat()}")
    if end > clock() + timedelta(minutes=5):
        raise UsageError(
            f"END {end.isoformat()} is in the future",
            hint="the watermark would move past rows that have not arrived yet; use the current time or earlier",
        )
    read_at = clock()
    objects = Catalog(project, registry)
    # Runs of views no longer in the registry are dropped from the history as runs are recorded.
    registered = Registered(frozenset(objects.names("FeatureView")), read_at)
    require_applied_store(project, registry.read(), "materialize")
    chosen = select_views(objects, views)
    snapshot = state_store.read()
    result = MaterializeResult()
    for view in chosen:
        name = view["name"]
        ttl = int(view.get("ttl") or 0)
        fp = data_fingerprint(view, objects)
        run_start = start
        note = ""
        if incremental:
            mark = watermark_for(snapshot, name, fp, project.online_store)
            # A watermark of another store, or recorded before stores were (store unknown), does not count.
            elsewhere = name in snapshot.views or any(
                name in marks for store_id, marks in snapshot.stores.items() if store_id != project.online_store
            )
            none = "no watermark in this online store" if elsewhere else "no watermark"
            if mark is not None:
                run_start = mark - (lookback or timedelta(0))
                back = format_duration(int(lookback.total_seconds())) if lookback else ""
                note = "from the watermark" + (f" minus the {back} lookback" if lookback else "")
            elif ttl:
                run_start = end - timedelta(seconds=ttl)
                note = f"{none}: from END minus the TTL"
            else:
                run_start, note = None, f"{none} and no TTL: from the earliest event"
        run = ViewRun(name, run_start, end, note=note)
        result.runs.append(run)
        if run_start is not None and run_start >= end:
            run.status, run.note = "up-to-date", "the watermark is already at or after END"
            continue
        started = clock()
        timer = time.perf_counter()
        sink.message(f"materializing {name}")
        try:
            if _checks_pass(engine, objects, view, run, sink):  # else rejected: nothing written
                _load_view(engine, store, objects, name, run, sink, store_opener)
                store.sync()  # the rows must be durable before the watermark says they are there
                if not _still_online(registry, name):
                    # An apply deleted the view (or set online: false) while it loaded: drop the
                    # table it recreated, and record no watermark for a view that is gone.
                    store.drop(project.name, name)
                    run.status, run.note = "skipped", "the view was removed by a concurrent apply"
                    continue
        except FsctlError as exc:  # a source or store failure: record it, keep the watermark
            run.status, run.error = "failed", exc.message
        except OSError as exc:
            run.status, run.error = "failed", str(exc).splitlines()[0]
        run.seconds = time.perf_counter() - timer
        record = RunRecord(
            run_id=uuid.uuid4().hex[:12],
            view=name,
            start=run_start,
            end=end,
            started_at=started,
            finished_at=clock(),
            status="failed" if run.status == "failed" else "succeeded",
            rows_read=run.rows_read,
            keys_written=run.keys_written,
            actor=actor(),
            error=run.error,
            store=project.online_store,
            check_policy=run.checks.policy if run.checks is not None else None,
            checks=check_records(run.checks) if run.checks is not None else None,
            newest_event=run.newest_event if run.status != "failed" else None,
        )
        _fault("before-state")
        if run.status == "failed":
            try:
                state_module.update(
                    state_store,
                    functools.partial(_failure, project=project.name, run=record, registered=registered),
                )
            except FsctlError:
                pass  # the run failed already; its error is the one to report
        else:
            snapshot = state_module.update(
                state_store,
                functools.partial(
                    _success,
                    project=project.name,
                    view=name,
                    start=run_start,
                    end=end,
                    fingerprint=fp,
                    run=record,
                    registered=registered,
                ),
            )
    return result


def _success(snapshot: Any, project: str, **run: Any) -> Any:
    from fsctl.state.document import record_success

    return dataclasses.replace(record_success(snapshot, **run), project=project)


def _still_online(registry: RegistryReader, view: str) -> bool:
    raw = registry.read().objects.get("FeatureView", {}).get(view)
    return raw is not None and bool(raw.get("online", True))


def _failure(snapshot: Any, project: str, run: Any, registered: Any = None) -> Any:
    from fsctl.state.document import record_failure

    return dataclasses.replace(record_failure(snapshot, run, registered), project=project)


def raise_if_failed(result: MaterializeResult) -> None:
    """One error for every failed view (a window rejected by its data checks names each
    failing check, its count and an example key)."""
    from fsctl.services.checks import failure_lines

    if result.failed:
        lines = []
        for r in result.failed:
            if r.rejected and r.checks is not None:
                count = len(r.checks.failures)
                lines.append(
                    f"{r.view}: rejected by {count} failing data check{'s' if count != 1 else ''} "
                    "(check_policy: reject), nothing written:"
                )
                lines.extend(f"  {line}" for line in failure_lines(r.checks))
            else:
                lines.append(f"{r.view}: {r.error}")
        hints = []
        if any(r.rejected for r in result.failed):
            hints.append(
                "a rejected window is written by the next run once its rows pass: fix the source rows "
                "(or the checks, or set check_policy: warn); `fsctl check VIEW --start START --end END` "
                "runs the checks alone"
            )
        if any(not r.rejected for r in result.failed):
            hints.append("fix the cause and run the same command again; rows already written are kept")
        views = len(result.failed)
        raise StoreError(
            f"materialization failed for {views} view{'s' if views > 1 else ''} "
            "(their watermarks did not move):\n  " + "\n  ".join(lines),
            hint="; ".join(hints),
        )
