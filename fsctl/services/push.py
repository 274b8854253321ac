"""Use case: push fresh rows straight into the online store, between materializations
(``fsctl serve``'s ``/push`` and ``/write-to-online-store``, Feast's request shapes).

fsctl has no push sources. :meth:`OnlineWriter.push` takes the name of a FileSource and
writes to every online view on it (each takes its own join keys, features and event time
out of the rows); :meth:`OnlineWriter.write` writes to one named online view. Rows are
checked against the views' schemas first (:mod:`fsctl.services.push_rows`), every view's,
so a bad row writes nothing; then each view's records are written with the online store's
``write``, the same never-older rule as materialize: a stored value with a later event time
(or, at an equal one, a later created time) is kept. Each push is then recorded in the state
document beside the registry (view, rows, keys, keys written, newest event, time, client),
where ``fsctl status`` and the UI can show it; pushes never move a watermark.

The writer resolves names through an :class:`~fsctl.services.online.OnlineReader`'s
registry cache (one catalog, one refresh rule: re-read at most every ``cache_seconds``, the
last good version while the registry cannot be read), unless a call asks for a fresh read,
as Feast's ``allow_registry_cache: false`` does; its targets are built once per registry
version. It is thread-safe; state updates of one process are serialised so they never race
each other's compare-and-swap. The rows written are the answer: a push that was written but
could not be recorded in the state document is logged and returned with a ``warning``,
never refused (a retry would write and record the rows twice).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from fsctl.errors import UsageError
from fsctl.online.base import OnlineStore
from fsctl.online.codec import stored_records
from fsctl.results.push import PushResult, ViewPush
from fsctl.services.catalog import Catalog
from fsctl.services.online import OnlineReader
from fsctl.services.push_rows import PushTarget, ViewRows, check_columns, key_dtypes, view_rows
from fsctl.state import StateStore

Columns = Mapping[str, Sequence[Any]]


_LOG = logging.getLogger("fsctl.push")


class OnlineWriter:
    """Writes pushed rows of a project's views into the online store of ``reader``, resolving
    names through its registry cache (see the module docstring). The owner of the store and
    the state store (the workspace) closes them."""

    def __init__(
        self,
        reader: OnlineReader,
        state: StateStore,
        *,
        store: OnlineStore | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.reader = reader
        self.project = reader.project
        self.store = reader.store if store is None else store  # the writer login where reads have their own
        self.state = state
        self._now = now
        self._state_lock = threading.Lock()  # this process's state updates, one at a time

    # -- targets -----------------------------------------------------------------------

    def _targets(self, kind: str, name: str, refresh: bool) -> tuple[PushTarget, ...]:
        """The targets of a push to the source (``kind`` "source") or view ``name``, built
        once per registry version."""
        registry = self.reader.current(refresh)
        targets: tuple[PushTarget, ...] | None = registry.targets.get((kind, name))
        if targets is None:
            build = _source_targets if kind == "source" else _view_targets
            targets = registry.targets[(kind, name)] = build(registry.objects, name)
        return targets

    # -- writes ---------------------------------------------------------------------

    def push(self, source: str, columns: Columns, *, client: str = "", refresh: bool = False) -> PushResult:
        """Write ``columns`` to every online view on the FileSource ``source``."""
        targets = self._targets("source", source, refresh)
        return self._write(targets, columns, f"push source '{source}'", f"push:{source}", client)

    def write(self, view: str, columns: Columns, *, client: str = "", refresh: bool = False) -> PushResult:
        """Write ``columns`` to the online view ``view``."""
        targets = self._targets("view", view, refresh)
        return self._write(targets, columns, f"feature view '{view}'", "write-to-online-store", client)

    def _write(
        self, targets: Sequence[PushTarget], columns: Columns, what: str, via: str, client: str
    ) -> PushResult:
        rows = check_columns(columns, targets, what)
        checked = [view_rows(target, columns, rows, what) for target in targets]  # all before any write
        views = [self._store(rows_of_view) for rows_of_view in checked]
        try:
            self._record(views, via, client)
        except Exception as exc:  # noqa: BLE001 - the rows are stored: never refuse them now
            warning = (
                f"the rows were written, but the push could not be recorded in the state document "
                f"({type(exc).__name__}: {exc}); fsctl status will not show it"
            )
            _LOG.warning("%s: %s", what, warning)
            return PushResult(views, warning=warning)
        return PushResult(views)

    def _store(self, rows: ViewRows) -> ViewPush:
        view = rows.target.view
        written = self.store.write(view, stored_records(view, rows.records)) if rows.records else 0
        return ViewPush(view.name, rows.rows, len(rows.records), written, rows.newest_event)

    def _record(self, views: list[ViewPush], via: str, client: str) -> None:
        from fsctl import state as state_module
        from fsctl.state.document import PushRecord

        pushed_at = self._now()
        records = [
            PushRecord(
                push_id=uuid.uuid4().hex[:12],
                view=v.view,
                via=via,
                rows=v.rows,
                keys=v.keys,
                keys_written=v.keys_written,
                newest_event=v.newest_event,
                pushed_at=pushed_at,
                client=client,
                store=self.project.online_store,
            )
            for v in views
        ]
        with self._state_lock:
            state_module.update(self.state, functools.partial(_record_pushes, project=self.project.name, pushes=records))


def _target(objects: Catalog, name: str, view: Mapping[str, Any]) -> PushTarget:
    source = objects.source(view["source"])
    return PushTarget(
        view=objects.online_view(name),
        timestamp_field=source.get("timestamp_field") or "event_timestamp",
        created_field=source.get("created_timestamp_field"),
        key_dtypes=key_dtypes(view),
    )


def _view_targets(objects: Catalog, name: str) -> tuple[PushTarget, ...]:
    view = objects.view(name)
    if not view.get("online", True):
        raise UsageError(
            f"feature view '{name}' is not online (online: false), so it has no online values to write",
            hint="set online: true and apply it first",
        )
    if view.get("aggregations"):
        raise UsageError(
            f"feature view '{name}' computes its features over time windows of its source's rows, "
            "so rows cannot be written to it directly",
            hint="add the rows to its source and run materialize (a push to the source skips this view)",
        )
    return (_target(objects, name, view),)


def _source_targets(objects: Catalog, source: str) -> tuple[PushTarget, ...]:
    objects.source(source)  # unknown: an error with a did-you-mean
    views = [(name, objects.view(name)) for name in sorted(objects.names("FeatureView"))]
    targets = tuple(
        _target(objects, name, view)
        for name, view in views
        if view["source"] == source and view.get("online", True) and not view.get("aggregations")
    )  # an aggregation view's values come from materialize, over time windows of the source
    if not targets:
        raise UsageError(
            f"no online feature view reads source '{source}', so a push to it has nowhere to go",
            hint="push to a source that online views read, or write to a view with /write-to-online-store",
        )
    return targets


def _record_pushes(snapshot: Any, project: str, pushes: list[Any]) -> Any:
    from fsctl.state.document import record_pushes

    return dataclasses.replace(record_pushes(snapshot, pushes), project=project)
