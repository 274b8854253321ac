"""Materialization state: per-view watermarks and run history, beside the registry.

The state document is separate from the registry so that a materialize never changes the
registry version (a saved plan never goes stale because of it). Services open it with
:func:`open_state` from the registry URI and change it only through :func:`update`, which
re-reads and re-applies a pure change (:func:`record_success`, :func:`record_failure`,
:func:`forget_views`) until its compare-and-swap wins, so concurrent materialize processes
never lose each other's runs or watermarks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from fsctl.errors import ConflictError
from fsctl.state.base import StateStore
from fsctl.state.document import (
    FORMAT_VERSION,
    MAX_RUNS,
    RunRecord,
    StateSnapshot,
    ViewState,
    empty_state,
    forget_views,
    record_failure,
    record_success,
    watermark_for,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_RUNS",
    "RunRecord",
    "StateSnapshot",
    "StateStore",
    "ViewState",
    "empty_state",
    "forget_views",
    "open_state",
    "record_failure",
    "record_success",
    "state_uri_for",
    "update",
    "watermark_for",
]

_MEMORY: dict[str, StateStore] = {}


def state_uri_for(registry_uri: str) -> str:
    """Where the state document of the registry at ``registry_uri`` lives: beside it.

    ``data/registry.json`` -> ``data/registry.state.json`` (the same for ``s3://`` keys);
    a name without ``.json`` gets ``.state.json`` appended; ``memory://x`` -> ``memory://x.state``.
    """
    if registry_uri.startswith("memory://"):
        return registry_uri + ".state"
    if registry_uri.endswith(".json"):
        return registry_uri.removesuffix(".json") + ".state.json"
    return registry_uri + ".state.json"


def open_state(registry_uri: str, root: Path) -> StateStore:
    """The state store beside the registry at ``registry_uri`` (a local path relative to
    ``root``, ``s3://bucket/key`` or ``memory://NAME``)."""
    from fsctl.registry import local_path, location_kind

    uri = state_uri_for(registry_uri)
    kind = location_kind(uri, "materialization state")
    if kind == "memory":
        from fsctl.state.memory import MemoryStateStore

        return _MEMORY.setdefault(uri, MemoryStateStore(uri))
    if kind == "s3":
        from fsctl.state.s3 import S3StateStore

        return S3StateStore(uri)
    from fsctl.state.local import LocalStateStore

    return LocalStateStore(local_path(uri, root))


def update(
    store: StateStore, change: Callable[[StateSnapshot], StateSnapshot], attempts: int = 8
) -> StateSnapshot:
    """Read the state, apply ``change`` (a pure function) and compare-and-swap the result.

    When another writer got there first, read again and re-apply ``change`` to what it
    wrote, after a jittered, growing pause, up to ``attempts`` times. A change that
    alters nothing writes nothing. Returns the snapshot now stored.
    """
    for attempt in range(attempts):
        current = store.read()
        new = change(current)
        if new == current:
            return current
        try:
            return store.write(new, current)
        except ConflictError:
            if attempt == attempts - 1:
                break
            time.sleep(random.uniform(0, min(2.0, 0.1 * 2**attempt)))
    raise ConflictError(
        f"the materialization state {store.location} kept changing under this update: "
        f"gave up after {attempts} attempts",
        hint="several fsctl processes are writing it at once; run the command again "
        "(re-running a materialize window is safe)",
    )
