"""Use case: online reads, the latest feature values of given entity keys.

``fsctl online``, ``FeatureStore.get_online_features`` and the HTTP server (``fsctl serve``)
all read through one :class:`OnlineReader`. It resolves the requested features (view
references, a feature service, or the service bound to a model alias) against the
*registry* once per distinct request and keeps that plan; the registry is re-read at most
every ``cache_seconds`` (default 10, or ``FSCTL_REGISTRY_CACHE_SECONDS``) so a server that
runs for days sees applies, and the online store is opened once. A read is then one
``store.read`` per view for all entity rows, with no registry access, validation model or
logging on the way: a single-key read on SQLite costs a few microseconds over the store.

Semantics, per entity row and requested feature (DESIGN.md section 2, ``online``):

* ``present``: the view has a record for the row's join keys; the value is as stored
  (it may be null).
* ``missing``: no record for those keys, or the record has no value for the feature (it
  was materialized before the feature was added); the value and its time are null.
* ``expired``: the view has a TTL and the record's event time is older than ``now - ttl``.
  The value is null, unless ``ignore_ttl`` is set: then it is returned however old, and the
  status stays ``expired`` so callers can still tell.

Every join key of every requested view must be given for each row; extra columns are
ignored. Output names are ``feature``, or ``view__feature`` with full feature names.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fsctl.errors import FsctlError, UsageError
from fsctl.offline.naming import output_names
from fsctl.online.base import OnlineRecord, OnlineStore
from fsctl.online.codec import timestamp_to_micros
from fsctl.registry import RegistryReader
from fsctl.results.online import (
    EXPIRED,
    MISSING,
    PRESENT,
    OnlineResponse,
    ReadPlan,
    ViewPlan,
)
from fsctl.services.catalog import Catalog
from fsctl.services.entity_keys import agreed_dtype, typed_keys
from fsctl.services.entity_rows import EntityRows, entity_columns
from fsctl.services.features import FeatureRequest
from fsctl.services.project import Project

DEFAULT_CACHE_SECONDS = 10.0
CACHE_ENV = "FSCTL_REGISTRY_CACHE_SECONDS"
_MAX_PLANS = 1024  # distinct request shapes kept per registry version
_ABSENT = object()
_EMPTY: list[Any] = []  # placeholder; every slot is filled by its view




@dataclass
class CachedRegistry:
    """One registry snapshot and what was resolved against it: read plans, and the push
    targets of :mod:`fsctl.services.push` (by ``(kind, name)``)."""

    objects: Catalog
    version: int
    plans: dict[FeatureRequest, ReadPlan] = field(default_factory=dict)
    targets: dict[tuple[str, str], Any] = field(default_factory=dict)


def cache_seconds_from_env() -> float:
    text = os.environ.get(CACHE_ENV, "").strip()
    if not text:
        return DEFAULT_CACHE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(
            f"{CACHE_ENV}={text!r} is not a number of seconds",
            hint="use e.g. 10 (0 re-reads the registry on every read)",
        )
    return value


class OnlineReader:
    """Reads the latest feature values of a project's online store (see the module docstring).

    Thread-safe: the HTTP server shares one reader between its worker threads. ``clock``
    (monotonic seconds) can be given for tests. The reader does not close the store: its
    owner (the workspace) does.
    """

    def __init__(
        self,
        project: Project,
        registry: RegistryReader,
        store: OnlineStore,
        *,
        cache_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self.registry = registry
        self.cache_seconds = cache_seconds_from_env() if cache_seconds is None else float(cache_seconds)
        self.registry_error: FsctlError | None = None  # the last failed refresh, while serving the cache
        self._store = store
        self._clock = clock
        self._registry: CachedRegistry | None = None
        self._fresh_until = -math.inf
        self._lock = threading.Lock()

    # -- registry and store ------------------------------------------------------------

    @property
    def store(self) -> OnlineStore:
        return self._store

    def current(self, refresh: bool = False) -> CachedRegistry:
        """The registry reads (and pushes) resolve against: the cached one, re-read when
        ``cache_seconds`` have passed, or now with ``refresh``; while the registry cannot be
        read, the last good one (``registry_error`` says why)."""
        if refresh:
            with self._lock:
                self._fresh_until = -math.inf
                return self._refresh()
        registry = self._registry
        if registry is not None and self._clock() < self._fresh_until:
            return registry
        # One thread re-reads the registry; the others keep reading with the cached one
        # meanwhile rather than queue behind a (possibly remote) registry read.
        if not self._lock.acquire(blocking=registry is None):
            assert registry is not None
            return registry
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> CachedRegistry:
        """Re-read the registry if due (under the lock)."""
        registry = self._registry
        if registry is not None and self._clock() < self._fresh_until:
            return registry
        try:
            objects = Catalog(self.project, self.registry)
        except FsctlError as exc:
            if registry is None:
                raise
            # Keep serving what was applied last; try again after another interval.
            self.registry_error = exc
            self._fresh_until = self._clock() + self.cache_seconds
            return registry
        self.registry_error = None
        if registry is None or objects.version != registry.version:
            registry = self._registry = CachedRegistry(objects=objects, version=objects.version)
        self._fresh_until = self._clock() + self.cache_seconds
        return registry

    @property
    def registry_version(self) -> int:
        """The registry version reads currently resolve against (reads the registry if due)."""
        return self.current().version

    def refresh(self) -> int:
        """Re-read the registry now; returns its version."""
        return self.current(refresh=True).version

    def health(self) -> dict[str, Any]:
        """What a health check reports; raises StoreError if the online store is unreachable
        and RegistryError if the registry cannot be read and nothing is cached."""
        version = self.current().version
        self.store.views(self.project.name)
        info: dict[str, Any] = {
            "status": "ok",
            "project": self.project.name,
            "registry": self.registry.location,
            "registry_version": version,
            "online_store": self.store.location,
        }
        if self.registry_error is not None:
            # Still serving the last good version, but not what was applied since: a
            # readiness probe must see it (the route answers 503 for "degraded").
            info["status"] = "degraded"
            info["registry_error"] = self.registry_error.message
        return info

    # -- plans -------------------------------------------------------------------------

    def plan(self, request: FeatureRequest) -> ReadPlan:
        """The request resolved against the registry (cached per request and registry version)."""
        registry = self.current()
        plan = registry.plans.get(request)
        if plan is None:
            plan = _build_plan(self.project.name, registry, request)
            if len(registry.plans) >= _MAX_PLANS:
                registry.plans.clear()
            registry.plans[request] = plan
        return plan

    # -- reads -------------------------------------------------------------------------

    def get(
        self,
        request: FeatureRequest,
        entity_rows: EntityRows,
        *,
        ignore_ttl: bool = False,
        now: datetime | int | None = None,
    ) -> OnlineResponse:
        """The latest values of the requested features for each entity row.

        ``entity_rows`` is ``{"driver_id": [1001, 1002]}`` (columns) or
        ``[{"driver_id": 1001}, ...]`` (rows). ``now`` (default: the current time) is what
        TTLs are measured from: a datetime (naive = UTC) or microseconds since the epoch.
        """
        plan = self.plan(request)
        entity, n = entity_columns(entity_rows, plan)
        if plan.key_dtypes:
            entity = typed_keys(entity, plan.key_dtypes)
        if now is None:
            now_us = time.time_ns() // 1000
        else:
            now_us = now if type(now) is int else timestamp_to_micros(now)
        width = len(plan.names)
        values: list[list[Any]] = [_EMPTY] * width
        statuses: list[list[str]] = [_EMPTY] * width
        times: list[list[int | None]] = [_EMPTY] * width
        read = self.store.read
        for vp in plan.views:
            if n == 1:
                keys: list[tuple[Any, ...]] = [tuple([entity[k][0] for k in vp.join_keys])]
            else:
                keys = list(zip(*[entity[k] for k in vp.join_keys], strict=True))
            records = read(vp.view, keys) if n else []
            cutoff = now_us - vp.ttl_us if vp.ttl_us else None
            if n == 1:
                for slot, name in vp.slots:
                    values[slot], statuses[slot], times[slot] = _column(records, name, cutoff, ignore_ttl)
            else:
                for slot, column in _columns(records, vp.slots, cutoff, ignore_ttl):
                    values[slot], statuses[slot], times[slot] = column
        return OnlineResponse(plan, entity, values, statuses, times, ignore_ttl)


def _column(
    records: list[OnlineRecord | None], name: str, cutoff: int | None, ignore_ttl: bool
) -> tuple[list[Any], list[str], list[int | None]]:
    """One feature's values, statuses and event times, one per record."""
    values: list[Any] = []
    statuses: list[str] = []
    times: list[int | None] = []
    for record in records:
        if record is None:
            values.append(None)
            statuses.append(MISSING)
            times.append(None)
            continue
        value = record.values.get(name, _ABSENT)
        if value is _ABSENT:
            values.append(None)
            statuses.append(MISSING)
            times.append(None)
        elif cutoff is not None and record.event_ts < cutoff:
            values.append(value if ignore_ttl else None)
            statuses.append(EXPIRED)
            times.append(record.event_ts)
        else:
            values.append(value)
            statuses.append(PRESENT)
            times.append(record.event_ts)
    return values, statuses, times


