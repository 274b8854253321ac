"""Helpers for tests that reach fsctl's ports through a workspace: apply a repo, run a
materialize with the workspace's ports, find a view's OnlineView in the registry, and read
or write online records with Python values.

Every helper takes a :class:`~fsctl.workspace.Workspace` (built with ``open_workspace``,
ports injected as the test needs) or a repo path (a workspace with the configured ports,
closed again before returning).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fsctl.online.base import OnlineRecord, OnlineStore, OnlineView
from fsctl.online.codec import stored_records
from fsctl.online.views import online_view
from fsctl.results.apply import ApplyResult
from fsctl.results.materialize import MaterializeResult
from fsctl.services.apply import Publisher, apply_definitions
from fsctl.services.catalog import Catalog
from fsctl.services.materialize import materialize
from fsctl.workspace import Workspace, open_workspace


def publisher(ws: Workspace) -> Publisher:
    """The ports an apply (or teardown) writes to, from the workspace."""
    return Publisher(ws.registry(), ws.online_store(), ws.state())


def apply_repo(root: Path, overrides: tuple[Any, ...] = (), **ports: Any) -> ApplyResult:
    """Apply the repo's definitions with the configured ports (``ports`` injected) and any
    ``--allow-breaking`` overrides."""
    with open_workspace(root, **ports) as ws:
        return apply_definitions(ws.project, publisher(ws), overrides=overrides)


def run_materialize(ws: Workspace, end: datetime, **options: Any) -> MaterializeResult:
    """``materialize`` with the workspace's registry, state, online store and engine."""
    return materialize(
        ws.project, ws.registry_reader(), ws.state(), ws.online_store(), ws.offline_engine(), end, **options
    )


def target_view(ws: Workspace, name: str) -> OnlineView:
    """The OnlineView of the applied feature view ``name``."""
    catalog = Catalog(ws.project, ws.registry_reader())
    view = catalog.view(name)
    return online_view(ws.project.name, view, catalog.entities_of(view))


def write_records(store: OnlineStore, view: OnlineView, records: Sequence[OnlineRecord]) -> int:
    """Write records of Python values through the store's one write method."""
    return store.write(view, stored_records(view, records))


def read_records(ws: Workspace, view: str, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
    """The stored record of each key of ``view``, read straight from the workspace's store."""
    return ws.online_store().read(target_view(ws, view), list(keys))
