"""Opening an online store in another process: what an offline engine's tasks (Spark
executors) write materialized records through.

The composition root builds a :class:`StoreOpener` from the online store's config (the
module and factory of its row in ``fsctl.workspace.ONLINE_STORES``, the config, the repo
root); the materialize service binds it to one view (:meth:`StoreOpener.for_view`) and hands
the resulting :class:`ViewSinkOpener` to the engine. Both are plain picklable values, so
they travel with a task; calling one in the task's process opens the store there and gives a
:class:`~fsctl.offline.base.RecordSink`-shaped object: the store's own ``write`` (the
never-older upsert) for that view, and ``close`` that syncs before closing.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.online.base import OnlineStore, OnlineView
from fsctl.online.format import StoredRecord


@dataclass(frozen=True)
class StoreOpener:
    """Opens the configured online store in any process. ``local``: the store is a file on
    this machine (only processes on this machine can open the same store)."""

    module: str
    factory: str
    config: Any  # the store's PortConfig (a frozen dataclass: picklable)
    root: Path
    local: bool = False

    def open(self) -> OnlineStore:
        store: OnlineStore = getattr(importlib.import_module(self.module), self.factory)(
            self.config, self.root
        )
        return store

    def for_view(self, view: OnlineView) -> ViewSinkOpener:
        return ViewSinkOpener(self, view)


class ViewSink:
    """One view of an opened store: ``write`` records, ``close`` (sync, then close)."""

    def __init__(self, store: OnlineStore, view: OnlineView) -> None:
        self.store, self.view = store, view

    def write(self, records: Sequence[StoredRecord]) -> int:
        return self.store.write(self.view, records)

    def close(self) -> None:
        try:
            self.store.sync()
        finally:
            self.store.close()


@dataclass(frozen=True)
class ViewSinkOpener:
    """A zero-argument callable opening a :class:`ViewSink` (a ``SinkOpener``)."""

    opener: StoreOpener
    view: OnlineView

    @property
    def local(self) -> bool:
        return self.opener.local

    def __call__(self) -> ViewSink:
        return ViewSink(self.opener.open(), self.view)
