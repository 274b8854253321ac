"""The materialization state document: watermarks and run history, beside the registry.

A view's *watermark* is the END of the last window whose rows were written to an online
store; ``materialize-incremental`` starts there. Watermarks live here, not in the registry,
so a materialize never changes the registry version (it never makes a saved plan stale),
and a view whose data definition is unchanged keeps its watermark across applies. Each
watermark is tied to the view's data *fingerprint*: when the definition changes, the old
watermark no longer counts and the view starts afresh. Each watermark also belongs to the
online store it was written to (keyed by the store's identity,
:class:`fsctl.online.base.OnlineStoreConfig`): a store that has none of its own starts
from scratch, and a store switched back to resumes from its own.

Shape (``format_version`` 1)::

    {
      "format_version": 1,
      "project": "driver_ranking",
      "serial": 7,                                 # +1 per write; 0 means "no document yet"
      "stores": {"sqlite:data/online.db":          # per online store identity, per view
                   {"driver_stats": {"watermark": "2026-01-02T00:00:00Z" or null,
                                     "fingerprint": "…", "updated_at": "2026-01-02T00:05:00Z",
                                     "newest_event": "2026-01-01T23:00:00Z"}}},  # optional
      "views": {"driver_stats": {...the same fields...}},   # legacy: store unknown, see below
      "runs": [{"run_id", "view", "start", "end", "started_at", "finished_at", "status",
                "rows_read", "keys_written", "actor", "error", "store",
                "check_policy", "checks", "newest_event"}, …],  # newest last; bounded per view, see below
      "pushes": [{"push_id", "view", "via", "rows", "keys", "keys_written", "newest_event",
                  "pushed_at", "client", "store"}, …]  # rows written by fsctl serve's push
    }                                                  # endpoints; newest last, at most 200; absent when none

Every time is ISO-8601 in UTC. The update rules (:func:`record_success`,
:func:`record_failure`, :func:`record_pushes`, :func:`forget_views`) are pure functions from a snapshot to a
snapshot; the stores in this package only read and compare-and-swap whole documents.

A run's ``check_policy`` and ``checks`` (issue 14) are there only when the view has data
checks: ``checks`` lists the checks that failed on the run's window, each
``{"check", "feature", "limit", "failed", "rows", "example_key", "example_time"}`` (``[]``:
all passed). A window rejected by its checks is a ``failed`` run whose watermark did not
move; with ``check_policy: warn`` the run succeeded and its failed checks are listed.
Additive, so the format stays 1.
**Run history** (``runs``, newest last) is bounded per view, not overall, so a view that
runs every minute never pushes out another view's history: each view keeps its newest
:data:`MAX_RUNS_PER_VIEW` (50) runs, plus its newest *successful* run in each online store
however old (so ``fsctl status`` can always tell when a view last succeeded, even after 50
failures in a row). Runs of views that are no longer in the registry are dropped by the
next materialize (:class:`Registered`: only runs that finished before the registry was
read, so a view added by a concurrent apply keeps its first runs). ``fsctl status`` reads
the last run, the last success and the consecutive failures of a view from it.

Keys added by ``fsctl status`` (issue 14), additive, so the format stays 1:

* a run's ``newest_event``: the newest event time among the rows the run wrote to the
  store (the latest row per key of its window); absent when the window had no rows, for
  failed runs, and in runs recorded before;
* a store's view entry's ``newest_event``: the newest event time materialized into that
  store for the view since its current fingerprint was recorded (the largest of its runs'
  ``newest_event``; it survives run pruning). Online stores cannot cheaply tell their
  newest record (a scan of DynamoDB or Redis), so ``fsctl status`` takes the age of a
  view's online data from here and from ``pushes``. Absent when no run recorded one.

``stores`` and a run's ``store`` were added when fsctl began to track online stores (issue
11): additive, so the format stays 1. Before, watermarks were kept per view in ``views``
without saying which store they were written to; fsctl no longer trusts them (the store
may have been switched since, and resuming from another store's watermark leaves a gap):
a view with only a ``views`` entry reloads once, from END minus its TTL or its earliest
event, and the entry is dropped when the view's first watermark in a known store is
recorded. ``views`` is still written (as read, minus dropped entries), so an older fsctl
reading the document sees a valid one: it finds fewer or older watermarks, so it reloads
rather than skipping rows, and its writes lose ``stores``, which makes this fsctl reload.

What counts as a breaking change to this format: removing or renaming a key, changing a
value's type or meaning. Adding keys is not breaking; readers ignore unknown keys. A
breaking change bumps ``FORMAT_VERSION``; a document with a newer format is refused, and a
document that does not parse is never overwritten.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from fsctl.errors import StoreError

FORMAT_VERSION = 1
MAX_RUNS_PER_VIEW = 50
MAX_PUSHES = 200

RunStatus = Literal["succeeded", "failed"]


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix (microseconds only when there are some)."""
    return _utc(value, "a time").isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`; any explicit offset is converted to UTC."""
    if not isinstance(text, str):
        raise TypeError(f"a time must be an ISO-8601 string, got {type(text).__name__}")
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return _utc(value, "a stored time")


@dataclass(frozen=True)
class ViewState:
    """What is known about one view's online data."""

    watermark: datetime | None
    fingerprint: str
    updated_at: datetime
    newest_event: datetime | None = None  # the newest event time materialized (None: unknown or none)

    def __post_init__(self) -> None:
        if self.watermark is not None:
            object.__setattr__(self, "watermark", _utc(self.watermark, "watermark"))
        if self.newest_event is not None:
            object.__setattr__(self, "newest_event", _utc(self.newest_event, "newest_event"))
        object.__setattr__(self, "updated_at", _utc(self.updated_at, "updated_at"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "watermark": format_time(self.watermark) if self.watermark else None,
            "fingerprint": self.fingerprint,
            "updated_at": format_time(self.updated_at),
            **({"newest_event": format_time(self.newest_event)} if self.newest_event else {}),
        }


@dataclass(frozen=True)
class CheckRecord:
    """A data check that failed on a run's window: ``failed`` rows at fault out of ``rows``
    (for ``min_rows``: the rows missing), and one of them (its join keys and event time)."""

    check: str  # min | max | max_null_fraction | allowed | unique | min_rows
    feature: str | None  # None for the row checks
    limit: Any  # the check's setting (a number, the allowed values, true)
    failed: int
    rows: int
    example_key: dict[str, Any] | None = None  # join key -> JSON value
    example_time: datetime | None = None

    def __post_init__(self) -> None:
        if self.example_time is not None:
            object.__setattr__(self, "example_time", _utc(self.example_time, "example_time"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "feature": self.feature,
            "limit": self.limit,
            "failed": self.failed,
            "rows": self.rows,
            "example_key": self.example_key,
            "example_time": format_time(self.example_time) if self.example_time else None,
        }


@dataclass(frozen=True)
class RunRecord:
    """One materialization run of one view, successful or not."""

    run_id: str
    view: str
    start: datetime | None
    end: datetime
    started_at: datetime
    finished_at: datetime
    status: RunStatus
    rows_read: int
    keys_written: int
    actor: str
    error: str | None = None
    store: str | None = None  # the identity of the online store written (None: recorded before stores were)
    check_policy: str | None = None  # reject | warn; None: the view has no data checks
    checks: tuple[CheckRecord, ...] | None = None  # the checks that failed; None: none ran
    newest_event: datetime | None = None  # the newest event time written (None: no rows, or not recorded)

    def __post_init__(self) -> None:
        if self.status not in ("succeeded", "failed"):
            raise ValueError(f"run status must be 'succeeded' or 'failed', got {self.status!r}")
        if self.start is not None:
            object.__setattr__(self, "start", _utc(self.start, "start"))
        if self.newest_event is not None:
            object.__setattr__(self, "newest_event", _utc(self.newest_event, "newest_event"))
        for name in ("end", "started_at", "finished_at"):
            object.__setattr__(self, name, _utc(getattr(self, name), name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "view": self.view,
            "start": format_time(self.start) if self.start else None,
            "end": format_time(self.end),
            "started_at": format_time(self.started_at),
            "finished_at": format_time(self.finished_at),
            "status": self.status,
            "rows_read": self.rows_read,
            "keys_written": self.keys_written,
            "actor": self.actor,
            "error": self.error,
            **({"store": self.store} if self.store is not None else {}),
            **({"check_policy": self.check_policy} if self.check_policy is not None else {}),
            **({"checks": [c.to_dict() for c in self.checks]} if self.checks is not None else {}),
            **({"newest_event": format_time(self.newest_event)} if self.newest_event else {}),
        }


@dataclass(frozen=True)
class PushRecord:
    """Rows of one view written by a push (``fsctl serve``'s ``/push`` or
    ``/write-to-online-store``): they never move a watermark, but status and the UI show them."""

    push_id: str
    view: str
    via: str  # "push:SOURCE" or "write-to-online-store"
    rows: int  # rows received for the view
    keys: int  # distinct entity keys among them
    keys_written: int  # keys stored (the others had a newer value already)
    newest_event: datetime | None
    pushed_at: datetime
    client: str  # the HTTP client's address
    store: str | None = None  # the identity of the online store written

    def __post_init__(self) -> None:
        if self.newest_event is not None:
            object.__setattr__(self, "newest_event", _utc(self.newest_event, "newest_event"))
        object.__setattr__(self, "pushed_at", _utc(self.pushed_at, "pushed_at"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "push_id": self.push_id,
            "view": self.view,
            "via": self.via,
            "rows": self.rows,
            "keys": self.keys,
            "keys_written": self.keys_written,
            "newest_event": format_time(self.newest_event) if self.newest_event else None,
            "pushed_at": format_time(self.pushed_at),
            "client": self.client,
            "store": self.store,
        }


@dataclass(frozen=True)
class StateSnapshot:
    """What a reader saw, plus ``token`` for compare-and-swap (None: no document yet).

    ``serial`` is the stored document's serial (0 when there is none); the store assigns
    the next one on write, so the update functions never touch it.
    """

    location: str
    project: str
    views: dict[str, ViewState] = field(default_factory=dict)  # legacy: store unknown, never used
    runs: list[RunRecord] = field(default_factory=list)
    token: str | None = None
    serial: int = 0
    stores: dict[str, dict[str, ViewState]] = field(default_factory=dict)  # store identity -> view -> state
    pushes: list[PushRecord] = field(default_factory=list)

    def view_state(self, store: str, view: str) -> ViewState | None:
        """What is known of ``view`` in the online store ``store``."""
        return self.stores.get(store, {}).get(view)

    @property
    def exists(self) -> bool:
        return self.serial > 0

    def to_document(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "project": self.project,
            "serial": self.serial,
            "stores": {
                store: {name: views[name].to_dict() for name in sorted(views)}
                for store, views in sorted(self.stores.items())
                if views
            },
            "views": {name: self.views[name].to_dict() for name in sorted(self.views)},
            "runs": [run.to_dict() for run in self.runs],
            **({"pushes": [push.to_dict() for push in self.pushes]} if self.pushes else {}),
        }


def empty_state(location: str, project: str = "") -> StateSnapshot:
    """The snapshot of a state document that does not exist yet."""
    return StateSnapshot(location=location, project=project)


# --- pure update rules -------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """The views of the registry version a writer read, and when it read it (see
    :func:`prune_runs`)."""

    views: frozenset[str]
    read_at: datetime


def prune_runs(runs: list[RunRecord], registered: Registered | None = None) -> list[RunRecord]:
    """``runs`` (newest last) bounded per view: each view's newest :data:`MAX_RUNS_PER_VIEW`
    runs, plus its newest successful run in each store when that is older. With
    ``registered``, runs of views not in it that finished before it was read are dropped (the
    view was deleted; a run finished after the read may be of a view a concurrent apply
    added). The order is kept; nothing dropped returns ``runs`` itself."""
    keep: list[RunRecord] = []
    seen: dict[str, int] = {}
    succeeded: set[tuple[str, str | None]] = set()
    for run in reversed(runs):
        if registered is not None and run.view not in registered.views and run.finished_at < registered.read_at:
            continue
        count = seen.get(run.view, 0)
        latest_success = run.status == "succeeded" and (run.view, run.store) not in succeeded
        if count < MAX_RUNS_PER_VIEW or latest_success:
            keep.append(run)
            seen[run.view] = count + 1
            if run.status == "succeeded":
                succeeded.add((run.view, run.store))
    if len(keep) == len(runs):
        return runs
    keep.reverse()
    return keep


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def record_success(
    snapshot: StateSnapshot,
    view: str,
    start: datetime | None,
    end: datetime,
    fingerprint: str,
    run: RunRecord,
    registered: Registered | None = None,
) -> StateSnapshot:
    """Record a successful run of ``view`` over ``[start, end)`` and move its watermark in
    the online store the run wrote to (``run.store``).

    The watermark moves to ``end`` when the view has none in that store, when its stored
    fingerprint differs (the data definition changed: what was loaded before no longer
    counts), or when the window is contiguous with what was loaded (``start`` is None or not
    after the watermark) and ends after it. It never moves backwards and never jumps over a
    gap: a window starting after the watermark leaves it where it is, so a later incremental
    run still covers the gap. The view's ``newest_event`` in the store becomes the later of
    its own (under the same fingerprint) and the run's, whether the watermark moves or not.
    The run is appended and the history pruned (:func:`prune_runs`, with ``registered``);
    the view's legacy entry (store unknown) is dropped.
    """
    if run.view != view or run.status != "succeeded" or run.store is None:
        raise ValueError(
            f"record_success needs a succeeded run of {view!r} naming its store, "
            f"got {run.status} of {run.view!r} in store {run.store!r}"
        )
    end = _utc(end, "end")
    start = _utc(start, "start") if start is not None else None
    current = snapshot.view_state(run.store, view)
    in_store = dict(snapshot.stores.get(run.store, {}))
    same = current is not None and current.fingerprint == fingerprint
    newest = _later(current.newest_event if current is not None and same else None, run.newest_event)
    moved = ViewState(watermark=end, fingerprint=fingerprint, updated_at=run.finished_at, newest_event=newest)
    if current is None or current.watermark is None or not same:
        in_store[view] = moved
    elif (start is None or start <= current.watermark) and end > current.watermark:
        in_store[view] = moved
    elif newest != current.newest_event:  # rows written behind the watermark or past a gap
        in_store[view] = dataclasses.replace(current, newest_event=newest)
    return dataclasses.replace(
        snapshot,
        stores={**snapshot.stores, run.store: in_store},
        views={name: state for name, state in snapshot.views.items() if name != view},
        runs=prune_runs([*snapshot.runs, run], registered),
    )


def record_failure(snapshot: StateSnapshot, run: RunRecord, registered: Registered | None = None) -> StateSnapshot:
    """Record a failed run (and prune the history, :func:`prune_runs`); no watermark moves."""
    if run.status != "failed":
        raise ValueError(f"record_failure needs a failed run, got {run.status}")
    return dataclasses.replace(snapshot, runs=prune_runs([*snapshot.runs, run], registered))


def record_pushes(snapshot: StateSnapshot, pushes: list[PushRecord]) -> StateSnapshot:
    """Record pushed rows (the newest :data:`MAX_PUSHES` are kept); no watermark moves."""
    return dataclasses.replace(snapshot, pushes=[*snapshot.pushes, *pushes][-MAX_PUSHES:])


def watermark_for(snapshot: StateSnapshot, view: str, fingerprint: str, store: str) -> datetime | None:
    """The view's watermark in the online store ``store`` if it was loaded there under this
    ``fingerprint``; else None (a legacy watermark of an unknown store never counts)."""
    current = snapshot.view_state(store, view)
    if current is None or current.fingerprint != fingerprint:
        return None
    return current.watermark


def forget_views(snapshot: StateSnapshot, views: set[str], store: str) -> StateSnapshot:
    """Drop the watermarks of ``views`` in the online store ``store`` (their tables there were
    dropped), and their legacy entries; other stores keep theirs, and run history stays."""
    in_store = snapshot.stores.get(store, {})
    if not (views & set(in_store) or views & set(snapshot.views)):
        return snapshot
    stores = dict(snapshot.stores)
    stores[store] = {name: state for name, state in in_store.items() if name not in views}
    if not stores[store]:
        del stores[store]
    legacy = {name: state for name, state in snapshot.views.items() if name not in views}
    return dataclasses.replace(snapshot, stores=stores, views=legacy)


# --- storage format ----------------------------------------------------------------------


def _corrupt(location: str, why: str) -> StoreError:
    return StoreError(
        f"the materialization state at {location} is not a valid fsctl state document: {why}",
        hint="fsctl never overwrites it; restore it from a backup, or move it away to start "
        "every view's watermark afresh (the next materialize-incremental reloads from the start)",
    )


def _view_state(raw: Any) -> ViewState:
    if not isinstance(raw, dict) or not isinstance(raw.get("fingerprint"), str):
        raise TypeError("expected an object with a string 'fingerprint'")
    watermark, newest = raw.get("watermark"), raw.get("newest_event")
    return ViewState(
        watermark=parse_time(watermark) if watermark is not None else None,
        fingerprint=raw["fingerprint"],
        updated_at=parse_time(raw["updated_at"]),
        newest_event=parse_time(newest) if newest is not None else None,
    )


def _run_record(raw: Any) -> RunRecord:
    if not isinstance(raw, dict):
        raise TypeError("expected an object")
    for name in ("rows_read", "keys_written"):
        if not isinstance(raw.get(name), int) or isinstance(raw[name], bool):
            raise TypeError(f"'{name}' is not an integer")
    start, error, newest = raw.get("start"), raw.get("error"), raw.get("newest_event")
    return RunRecord(
        run_id=str(raw["run_id"]),
        view=str(raw["view"]),
        start=parse_time(start) if start is not None else None,
        end=parse_time(raw["end"]),
        started_at=parse_time(raw["started_at"]),
        finished_at=parse_time(raw["finished_at"]),
        status=raw["status"],
        rows_read=raw["rows_read"],
        keys_written=raw["keys_written"],
        actor=str(raw["actor"]),
        error=str(error) if error is not None else None,
        store=str(raw["store"]) if raw.get("store") is not None else None,
        check_policy=str(raw["check_policy"]) if raw.get("check_policy") is not None else None,
        checks=tuple(_check_record(c) for c in raw["checks"]) if raw.get("checks") is not None else None,
        newest_event=parse_time(newest) if newest is not None else None,
    )


def _check_record(raw: Any) -> CheckRecord:
    if not isinstance(raw, dict):
        raise TypeError("a check entry is not an object")
    for name in ("failed", "rows"):
        if not isinstance(raw.get(name), int) or isinstance(raw[name], bool):
            raise TypeError(f"check '{name}' is not an integer")
    key, when = raw.get("example_key"), raw.get("example_time")
    if key is not None and not isinstance(key, dict):
        raise TypeError("check 'example_key' is not an object")
    feature = raw.get("feature")
    return CheckRecord(
        check=str(raw["check"]),
        feature=str(feature) if feature is not None else None,
        limit=raw.get("limit"),
        failed=raw["failed"],
        rows=raw["rows"],
        example_key=key,
        example_time=parse_time(when) if when is not None else None,
    )


def _push_record(raw: Any) -> PushRecord:
    if not isinstance(raw, dict):
        raise TypeError("expected an object")
    for name in ("rows", "keys", "keys_written"):
        if not isinstance(raw.get(name), int) or isinstance(raw[name], bool):
            raise TypeError(f"'{name}' is not an integer")
    newest = raw.get("newest_event")
    return PushRecord(
        push_id=str(raw["push_id"]),
        view=str(raw["view"]),
        via=str(raw["via"]),
        rows=raw["rows"],
        keys=raw["keys"],
        keys_written=raw["keys_written"],
        newest_event=parse_time(newest) if newest is not None else None,
        pushed_at=parse_time(raw["pushed_at"]),
        client=str(raw["client"]),
        store=str(raw["store"]) if raw.get("store") is not None else None,
    )


def parse_document(raw: bytes | str, location: str, token: str | None = None) -> StateSnapshot:
    """Parse a stored document; anything unexpected is a :class:`StoreError` naming ``location``."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _corrupt(location, f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _corrupt(location, "the document is not a JSON object")
    fmt = doc.get("format_version")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise _corrupt(location, "no format_version")
    if fmt > FORMAT_VERSION:
        raise StoreError(
            f"the materialization state at {location} has format version {fmt}, newer than this "
            f"fsctl reads ({FORMAT_VERSION}); it is never overwritten",
            hint="upgrade fsctl",
        )
    serial, project = doc.get("serial"), doc.get("project")
    views, runs = doc.get("views"), doc.get("runs")
    if not isinstance(serial, int) or isinstance(serial, bool) or serial < 1:
        raise _corrupt(location, "'serial' is not a positive integer")
    if not isinstance(project, str):
        raise _corrupt(location, "'project' is not a string")
    if not isinstance(views, dict):
        raise _corrupt(location, "'views' is not a mapping of view names to states")
    if not isinstance(runs, list):
        raise _corrupt(location, "'runs' is not a list")
    stores = doc.get("stores", {})
    if not isinstance(stores, dict) or not all(isinstance(v, dict) for v in stores.values()):
        raise _corrupt(location, "'stores' is not a mapping of online stores to views")
    try:
        states = {str(name): _view_state(value) for name, value in views.items()}
        by_store = {
            str(store): {str(name): _view_state(value) for name, value in in_store.items()}
            for store, in_store in stores.items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(location, f"a view entry is malformed ({type(exc).__name__}: {exc})") from None
    try:
        records = [_run_record(value) for value in runs]
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(location, f"a run entry is malformed ({type(exc).__name__}: {exc})") from None
    raw_pushes = doc.get("pushes", [])
    if not isinstance(raw_pushes, list):
        raise _corrupt(location, "'pushes' is not a list")
    try:
        pushes = [_push_record(value) for value in raw_pushes]
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(location, f"a push entry is malformed ({type(exc).__name__}: {exc})") from None
    return StateSnapshot(
        location=location,
        project=project,
        views=states,
        runs=records,
        token=token,
        serial=serial,
        stores={store: views for store, views in by_store.items() if views},
        pushes=pushes,
    )


def dumps(snapshot: StateSnapshot) -> bytes:
    """Serialise with one line per view and per run: readable in a diff, small to store."""

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    document = snapshot.to_document()
    lines = ["{"]
    lists = ("stores", "views", "runs", "pushes")
    lines.extend(f" {one(key)}: {one(document[key])}," for key in sorted(document) if key not in lists)
    stores = document["stores"]
    lines.append(' "stores": {')
    for i, store in enumerate(stores):
        lines.append(f"  {one(store)}: {{")
        lines.extend(
            f"   {one(name)}: {one(state)}{',' if j < len(stores[store]) - 1 else ''}"
            for j, (name, state) in enumerate(stores[store].items())
        )
        lines.append("  }" + ("," if i < len(stores) - 1 else ""))
    lines.append(" },")
    views, runs = document["views"], document["runs"]
    lines.append(' "views": {')
    lines.extend(
        f"  {one(name)}: {one(views[name])}{',' if i < len(views) - 1 else ''}"
        for i, name in enumerate(views)
    )
    lines.append(" },")
    lines.append(' "runs": [')
    lines.extend(f"  {one(run)}{',' if i < len(runs) - 1 else ''}" for i, run in enumerate(runs))
    lines.append(" ]")
    pushes = document.get("pushes")
    if pushes:
        lines[-1] += ","
        lines.append(' "pushes": [')
        lines.extend(f"  {one(push)}{',' if i < len(pushes) - 1 else ''}" for i, push in enumerate(pushes))
        lines.append(" ]")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")
