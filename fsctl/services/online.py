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

import base64
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fsctl.errors import FsctlError, UsageError
from fsctl.online.base import OnlineRecord, OnlineStore, OnlineView
from fsctl.online.codec import micros_to_datetime, timestamp_to_micros
from fsctl.services.project import Project

PRESENT = "present"
MISSING = "missing"
EXPIRED = "expired"

DEFAULT_CACHE_SECONDS = 10.0
CACHE_ENV = "FSCTL_REGISTRY_CACHE_SECONDS"
_MAX_PLANS = 1024  # distinct request shapes kept per registry version
_ABSENT = object()
_EMPTY: list[Any] = []  # placeholder; every slot is filled by its view

EntityRows = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]


# -- plans -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewPlan:
    """How one requested view is read: its store view, its keys and which outputs it fills."""

    view: OnlineView
    join_keys: tuple[str, ...]
    ttl_us: int  # 0: no lower bound on age
    slots: tuple[tuple[int, str], ...]  # (output position, feature name)


@dataclass(frozen=True)
class ReadPlan:
    """A request resolved against one registry version."""

    registry_version: int
    refs: tuple[str, ...]  # view:feature, in output order
    names: tuple[str, ...]  # output names, in the same order
    join_keys: tuple[str, ...]  # every key the request needs, in first-use order
    key_views: dict[str, str]  # join key -> the first view that needs it (for messages)
    views: tuple[ViewPlan, ...]


# -- the response ----------------------------------------------------------------------


def iso_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (microseconds only when there are any)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it: bytes base64, datetimes ISO 8601, NaN and infinities
    null, tuples lists, numpy scalars and arrays as Python values."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return [json_safe(v) for v in value]
    if kind is dict:
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (str, bool, int)):  # subclasses (enums and the like)
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist())
    isoformat = getattr(value, "isoformat", None)  # dates, times
    if callable(isoformat):
        return isoformat()
    return str(value)


class OnlineResponse:
    """The result of an online read, kept by column (cheap to build); ``rows``,
    :meth:`to_dict` and :meth:`to_columns` present it.

    ``entity`` holds the join key values of every row as given; ``values``, ``statuses``
    and ``event_ts`` hold, per output name (``names``), one entry per row. Event times are
    integers of microseconds since the epoch (None where the status is missing). Treat
    these lists as read-only: features of one view may share their status and time lists.
    """

    __slots__ = ("_rows", "entity", "event_ts", "names", "refs", "registry_version", "statuses", "values")

    def __init__(
        self,
        plan: ReadPlan,
        entity: dict[str, list[Any]],
        values: list[list[Any]],
        statuses: list[list[str]],
        event_ts: list[list[int | None]],
    ) -> None:
        self.registry_version = plan.registry_version
        self.refs = plan.refs
        self.names = plan.names
        self.entity = entity
        self.values = values
        self.statuses = statuses
        self.event_ts = event_ts
        self._rows: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.statuses[0]) if self.statuses else 0

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(self.entity)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One ``{"entity": {key: value}, "features": {name: {"value", "status",
        "event_timestamp"}}}`` per entity row, in input order (values and times as Python
        objects: times are aware UTC datetimes)."""
        if self._rows is None:
            keys = list(self.entity.items())
            columns = list(zip(self.names, self.values, self.statuses, self.event_ts, strict=True))
            rows = []
            for i in range(len(self)):
                features = {}
                for name, values, statuses, times in columns:
                    ts = times[i]
                    features[name] = {
                        "value": values[i],
                        "status": statuses[i],
                        "event_timestamp": None if ts is None else micros_to_datetime(ts),
                    }
                rows.append({"entity": {k: col[i] for k, col in keys}, "features": features})
            self._rows = rows
        return self._rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``fsctl online --format json`` (DESIGN.md): ``{"rows": [...]}`` with
        ISO-8601 event times and JSON-safe values."""
        keys = list(self.entity.items())
        columns = list(zip(self.names, self.values, self.statuses, self.event_ts, strict=True))
        iso: dict[int, str] = {}  # rows of one view share event times
        rows = []
        for i in range(len(self)):
            features = {}
            for name, values, statuses, times in columns:
                ts = times[i]
                if ts is not None:
                    text = iso.get(ts)
                    if text is None:
                        text = iso[ts] = iso_timestamp(micros_to_datetime(ts))
                features[name] = {
                    "value": json_safe(values[i]),
                    "status": statuses[i],
                    "event_timestamp": None if ts is None else text,
                }
            rows.append({"entity": {k: json_safe(col[i]) for k, col in keys}, "features": features})
        return {"rows": rows}

    def to_columns(self) -> dict[str, list[Any]]:
        """Feast's ``to_dict()`` shape: ``{join key or feature name: [value per row]}``, join
        keys first. Expired values are null unless the read ignored the TTL."""
        out: dict[str, list[Any]] = {k: list(v) for k, v in self.entity.items()}
        for name, values in zip(self.names, self.values, strict=True):
            out[name] = list(values)
        return out

    def __repr__(self) -> str:
        return f"OnlineResponse({len(self)} rows, features={list(self.names)})"


