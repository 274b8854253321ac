"""Materialization state: per-view watermarks and run history, beside the registry.

The state document is separate from the registry so that a materialize never changes the
registry version (a saved plan never goes stale because of it). The composition root
(:mod:`fsctl.workspace`) opens it beside the registry (:func:`state_uri_for`); services
change it only through :func:`update`, which re-reads and re-applies a pure change (:func:`record_success`, :func:`record_failure`,
:func:`forget_views`) until its compare-and-swap wins, so concurrent materialize processes
never lose each other's runs or watermarks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fsctl.errors import ConflictError
from fsctl.state.base import StateStore
from fsctl.state.document import (
    FORMAT_VERSION,
    MAX_PUSHES,
    MAX_RUNS_PER_VIEW,
    CheckRecord,
    PushRecord,
    Registered,
    RunRecord,
    StateSnapshot,
    ViewState,
    empty_state,
    forget_views,
    prune_runs,
    record_failure,
    record_pushes,
    record_success,
    watermark_for,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_PUSHES",
    "MAX_RUNS_PER_VIEW",
    "CheckRecord",
    "PushRecord",
    "Registered",
    "RunRecord",
    "StateSnapshot",
    "StateStore",
    "ViewState",
    "empty_state",
    "forget_views",
    "prune_runs",
    "record_failure",
    "record_pushes",
    "record_success",
    "state_uri_for",
    "update",
    "watermark_for",
]

def state_uri_for(registry_uri: str) -> str:
    """Where the state document of the registry at ``registry_uri`` lives: beside it.

    ``data/registry.json`` -> ``data/registry.state.json`` (the same for ``s3://`` keys);
    a name without ``.json`` gets ``.state.json`` appended.
    """
    if registry_uri.endswith(".json"):
        return registry_uri.removesuffix(".json") + ".state.json"
    return registry_uri + ".state.json"


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
            # Full jitter from os.urandom: no import (and no import lock the racing writers
            # would all queue behind and leave together) on the first conflict.
            time.sleep(int.from_bytes(os.urandom(2), "big") / 65535 * min(2.0, 0.1 * 2**attempt))
    raise ConflictError(
        f"the materialization state {store.location} kept changing under this update: "
        f"gave up after {attempts} attempts",
        hint="several fsctl processes are writing it at once; run the command again "
        "(re-running a materialize window is safe)",
    )
