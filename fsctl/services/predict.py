"""Use case: online predictions, behind ``POST /models/{name}/predict`` of ``fsctl serve``.

A request names a model and gives entity rows (join keys only). Each row goes to one model
version:

1. the version or alias the request names (in the path, the body, or, for testing, the
   ``X-Fsctl-Alias`` / ``X-Fsctl-Version`` header);
2. else, when the model splits ``traffic``, the alias its entity key hashes to
   (:func:`fsctl.services.model_target.route`: sticky per key);
3. else the model's first protected alias (``models.protected_aliases``).

Rows of one version are answered together: the online features of its bound service (the
same TTL rules as ``/get-online-features``), then one ``predict`` call. Aliases are
resolved against the registry the :class:`~fsctl.services.online.OnlineReader` holds, which
it re-reads every few seconds, so an alias moved by an apply is followed without a restart;
each model version is loaded once (:class:`ModelCache`) and dropped when no applied version
uses its URI any more.

A feature that is missing or expired for a row is handled by the model's
``missing_features``: ``error`` (the default) refuses the request naming the row and the
feature; ``null`` passes the model a null. Every prediction can be appended to a
prediction log (:mod:`fsctl.scoring.log`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from fsctl.errors import UsageError
from fsctl.json_values import json_safe
from fsctl.results.online import PRESENT
from fsctl.scoring import LoadedModel, frame_of, predict_failed, prediction_columns
from fsctl.services.catalog import Catalog
from fsctl.services.entity_rows import as_list
from fsctl.services.model_target import Target, default_alias, route, target
from fsctl.services.online import OnlineReader

if TYPE_CHECKING:
    from fsctl.scoring.log import PredictionLog, PredictionRecord

_MAX_NAMED = 5  # missing features named in one error


class UnknownModel(UsageError):
    """No model of the requested name is applied (HTTP 404)."""


class MissingFeatures(UsageError):
    """A row lacks a feature and the model's ``missing_features`` is ``error`` (HTTP 424)."""


@dataclass(frozen=True)
class Group:
    """The rows one model version answered, and what it took."""

    target: Target
    rows: list[int]  # positions in the request
    lookup_seconds: float
    model_seconds: float
    names: tuple[str, ...]  # the feature names read
    statuses: list[list[str]]  # per feature, per row of the group


@dataclass
class PredictionResult:
    """Predictions of one request, one per entity row in request order."""

    model: str
    request_id: str
    registry_version: int
    entities: list[dict[str, Any]]
    versions: list[Target | None]
    outputs: list[dict[str, Any]]
    features: list[dict[str, Any]]  # the feature values each row was predicted from
    groups: list[Group] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """The endpoint's answer: ``{"model", "request_id", "registry_version",
        "predictions": [{"entity", "alias", "version", "outputs"}]}``."""
        rows = []
        for entity, t, outputs in zip(self.entities, self.versions, self.outputs, strict=True):
            assert t is not None
            rows.append(
                {
                    "entity": {k: json_safe(v) for k, v in entity.items()},
                    "alias": t.alias,
                    "version": t.version,
                    "outputs": {k: json_safe(v) for k, v in outputs.items()},
                }
            )
        return {
            "model": self.model,
            "request_id": self.request_id,
            "registry_version": self.registry_version,
            "predictions": rows,
        }


class ModelCache:
    """Loaded models by ``(model, version, uri)``: each loaded once (other threads asking for
    the same one wait for that load), dropped when the registry no longer has it."""

    def __init__(self, load: Callable[[str], LoadedModel]) -> None:
        self._load = load
        self._models: dict[tuple[str, int, str], LoadedModel] = {}
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self._registry_version = -1
        self._applied: set[tuple[str, int, str]] | None = None  # as of the last prune

    def get(self, t: Target) -> LoadedModel:
        key = (t.model, t.version, t.uri)
        found = self._models.get(key)
        if found is not None:
            return found
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._models.get(key)
            if found is None:
                found = self._load(t.uri)
                with self._lock:  # a prune during the load may have dropped this version
                    if self._applied is None or key in self._applied:
                        self._models[key] = found
        return found

    def prune(self, catalog: Catalog) -> None:
        """Forget models whose version (with that URI) is no longer applied."""
        if catalog.version == self._registry_version:
            return
        with self._lock:
            self._registry_version = catalog.version
            applied = {
                (name, v["version"], v.get("uri") or "")
                for name in catalog.names("Model")
                for v in catalog.get("Model", name)["versions"]
            }
            self._applied = applied
            for key in [k for k in self._models if k not in applied]:
                del self._models[key]
                self._locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._models)