# -- the reader ------------------------------------------------------------------------


@dataclass
class _Registry:
    """One registry snapshot and the plans resolved against it."""

    objects: Any  # RegistryObjects
    version: int
    plans: dict[tuple[Any, ...], ReadPlan] = field(default_factory=dict)


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

    Thread-safe: the HTTP server shares one reader between its worker threads. ``store``
    and ``clock`` (monotonic seconds) can be given for tests; by default the store of
    ``fsctl.yaml`` is opened on first use.
    """

    def __init__(
        self,
        project: Project,
        *,
        store: OnlineStore | None = None,
        cache_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self.cache_seconds = cache_seconds_from_env() if cache_seconds is None else float(cache_seconds)
        self.registry_error: FsctlError | None = None  # the last failed refresh, while serving the cache
        self._store = store
        self._clock = clock
        self._registry: _Registry | None = None
        self._fresh_until = -math.inf
        self._lock = threading.Lock()

    # -- registry and store ------------------------------------------------------------

    @property
    def store(self) -> OnlineStore:
        store = self._store
        if store is None:
            with self._lock:
                if self._store is None:
                    self._store = self.project.online_store()
                store = self._store
        return store

    def _current(self) -> _Registry:
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

    def _refresh(self) -> _Registry:
        """Re-read the registry if due (under the lock)."""
        registry = self._registry
        if registry is not None and self._clock() < self._fresh_until:
            return registry
        from fsctl.services.retrieve import RegistryObjects

        try:
            objects = RegistryObjects(self.project)
        except FsctlError as exc:
            if registry is None:
                raise
            # Keep serving what was applied last; try again after another interval.
            self.registry_error = exc
            self._fresh_until = self._clock() + self.cache_seconds
            return registry
        self.registry_error = None
        if registry is None or objects.version != registry.version:
            registry = self._registry = _Registry(objects=objects, version=objects.version)
        self._fresh_until = self._clock() + self.cache_seconds
        return registry

    @property
    def registry_version(self) -> int:
        """The registry version reads currently resolve against (reads the registry if due)."""
        return self._current().version

    def refresh(self) -> int:
        """Re-read the registry now; returns its version."""
        self._fresh_until = -math.inf
        return self._current().version

    def health(self) -> dict[str, Any]:
        """What a health check reports; raises StoreError if the online store is unreachable
        and RegistryError if the registry cannot be read and nothing is cached."""
        version = self._current().version
        self.store.views(self.project.name)
        info: dict[str, Any] = {
            "status": "ok",
            "project": self.project.name,
            "registry": self.project.registry.location,
            "registry_version": version,
            "online_store": self.store.location,
        }
        if self.registry_error is not None:
            info["registry_error"] = self.registry_error.message
        return info

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()

    # -- plans -------------------------------------------------------------------------

    def plan(
        self,
        features: Sequence[str] | str | None = None,
        service: str | None = None,
        model: str | None = None,
        full_feature_names: bool = False,
    ) -> ReadPlan:
        """The request resolved against the registry (cached per request and registry version)."""
        registry = self._current()
        if isinstance(features, str):
            features = (features,)
        key = (None if features is None else tuple(features), service, model, full_feature_names)
        plan = registry.plans.get(key)
        if plan is None:
            plan = _build_plan(self.project.name, registry, key[0], service, model, full_feature_names)
            if len(registry.plans) >= _MAX_PLANS:
                registry.plans.clear()
            registry.plans[key] = plan
        return plan

    # -- reads -------------------------------------------------------------------------

    def get(
        self,
        features: Sequence[str] | str | None = None,
        *,
        service: str | None = None,
        model: str | None = None,
        entity_rows: EntityRows,
        ignore_ttl: bool = False,
        full_feature_names: bool = False,
        now: datetime | int | None = None,
    ) -> OnlineResponse:
        """The latest values of the requested features for each entity row.

        ``entity_rows`` is ``{"driver_id": [1001, 1002]}`` (columns) or
        ``[{"driver_id": 1001}, ...]`` (rows). ``now`` (default: the current time) is what
        TTLs are measured from: a datetime (naive = UTC) or microseconds since the epoch.
        """
        plan = self.plan(features, service, model, full_feature_names)
        entity, n = _entity_columns(entity_rows, plan)
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
        return OnlineResponse(plan, entity, values, statuses, times)


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


def _build_plan(
    project: str,
    registry: _Registry,
    features: tuple[str, ...] | None,
    service: str | None,
    model: str | None,
    full_feature_names: bool,
) -> ReadPlan:
    from fsctl.online.views import online_view
    from fsctl.services.retrieve import resolve, service_for_model

    chosen = [
        name for name, value in (("features", features), ("service", service), ("model", model)) if value
    ]
    if len(chosen) != 1:
        given = f" (got {' and '.join(chosen)})" if chosen else ""
        raise UsageError(f"name the features one way: features, a feature service, or a model{given}")
    objects = registry.objects
    if model is not None:
        service = service_for_model(objects, model)
    pairs = resolve(objects, list(features) if features is not None else None, service)

    names = [f"{v}__{f}" if full_feature_names else f for v, f in pairs]
    order: dict[str, list[tuple[int, str]]] = {}
    for position, (view_name, feature) in enumerate(pairs):
        order.setdefault(view_name, []).append((position, feature))

    join_keys: list[str] = []
    key_views: dict[str, str] = {}
    views: list[ViewPlan] = []
    for view_name, slots in order.items():
        view = objects.view(view_name)
        if not view.online:
            raise UsageError(
                f"feature view '{view_name}' is not online (online: false), so the online store "
                "has no values for it",
                hint="set online: true, apply and materialize it; or read it with fsctl historical",
            )
        entities = {e: objects.get("Entity", e, "entity") for e in view.entities}
        store_view = online_view(project, view, entities)
        for key in store_view.join_keys:
            if key not in key_views:
                key_views[key] = view_name
                join_keys.append(key)
        views.append(
            ViewPlan(
                view=store_view,
                join_keys=store_view.join_keys,
                ttl_us=int(view.ttl or 0) * 1_000_000,
                slots=tuple(slots),
            )
        )

    seen: dict[str, str] = {key: f"join key '{key}'" for key in join_keys}
    for (view_name, feature), name in zip(pairs, names, strict=True):
        if name in seen:
            raise UsageError(
                f"output name '{name}' is used twice: by feature '{view_name}:{feature}' and by {seen[name]}",
                hint="use full feature names (view__feature)",
            )
        seen[name] = f"feature '{view_name}:{feature}'"

    return ReadPlan(
        registry_version=registry.version,
        refs=tuple(f"{v}:{f}" for v, f in pairs),
        names=tuple(names),
        join_keys=tuple(join_keys),
        key_views=key_views,
        views=tuple(views),
    )


# -- entity rows -----------------------------------------------------------------------


def _as_list(value: Any) -> list[Any] | None:
    """A column as a list; None for a scalar."""
    if type(value) is list:
        return value
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__len__"):
        return None
    tolist = getattr(value, "tolist", None)  # numpy arrays, pandas and polars series
    if callable(tolist):
        return list(tolist())
    if isinstance(value, Mapping):
        return None
    return list(value)


def _missing_key(plan: ReadPlan, key: str, where: str) -> UsageError:
    view = plan.key_views[key]
    keys = next(vp.join_keys for vp in plan.views if vp.view.name == view)
    return UsageError(
        f"{where}no value for join key '{key}' of feature view '{view}'",
        hint=f"give {', '.join(keys)} for every entity row"
        + (f"; the request needs {', '.join(plan.join_keys)}" if len(plan.join_keys) > len(keys) else ""),
    )


def _entity_columns(entity_rows: Any, plan: ReadPlan) -> tuple[dict[str, list[Any]], int]:
    """The plan's join key columns out of ``entity_rows`` (columns or rows), checked; and
    the number of rows."""
    keys = plan.join_keys
    if type(entity_rows) is dict:  # the common case, checked in a few steps
        columns: list[Any] = [entity_rows.get(k) for k in keys]
        first = columns[0]
        if type(first) is list and all(type(c) is list and len(c) == len(first) for c in columns):
            return dict(zip(keys, columns, strict=True)), len(first)
    if isinstance(entity_rows, Mapping):
        return _mapping_columns(entity_rows, plan)
    if isinstance(entity_rows, (str, bytes)) or not isinstance(entity_rows, Sequence):
        if hasattr(entity_rows, "to_dict") or hasattr(entity_rows, "to_pydict"):
            return _mapping_columns(_frame_columns(entity_rows), plan)
        raise UsageError(
            f"entity_rows must be a dict of lists or a list of dicts, not {type(entity_rows).__name__}"
        )
    rows = entity_rows
    out: dict[str, list[Any]] = {}
    for key in keys:
        try:
            out[key] = [row[key] for row in rows]
        except KeyError:
            index = next(i for i, row in enumerate(rows) if key not in row)
            raise _missing_key(plan, key, f"entity row {index + 1}: ") from None
        except TypeError:
            index = next(i for i, row in enumerate(rows) if not isinstance(row, Mapping))
            raise UsageError(
                f"entity row {index + 1} is a {type(rows[index]).__name__}, not a mapping of join keys"
            ) from None
    return out, len(rows)


def _mapping_columns(entity_rows: Mapping[str, Any], plan: ReadPlan) -> tuple[dict[str, list[Any]], int]:
    columns: dict[str, list[Any] | None] = {}
    for key in plan.join_keys:
        if key not in entity_rows:
            raise _missing_key(plan, key, "")
        columns[key] = _as_list(entity_rows[key])
    scalars = [k for k, v in columns.items() if v is None]
    if scalars:
        if len(scalars) != len(columns):
            raise UsageError(
                f"entity column '{scalars[0]}' is a single value while others are lists",
                hint="give every join key a list of values, one per entity row",
            )
        return {k: [entity_rows[k]] for k in columns}, 1
    lengths = {k: len(v) for k, v in columns.items() if v is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise UsageError(
            f"entity columns have different lengths: {shown}",
            hint="give the same number of values for every join key, one per entity row",
        )
    return {k: v for k, v in columns.items() if v is not None}, next(iter(lengths.values()))


def _frame_columns(frame: Any) -> dict[str, list[Any]]:
    """A pyarrow Table or a pandas / polars DataFrame as ``{column: values}``."""
    if hasattr(frame, "to_pydict"):  # pyarrow
        return dict(frame.to_pydict())
    if type(frame).__module__.split(".")[0] == "polars":
        return dict(frame.to_dict(as_series=False))
    return {str(k): list(v) for k, v in frame.to_dict(orient="list").items()}


def read_entity_file(path: Path, join_keys: Sequence[str]) -> dict[str, list[Any]]:
    """The ``join_keys`` columns of an entity file: parquet, CSV, or JSON lines (``.jsonl``,
    ``.ndjson``, ``.json``: one object per line)."""
    suffix = path.suffix.lower()
    readers = (".parquet", ".csv", ".jsonl", ".ndjson", ".json")
    if suffix not in readers:
        raise UsageError(
            f"entity file {path}: unknown extension '{path.suffix}'",
            hint="use .parquet, .csv or .jsonl (JSON lines)",
        )
    if not path.is_file():
        raise UsageError(f"entity file {path} does not exist")
    import pyarrow as pa

    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif suffix == ".csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
        else:
            import pyarrow.json as pjson

            table = pjson.read_json(path)
    except (pa.ArrowException, OSError) as exc:
        what = (
            " (JSON lines expected: one object per line)" if suffix in (".json", ".jsonl", ".ndjson") else ""
        )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot read entity file {path}{what}: {first}") from None
    missing = [k for k in join_keys if k not in table.column_names]
    if missing:
        raise UsageError(
            f"entity file {path} has no column {', '.join(repr(k) for k in missing)} "
            f"(columns: {', '.join(table.column_names) or 'none'})",
            hint=f"the requested features are keyed by {', '.join(join_keys)}",
        )
    return {k: table.column(k).to_pylist() for k in join_keys}
