"""The training-time snapshot of a model version: what its feature service gave when the
version first landed in the registry, as Databricks' ``log_model`` embeds it in the model.

The snapshot is registry-side data, never written by the user. It is the key
``training_snapshot`` of a version in the registry's Model document (registry format 1, an
added key)::

    {"registry_version": 3,                      # the registry version it describes
     "feature_service": "driver_activity_v1",
     "features": [{"ref": "driver_hourly_stats:conv_rate", "name": "conv_rate", "dtype": "float64"}, ...],
     "fingerprint": "<sha256>"}

``features`` is the service's resolved output in order (``name`` is the output column
without full feature names). ``fingerprint`` covers what produces those values: the refs and
dtypes, and for each view read its data fingerprint restricted to the features read
(join keys, source path, format, timestamp columns, field mapping, dtypes; see
:func:`view_data_fingerprint`, the one rule that materialization's watermarks use too) plus
its TTL, which changes point-in-time values. A changed source, key or dtype changes it.

When it is recorded (:func:`with_snapshots`, called by the planner, so ``apply`` writes it):

* a version new to the registry: from the definitions being applied (the registry version
  the apply writes);
* a version already in the registry keeps the snapshot it has;
* a version in a registry written before snapshots existed gets one taken from the registry
  as it is (what that version was being served), silently: it is registry-side data, not a
  change of the definitions, so the plan does not show it and an upgrade makes no plan
  change; the next apply that changes something writes it.

The planner then compares (:func:`snapshot_gaps`): a published version whose service no
longer gives a feature it was trained on, or gives it with another dtype, is broken by the
change that does it.

No I/O, no pydantic: the planner, the loader and the data path all use it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fsctl.definitions.graph import join_keys
from fsctl.definitions.sql_query import normalise_query, upstream_names
from fsctl.fingerprints import fingerprint

SNAPSHOT_KEY = "training_snapshot"

Documents = Mapping[str, Mapping[str, Any]]  # kind -> name -> canonical dict or definition object


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, "schema_" if name == "schema" else name, default)


@dataclass(frozen=True)
class Output:
    """One feature a service gives: ``view:feature`` with its dtype."""

    view: str
    feature: str
    dtype: str

    @property
    def ref(self) -> str:
        return f"{self.view}:{self.feature}"


def service_output(documents: Documents, service_name: str) -> list[Output] | None:
    """The features ``service_name`` gives in ``documents``, in order; None when the service
    is not there. Views or features that are not defined are skipped (validation reports them)."""
    service = documents.get("FeatureService", {}).get(service_name)
    if service is None:
        return None
    views = documents.get("FeatureView", {})
    out: list[Output] = []
    for selection in _get(service, "features", ()):
        view_name = _get(selection, "view")
        view = views.get(view_name)
        if view is None:
            continue
        dtypes = {_get(f, "name"): _get(f, "dtype") for f in _get(view, "schema", ())}
        chosen = _get(selection, "features") or list(dtypes)
        out.extend(Output(view_name, f, dtypes[f]) for f in chosen if f in dtypes)
    return out


def source_data(source: Mapping[str, Any], sources: Mapping[str, Mapping[str, Any]], depth: int = 0) -> dict[str, Any]:
    """What a source's rows are read from, for fingerprints: a file source's location and
    columns (and a Delta pin, when set); a SQL source's query (whitespace normalised), columns
    and, recursively, its upstreams' (from ``sources``: name -> canonical dict, both kinds)."""
    if "query" in source:
        upstreams = {}
        for name in upstream_names(source["query"]):
            upstream = sources.get(name)
            upstreams[name] = source_data(upstream, sources, depth + 1) if upstream is not None and depth < 32 else None
        return {
            "query": normalise_query(source["query"]),
            "timestamp_field": source.get("timestamp_field", "event_timestamp"),
            "created_timestamp_field": source.get("created_timestamp_field"),
            "upstreams": upstreams,
        }
    data = {
        "path": source["path"],
        "format": source.get("format", "parquet"),
        "timestamp_field": source.get("timestamp_field", "event_timestamp"),
        "created_timestamp_field": source.get("created_timestamp_field"),
        "field_mapping": source.get("field_mapping") or {},
    }
    # Delta pins join the fingerprint only when set: an upgrade keeps every watermark.
    data.update({pin: source[pin] for pin in ("version", "timestamp") if source.get(pin) is not None})
    return data