def _columns(
    records: list[OnlineRecord | None],
    slots: tuple[tuple[int, str], ...],
    cutoff: int | None,
    ignore_ttl: bool,
) -> list[tuple[int, tuple[list[Any], list[str], list[int | None]]]]:
    """Like :func:`_column` for every feature of a view at once, for many records: the
    statuses and times of the records are worked out once and shared by the features whose
    values are all there (the common case), so each feature costs one list comprehension."""
    times: list[int | None] = [None if r is None else r.event_ts for r in records]
    if cutoff is None:
        status = [MISSING if r is None else PRESENT for r in records]
    else:
        status = [MISSING if r is None else EXPIRED if r.event_ts < cutoff else PRESENT for r in records]
    plain = MISSING not in status and EXPIRED not in status
    out = []
    for slot, name in slots:
        values = [_ABSENT if r is None else r.values.get(name, _ABSENT) for r in records]
        if plain and _ABSENT not in values:
            out.append((slot, (values, status, times)))
            continue
        feature_status = list(status)
        feature_times = list(times)
        for i, value in enumerate(values):
            if value is _ABSENT:
                values[i] = None
                feature_status[i] = MISSING
                feature_times[i] = None
            elif feature_status[i] is EXPIRED and not ignore_ttl:
                values[i] = None
        out.append((slot, (values, feature_status, feature_times)))
    return out


