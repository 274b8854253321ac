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

The writer resolves names against the registry (what was applied), re-read at most every
``cache_seconds`` (``FSCTL_REGISTRY_CACHE_SECONDS``, default 10) unless a call asks for a
fresh read, as Feast's ``allow_registry_cache: false`` does. It is thread-safe; state
updates of one process are serialised so they never race each other's compare-and-swap.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from fsctl.errors import UsageError
from fsctl.online.base import OnlineStore
from fsctl.online.codec import stored_records
from fsctl.registry import RegistryReader
from fsctl.results.push import PushResult, ViewPush
from fsctl.services.catalog import Catalog
from fsctl.services.online import cache_seconds_from_env
from fsctl.services.project import Project
from fsctl.services.push_rows import PushTarget, ViewRows, check_columns, key_dtypes, view_rows
from fsctl.state import StateStore

Columns = Mapping[str, Sequence[Any]]


class OnlineWriter:
    """Writes pushed rows of a project's views into its online store (see the module
    docstring). The owner of the store and the state store (the workspace) closes them."""

    def __init__(
        self,
        project: Project,
        registry: RegistryReader,
        store: OnlineStore,
        state: StateStore,
        *,
        cache_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.project = project
        self.registry = registry
        self.store = store
        self.state = state
        self.cache_seconds = cache_seconds_from_env() if cache_seconds is None else float(cache_seconds)
        self._clock = clock
        self._now = now
        self._catalog: Catalog | None = None
        self._fresh_until = -math.inf
        self._lock = threading.Lock()  # the catalog cache
        self._state_lock = threading.Lock()  # this process's state updates, one at a time

    def _objects(self, refresh: bool) -> Catalog:
        with self._lock:
            if refresh or self._catalog is None or self._clock() >= self._fresh_until:
                self._catalog = Catalog(self.project, self.registry)
                self._fresh_until = self._clock() + self.cache_seconds
            return self._catalog

    # -- targets -----------------------------------------------------------------------

    def _target(self, objects: Catalog, name: str) -> PushTarget:
        view = objects.view(name)
        source = objects.get("FileSource", view["source"], "source")
        return PushTarget(
            view=objects.online_view(name),
            dtypes={f["name"]: f["dtype"] for f in view["schema"]},
            timestamp_field=source.get("timestamp_field") or "event_timestamp",
            created_field=source.get("created_timestamp_field"),
            key_dtypes=key_dtypes(view),
        )

    def _view_target(self, objects: Catalog, name: str) -> PushTarget:
        view = objects.view(name)
        if not view.get("online", True):
            raise UsageError(
                f"feature view '{name}' is not online (online: false), so it has no online values to write",
                hint="set online: true and apply it first",
            )
        return self._target(objects, name)

    def _source_targets(self, objects: Catalog, source: str) -> list[PushTarget]:
        objects.get("FileSource", source, "source")  # unknown: an error with a did-you-mean
        names = sorted(
            name
            for name in objects.names("FeatureView")
            if objects.view(name)["source"] == source and objects.view(name).get("online", True)
        )
        if not names:
            raise UsageError(
                f"no online feature view reads source '{source}', so a push to it has nowhere to go",
                hint="push to a source that online views read, or write to a view with /write-to-online-store",
            )
        return [self._target(objects, name) for name in names]

    # -- writes ------------------------------------------------------------------------

    def push(self, source: str, columns: Columns, *, client: str = "", refresh: bool = False) -> PushResult:
        """Write ``columns`` to every online view on the FileSource ``source``."""
        objects = self._objects(refresh)
        return self._write(self._source_targets(objects, source), columns, f"push source '{source}'", f"push:{source}", client)

    def write(self, view: str, columns: Columns, *, client: str = "", refresh: bool = False) -> PushResult:
        """Write ``columns`` to the online view ``view``."""
        objects = self._objects(refresh)
        target = self._view_target(objects, view)
        return self._write([target], columns, f"feature view '{view}'", "write-to-online-store", client)

    def _write(
        self, targets: list[PushTarget], columns: Columns, what: str, via: str, client: str
    ) -> PushResult:
        rows = check_columns(columns, targets, what)
        checked = [view_rows(target, columns, rows, what) for target in targets]  # all before any write
        views = [self._store(rows_of_view) for rows_of_view in checked]
        self._record(views, via, client)
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


def _record_pushes(snapshot: Any, project: str, pushes: list[Any]) -> Any:
    from fsctl.state.document import record_pushes

    return dataclasses.replace(record_pushes(snapshot, pushes), project=project)