class Predictor:
    """Answers prediction requests (see the module docstring). Thread-safe; the server
    shares one between its worker threads."""

    def __init__(
        self,
        reader: OnlineReader,
        load: Callable[[str], LoadedModel],
        *,
        log: PredictionLog | None = None,
        ignore_ttl: bool = False,
    ) -> None:
        self.reader = reader
        self.models = ModelCache(load)
        self.log = log
        self.ignore_ttl = ignore_ttl

    def predict(
        self,
        model: str,
        entity_rows: Any,
        *,
        alias: str | None = None,
        version: int | None = None,
        request_id: str | None = None,
        ignore_ttl: bool | None = None,
    ) -> PredictionResult:
        """Predictions for ``entity_rows`` (``{"driver_id": [1, 2]}`` or ``[{"driver_id": 1}]``)."""
        if alias is not None and version is not None:
            raise UsageError("name an alias or a version, not both")
        registry = self.reader.current()
        catalog = registry.objects
        self.models.prune(catalog)
        if model not in catalog.names("Model"):
            from fsctl.errors import did_you_mean

            raise UnknownModel(
                f"model '{model}' is not in {catalog.where}",
                hint=did_you_mean(model, catalog.names("Model"), "applied models"),
            )
        doc = catalog.get("Model", model)
        columns, n = _columns(entity_rows)
        targets = self._targets(catalog, doc, columns, n, alias, version)
        request_id = request_id or uuid.uuid4().hex
        result = PredictionResult(
            model=doc["name"],
            request_id=request_id,
            registry_version=catalog.version,
            entities=[{} for _ in range(n)],
            versions=[None] * n,
            outputs=[{} for _ in range(n)],
            features=[{} for _ in range(n)],
        )
        by_version: dict[tuple[int, str | None], list[int]] = {}
        for i, t in enumerate(targets):
            by_version.setdefault((t.version, t.alias), []).append(i)
        skip_ttl = self.ignore_ttl if ignore_ttl is None else ignore_ttl
        for rows in by_version.values():
            result.groups.append(self._answer(targets[rows[0]], rows, columns, n, skip_ttl, result))
        if self.log is not None:
            self.log.append(_records(result))
        return result

    def _targets(
        self,
        catalog: Catalog,
        doc: dict[str, Any],
        columns: dict[str, list[Any]],
        n: int,
        alias: str | None,
        version: int | None,
    ) -> list[Target]:
        name = doc["name"]
        aliases: dict[str, int] = doc.get("aliases") or {}
        if version is not None:
            named = next((a for a, v in aliases.items() if v == version), None)
            return [target(catalog, name, version, named)] * n
        if alias is None and (doc.get("traffic") or {}):
            traffic: dict[str, int] = doc["traffic"]
            by_alias = {a: target(catalog, name, aliases[a], a) for a in traffic if traffic[a] > 0}
            keys = sorted({k for t in by_alias.values() for k in self.reader.plan(t.request).join_keys})
            absent = [k for k in keys if k not in columns]
            if absent:
                raise UsageError(
                    f"model '{name}' splits traffic by {', '.join(keys)}; the request has no "
                    f"{', '.join(repr(k) for k in absent)}",
                    hint=f"give every join key: {', '.join(keys)}",
                )
            chosen = route(name, traffic, list(zip(*(columns[k] for k in keys), strict=True)) if n else [])
            return [by_alias[a] for a in chosen]
        if alias is None:
            alias = default_alias(doc, self.reader.project.protected_aliases)
        if alias not in aliases:
            from fsctl.errors import did_you_mean

            raise UsageError(
                f"model '{name}' has no alias '{alias}'", hint=did_you_mean(alias, aliases, "its aliases")
            )
        return [target(catalog, name, aliases[alias], alias)] * n

    def _answer(
        self,
        t: Target,
        rows: list[int],
        columns: dict[str, list[Any]],
        n: int,
        ignore_ttl: bool,
        result: PredictionResult,
    ) -> Group:
        sub = columns if len(rows) == n else {k: [v[i] for i in rows] for k, v in columns.items()}
        started = time.perf_counter()
        response = self.reader.get(t.request, sub, ignore_ttl=ignore_ttl)
        lookup = time.perf_counter() - started
        names = response.names
        if t.missing_features == "error":
            _check_missing(t, response.entity, names, response.statuses, ignore_ttl)
        loaded = self.models.get(t)
        started = time.perf_counter()
        try:
            raw = loaded.predict(frame_of(names, response.values))
        except Exception as exc:  # the model's own code
            raise predict_failed(t.label, t.uri, exc) from exc
        outputs = prediction_columns(raw, len(rows), t.output, t.uri)
        spent = time.perf_counter() - started
        keys = list(response.entity)
        for j, i in enumerate(rows):
            result.entities[i] = {k: response.entity[k][j] for k in keys}
            result.versions[i] = t
            result.outputs[i] = {o: values[j] for o, values in outputs.items()}
            result.features[i] = {name: response.values[s][j] for s, name in enumerate(names)}
        return Group(t, rows, lookup, spent, tuple(names), response.statuses)


