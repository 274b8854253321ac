"""Use case: status. How fresh each online view's data is in the configured online store,
how its materialization runs went, and what to do about it (``fsctl status``, cron).

Per view it gathers:

* the newest event time in the online store and its age. Stores cannot tell their newest
  record cheaply (a scan of DynamoDB or Redis), so it comes from the state document: the
  newest event materialized into the store under the view's current definition
  (:class:`~fsctl.state.document.ViewState`'s ``newest_event``) or pushed to it
  (``pushes``). Before runs recorded it (an older fsctl), the watermark stands in for it;
* the watermark, the last run, the last success and the failures since (the run history,
  :mod:`fsctl.state.history`);
* the newest event time in the source, through the offline engine (:class:`EventsRequest`),
  and, when the last run wrote nothing, the source's rows in that run's window now;
* whether the view's table exists in the online store.

Then it judges: a **problem** (exit 1) when the view misses its ``freshness`` (the age of
its newest online *data*, not of its last job), was never materialized into the store
under its current definition (or has no table there), or its last run failed. A
**warning** (exit 0) when the last run succeeded but wrote nothing while its window has
rows in the source now, or when the source or the store cannot be read. Views without
``freshness`` are judged only on the rest. Every finding says what to run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fsctl.definitions.values import format_duration
from fsctl.errors import FsctlError, UsageError
from fsctl.offline import EventsRequest, OfflineEngine, SourceEvents, Window
from fsctl.online import OnlineStore
from fsctl.registry import RegistryReader
from fsctl.results.status import Finding, LastRun, StatusReport, ViewStatus
from fsctl.services.catalog import Catalog
from fsctl.services.materialize import data_fingerprint, select_views
from fsctl.services.project import Project
from fsctl.state import StateStore
from fsctl.state.document import RunRecord, StateSnapshot, format_time
from fsctl.state.history import newest_online, view_history


def status(
    project: Project,
    registry: RegistryReader,
    state_store: StateStore,
    store: OnlineStore,
    engine: OfflineEngine,
    *,
    views: list[str] | None = None,
    now: Callable[[], datetime] | None = None,
) -> StatusReport:
    """The status of ``views`` (default: every online view) in the configured online store."""
    objects = Catalog(project, registry)
    if views is not None and not views:
        raise UsageError(
            "no views named (an empty --views)",
            hint="name views with --views A,B, or leave --views out for every online view",
        )
    chosen = select_views(objects, views)
    snapshot = state_store.read()
    tables, store_problem = _tables(store, project.name)
    checked_at = (now or (lambda: datetime.now(timezone.utc)))()
    judge = _Judge(project, objects, snapshot, engine, tables, store_problem, checked_at)
    return StatusReport(project.name, project.online_store, checked_at, tuple(judge(v) for v in chosen))


def _tables(store: OnlineStore, project: str) -> tuple[set[str] | None, str | None]:
    """The views with a table in the store, or None and why the store could not say."""
    try:
        return store.views(project), None
    except (FsctlError, OSError) as exc:
        return None, getattr(exc, "message", None) or str(exc).splitlines()[0]


def _ago(seconds: float) -> str:
    return format_duration(max(int(seconds), 0), units=2)


def _t(value: datetime) -> str:
    """A time in a message: ISO 8601 UTC, to the second."""
    return format_time(value.replace(microsecond=0))


def _last_run(run: RunRecord | None) -> LastRun | None:
    if run is None:
        return None
    return LastRun(
        run_id=run.run_id,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        start=run.start,
        end=run.end,
        rows_read=run.rows_read,
        keys_written=run.keys_written,
        newest_event=run.newest_event,
        error=run.error,
        actor=run.actor,
    )


@dataclass
class _Judge:
    project: Project
    objects: Catalog
    snapshot: StateSnapshot
    engine: OfflineEngine
    tables: set[str] | None
    store_problem: str | None
    checked_at: datetime

    @property
    def end(self) -> str:
        """END for the commands a finding suggests: the time of this report, to the second."""
        return _t(self.checked_at)

    def incremental(self, name: str) -> str:
        return f"fsctl materialize-incremental {self.end} --views {name}"

    def __call__(self, view: dict[str, Any]) -> ViewStatus:
        name = view["name"]
        store = self.project.online_store
        freshness = int(view["freshness"]) if view.get("freshness") else None
        state = self.snapshot.view_state(store, name)
        current = state if state is not None and state.fingerprint == data_fingerprint(view, self.objects) else None
        history = view_history(self.snapshot, name, store)
        last, success = history.last_run, history.last_success
        findings: list[Finding] = []

        # The newest online event: materialized under this definition, or pushed.
        aged, basis = newest_online(self.snapshot, name, store, current)
        newest = aged if basis != "watermark" else None
        age = (self.checked_at - aged).total_seconds() if aged is not None else None

        source = self._source(name, last, findings)
        if self.tables is not None and name not in self.tables:
            findings.append(Finding(
                "problem", "no-table", f"it has no table in the online store {store}",
                f"run `fsctl apply` (it creates the tables of online views), then `{self.incremental(name)}`",
            ))  # fmt: skip
        if current is None:
            findings.append(self._never(name, state is not None, last))
        if last is not None and last.status == "failed":
            findings.append(self._failed(name, last, success, history.consecutive_failures))
        if freshness is not None and current is not None:
            findings.extend(self._freshness(name, freshness, newest, age, basis, source, last))
        if last is not None and last.status == "succeeded" and not last.keys_written and source is not None:
            findings.extend(self._zero_rows(name, last, source))
        if last is not None and last.status == "succeeded" and last.checks:
            findings.append(self._checks_warned(name, last))
        if self.store_problem is not None:
            findings.append(Finding(
                "warning", "store-unreachable", f"the online store cannot be read: {self.store_problem}",
                "check the online store; status judged the view from the state document alone",
            ))  # fmt: skip
        if last is not None and last.status == "failed":  # its error already says what the source read would
            findings = [f for f in findings if not (f.code == "source-unreadable" and last.error and last.error in f.message)]
        findings.sort(key=lambda f: f.severity != "problem")  # problems first, in the order found
        fresh = current is not None and (freshness is None or (age is not None and age <= freshness))
        return ViewStatus(
            name=name,
            freshness=freshness,
            fresh=fresh,
            newest_event=newest,
            age_seconds=age,
            watermark=current.watermark if current is not None else None,
            source_newest_event=source.newest_event if source is not None else None,
            last_run=_last_run(last),
            last_success=success.finished_at if success is not None else None,
            consecutive_failures=history.consecutive_failures,
            findings=tuple(findings),
            age_basis=basis,
        )

    def _source(self, name: str, last: RunRecord | None, findings: list[Finding]) -> SourceEvents | None:
        """The source's newest event and, when the last run wrote nothing, its rows in that window."""
        zero = last is not None and last.status == "succeeded" and not last.keys_written
        window = Window(last.start, last.end) if zero and last is not None else None
        try:
            events = self.engine.events(EventsRequest(self.objects.view_spec(name), window))
        except (FsctlError, OSError) as exc:
            message = getattr(exc, "message", None) or str(exc).splitlines()[0]
            findings.append(Finding(
                "warning", "source-unreadable", f"its source cannot be read now: {message}",
                "fix the source before the next materialize, which would fail on it",
            ))  # fmt: skip
            return None
        if events.newest_event is None:
            findings.append(Finding(
                "warning", "source-empty", "its source has no rows",
                "check the job that writes the source's files",
            ))  # fmt: skip
        return events

    def _never(self, name: str, changed: bool, last: RunRecord | None) -> Finding:
        store = self.project.online_store
        if changed:
            return Finding(
                "problem", "definition-changed",
                f"its data definition (source, keys or dtypes) changed since it was last materialized "
                f"into {store}: the online values are from the old definition",
                f"run `{self.incremental(name)}`",
            )  # fmt: skip
        tried = " (every recorded run failed)" if last is not None else ""
        return Finding(
            "problem", "never-materialized", f"it was never materialized into the online store {store}{tried}",
            f"run `{self.incremental(name)}`" + (" once the failure below is fixed" if tried else ""),
        )  # fmt: skip

    def _failed(self, name: str, last: RunRecord, success: RunRecord | None, failures: int) -> Finding:
        since = f"last success {_t(success.finished_at)}" if success is not None else "never succeeded"
        row = f"{failures} failures in a row" if failures > 1 else "1 failure"
        return Finding(
            "problem", "last-run-failed",
            f"its last run failed at {_t(last.finished_at)} ({row}, {since}): {last.error or 'no error recorded'}",
            f"fix the cause, then run `{self.incremental(name)}` (the watermark did not move: nothing is skipped)",
        )  # fmt: skip

    def _freshness(
        self,
        name: str,
        freshness: int,
        newest: datetime | None,
        age: float | None,
        basis: str | None,
        source: SourceEvents | None,
        last: RunRecord | None,
    ) -> list[Finding]:
        limit = format_duration(freshness)
        first = "fix the failure above, then " if last is not None and last.status == "failed" else ""
        src = source.newest_event if source is not None else None
        if age is None:
            where = f" (its source's newest event is {_t(src)})" if src is not None else ""
            return [Finding(
                "problem", "no-data",
                f"the online store holds no rows of it: its runs found none in their windows{where}",
                f"{first}check that the source has rows newer than END minus the TTL; "
                f"`fsctl materialize START {self.end} --views {name}` loads an older window",
            )]  # fmt: skip
        if age <= freshness:
            return []
        what = f"its newest online event, {_t(newest)}," if newest is not None else "its watermark"
        note = "" if basis != "watermark" else " (judged by the watermark: no run recorded its newest event yet)"
        message = f"stale: {what} is {_ago(age)} old, over its freshness {limit}{note}"
        if src is not None and newest is not None and src <= newest:
            fix = (
                f"the source has no newer rows either (newest {_t(src)}): check the job that writes "
                f"{self.objects.view_spec(name).source.location}"
            )
        elif src is not None:
            fix = f"{first}run `{self.incremental(name)}` (the source has rows up to {_t(src)})"
        else:
            fix = f"{first}run `{self.incremental(name)}`; if it loads nothing newer, check the source's upstream job"
        return [Finding("problem", "stale", message, fix)]

    def _checks_warned(self, name: str, last: RunRecord) -> Finding:
        """The last run wrote a window that failed data checks (``check_policy: warn``)."""
        failed = [
            f"{c.feature + ' ' if c.feature else ''}{c.check}: {c.failed} of {c.rows} rows" for c in last.checks or ()
        ]
        end = _t(last.end)
        window = f"[{_t(last.start)}, {end})" if last.start is not None else f"the rows before {end}"
        since = f" --start {_t(last.start)}" if last.start is not None else ""
        return Finding(
            "warning",
            "checks-failed",
            f"its last run wrote {window} although {len(failed)} data check"
            f"{'s' if len(failed) != 1 else ''} failed (check_policy: warn): {'; '.join(failed)}",
            f"see `fsctl check {name}{since} --end {end}`; fix the source rows, or set "
            "check_policy: reject to keep such windows out",
        )

    def _zero_rows(self, name: str, last: RunRecord, source: SourceEvents) -> list[Finding]:
        rows = source.window_rows or 0
        if not rows:
            return []
        start = _t(last.start) if last.start is not None else "the earliest event"
        window = f"[{start}, {_t(last.end)})"
        if last.rows_read == 0:
            begin = _t(last.start) if last.start is not None else "START"
            return [Finding(
                "warning", "zero-rows",
                f"its last run wrote 0 rows, but the source has {rows:,} rows in its window {window} now: "
                "they arrived after the run, and incremental runs go on from its END",
                f"run `fsctl materialize {begin} {_t(last.end)} --views {name}`; "
                "`materialize-incremental --lookback` re-reads late rows from then on",
            )]  # fmt: skip
        return [Finding(
            "warning", "zero-rows",
            f"its last run read {last.rows_read:,} rows of {window} but wrote no keys: the online store held "
            "newer values for every key",
            "nothing to do if the run re-loaded or backfilled that window; otherwise check the source's event times",
        )]  # fmt: skip