def all_sources(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Name -> source (canonical dict or object) of both source kinds of ``documents``."""
    return {**documents.get("FileSource", {}), **documents.get("SqlSource", {})}


def view_data_fingerprint(
    view: Mapping[str, Any],
    source: Mapping[str, Any],
    keys: list[str],
    features: list[str] | None = None,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """What a view's values are computed from: its keys, source (for a SQL source, its query
    and its upstreams, found in ``sources``) and the dtypes of ``features`` (default: its
    whole schema, which materialization's watermarks use)."""
    schema = [[f["name"], f["dtype"]] for f in view["schema"] if features is None or f["name"] in features]
    data: dict[str, Any] = {"keys": keys, "schema": schema, "source": source_data(source, sources or {})}
    if view.get("aggregations"):  # computed values: how they are computed is their data too
        inputs = {f["name"]: f["dtype"] for f in view.get("inputs") or ()}
        data["aggregations"] = [
            [a["name"], a["column"], inputs.get(a["column"]), a["function"], a["window"]]
            for a in view["aggregations"]
            if features is None or a["name"] in features
        ]
        data["slide"] = view.get("slide") or 0
    return fingerprint(data)


def take_snapshot(documents: Mapping[str, Mapping[str, dict[str, Any]]], service_name: str, registry_version: int) -> dict[str, Any] | None:
    """The snapshot of what ``service_name`` gives in ``documents`` (canonical dicts); None
    when the service is not there."""
    output = service_output(documents, service_name)
    if output is None:
        return None
    views = documents.get("FeatureView", {})
    sources = all_sources(documents)
    entities = documents.get("Entity", {})
    producers = {}
    for view_name in dict.fromkeys(o.view for o in output):
        view = views[view_name]
        source = sources.get(view["source"])
        read = [o.feature for o in output if o.view == view_name]
        data = view_data_fingerprint(view, source, list(join_keys(view, entities)), read, sources) if source else None
        producers[view_name] = {"data": data, "ttl": view.get("ttl", 0)}
    features = [{"ref": o.ref, "name": o.feature, "dtype": o.dtype} for o in output]
    return {
        "registry_version": registry_version,
        "feature_service": service_name,
        "features": features,
        "fingerprint": fingerprint({"features": [[f["ref"], f["dtype"]] for f in features], "views": producers}),
    }


def with_snapshots(
    current: Mapping[str, Mapping[str, dict[str, Any]]],
    desired: Mapping[str, Mapping[str, dict[str, Any]]],
    registry_version: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``desired`` with a snapshot on every model version, by the rules of the module
    docstring; ``registry_version`` is the version ``current`` is at. ``desired`` is not changed."""
    out = {kind: dict(objects) for kind, objects in desired.items()}
    current_models = current.get("Model", {})
    for name, model in desired.get("Model", {}).items():
        published = {v["version"]: v for v in (current_models.get(name) or {}).get("versions", [])}
        versions = []
        for version in model.get("versions", []):
            snapshot = version.get(SNAPSHOT_KEY)
            before = published.get(version["version"])
            if snapshot is None and before is not None:
                snapshot = before.get(SNAPSHOT_KEY) or take_snapshot(
                    current, before["feature_service"], registry_version
                )
            if snapshot is None:
                snapshot = take_snapshot(desired, version["feature_service"], registry_version + 1)
            versions.append({**version, SNAPSHOT_KEY: copy.deepcopy(snapshot)} if snapshot else version)
        out["Model"][name] = {**model, "versions": versions}
    return out


@dataclass(frozen=True)
class Gap:
    """A feature a version was trained on that its service no longer gives as it did."""

    model: str
    version: int
    ref: str
    trained: str  # the dtype it was trained on
    now: str | None  # the dtype it would get; None: not given at all

    @property
    def view(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def feature(self) -> str:
        return self.ref.partition(":")[2]

    @property
    def reason(self) -> str:
        head = f"{self.model} v{self.version} was trained on {self.ref} {self.trained}"
        if self.now is None:
            return f"{head}, which it would no longer get"
        return f"{head} but would get {self.now}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "feature": self.ref, "trained": self.trained, "now": self.now}


def snapshot_gaps(
    model: str, version: Mapping[str, Any], documents: Mapping[str, Mapping[str, Any]]
) -> list[Gap]:
    """What ``version`` (of ``model``, with its snapshot) would not get as it was trained if
    its bound service were resolved in ``documents``; [] without a snapshot."""
    snapshot = version.get(SNAPSHOT_KEY)
    if not snapshot:
        return []
    given = {o.ref: o.dtype for o in service_output(documents, version["feature_service"]) or []}
    gaps = []
    for feature in snapshot.get("features", []):
        now = given.get(feature["ref"])
        if now != feature["dtype"]:
            gaps.append(Gap(model, int(version["version"]), feature["ref"], feature["dtype"], now))
    return gaps