def _columns(entity_rows: Any) -> tuple[dict[str, list[Any]], int]:
    """The request's entity rows as columns, and their number."""
    if isinstance(entity_rows, Mapping):
        columns: dict[str, list[Any]] = {}
        for key, value in entity_rows.items():
            values = as_list(value)
            if values is None:
                raise UsageError(f"entities['{key}'] must be a list of values, one per row")
            columns[str(key)] = values
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise UsageError(
                "entity columns have different lengths: "
                + ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
            )
        return columns, lengths.pop() if lengths else 0
    if isinstance(entity_rows, Sequence) and not isinstance(entity_rows, (str, bytes)):
        if not all(isinstance(row, Mapping) for row in entity_rows):
            raise UsageError("entity rows must be objects of join key -> value")
        keys = list(dict.fromkeys(k for row in entity_rows for k in row))
        missing = next(((i, k) for i, row in enumerate(entity_rows) for k in keys if k not in row), None)
        if missing is not None:
            raise UsageError(
                f"entity row {missing[0]} has no '{missing[1]}'", hint="give every row the same keys"
            )
        return {k: [row[k] for row in entity_rows] for k in keys}, len(entity_rows)
    raise UsageError("entities must be columns ({'driver_id': [1, 2]}) or rows ([{'driver_id': 1}])")


def _check_missing(
    t: Target,
    entity: dict[str, list[Any]],
    names: Sequence[str],
    statuses: Sequence[Sequence[str]],
    ignore_ttl: bool,
) -> None:
    found = []
    for s, name in enumerate(names):
        for row, status in enumerate(statuses[s]):
            if status != PRESENT and not (ignore_ttl and status == "expired"):
                key = ", ".join(f"{k}={v[row]!r}" for k, v in entity.items())
                found.append(f"{name} ({status}) for {key}")
    if found:
        more = f" and {len(found) - _MAX_NAMED} more" if len(found) > _MAX_NAMED else ""
        raise MissingFeatures(
            f"model {t.label} needs every feature, and the online store has no current value of "
            + "; ".join(found[:_MAX_NAMED])
            + more,
            hint="materialize the views (fsctl materialize-incremental), or set missing_features: null "
            "on the model to pass nulls",
        )


def _records(result: PredictionResult) -> list[PredictionRecord]:
    from fsctl.scoring.log import PredictionRecord

    now = datetime.now(timezone.utc)
    out = []
    rows = zip(result.entities, result.versions, result.outputs, result.features, strict=True)
    for entity, t, outputs, features in rows:
        assert t is not None
        out.append(
            PredictionRecord(
                request_id=result.request_id,
                predicted_at=now,
                model=result.model,
                alias=t.alias,
                model_version=t.version,
                registry_version=result.registry_version,
                entity=entity,
                features=features,
                outputs=outputs,
            )
        )
    return out