def _build_plan(project: str, registry: CachedRegistry, request: FeatureRequest) -> ReadPlan:
    objects = registry.objects
    pairs = objects.resolve(request)
    order: dict[str, list[tuple[int, str]]] = {}
    for position, (view_name, feature) in enumerate(pairs):
        order.setdefault(view_name, []).append((position, feature))

    join_keys: list[str] = []
    key_views: dict[str, str] = {}
    key_dtypes: dict[str, set[str | None]] = {}
    views: list[ViewPlan] = []
    for view_name, slots in order.items():
        view = objects.view(view_name)
        if not view.get("online", True):
            raise UsageError(
                f"feature view '{view_name}' is not online (online: false), so the online store "
                "has no values for it",
                hint="set online: true, apply and materialize it; or read it with fsctl historical",
            )
        store_view = objects.online_view(view_name)
        recorded = view.get("key_dtypes") or {}
        for key in store_view.join_keys:
            if key not in key_views:
                key_views[key] = view_name
                join_keys.append(key)
            key_dtypes.setdefault(key, set()).add(recorded.get(key))
        views.append(
            ViewPlan(
                view=store_view,
                join_keys=store_view.join_keys,
                ttl_us=int(view.get("ttl") or 0) * 1_000_000,
                slots=tuple(slots),
            )
        )
    names = output_names(pairs, request.full_feature_names, {key: f"join key '{key}'" for key in join_keys})
    return ReadPlan(
        registry_version=registry.version,
        refs=tuple(f"{v}:{f}" for v, f in pairs),
        names=tuple(names),
        join_keys=tuple(join_keys),
        key_views=key_views,
        views=tuple(views),
        key_dtypes={k: dtype for k, dtypes in key_dtypes.items() if (dtype := agreed_dtype(dtypes))},
    )
