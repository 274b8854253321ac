"""Use case: historical (point-in-time) retrieval of features named by reference, by a feature
service, or by the feature service bound to a model version or alias.

Features are resolved against the *registry* (what was applied), like every reader of
the feature store, so a training set is built from the definitions that serve the model.
Source paths are relative to the repo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from fsctl.definitions import FeatureService, FeatureView, FileSource, Model, object_from_dict
from fsctl.errors import UsageError
from fsctl.offline import FeatureRef, RetrievalResult, ViewRequest
from fsctl.services.project import Project


class RegistryObjects:
    """The applied objects of a registry snapshot, rebuilt as model objects on demand."""

    def __init__(self, project: Project) -> None:
        snapshot = project.registry.read()
        self.version = snapshot.version
        self.location = project.registry.location
        self._raw = snapshot.objects
        self._built: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, name: str, what: str) -> Any:
        key = (kind, name)
        if key not in self._built:
            raw = self._raw.get(kind, {})
            if name not in raw:
                close = difflib.get_close_matches(name, list(raw), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "run fsctl apply to publish it"
                raise UsageError(
                    f"{what} '{name}' is not in the registry {self.location} (version {self.version})",
                    hint=hint,
                )
            self._built[key] = object_from_dict({"kind": kind, **raw[name]})
        return self._built[key]

    def names(self, kind: str) -> list[str]:
        return list(self._raw.get(kind, {}))

    def view(self, name: str) -> FeatureView:
        return self.get("FeatureView", name, "feature view")


def parse_model_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``NAME@ALIAS`` or ``NAME/VERSION`` -> (name, alias, version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, alias, None
    if "/" in ref:
        name, version = ref.split("/", 1)
        if not version.isdigit():
            raise UsageError(
                f"model reference '{ref}': the version must be a number", hint="use NAME/2 or NAME@Production"
            )
        return name, None, int(version)
    raise UsageError(f"model reference '{ref}' names no version", hint="use NAME@ALIAS or NAME/VERSION")


def service_for_model(objects: RegistryObjects, ref: str) -> str:
    name, alias, number = parse_model_ref(ref)
    model: Model = objects.get("Model", name, "model")
    if alias is not None:
        if alias not in model.aliases:
            raise UsageError(
                f"model '{name}' has no alias '{alias}'",
                hint=f"its aliases: {', '.join(sorted(model.aliases)) or 'none'}",
            )
        number = model.aliases[alias]
    version = model.version(int(number or 0))
    if version is None:
        raise UsageError(
            f"model '{name}' has no version {number}",
            hint=f"its versions: {', '.join(str(v.version) for v in model.versions)}",
        )
    return version.feature_service


def resolve(
    objects: RegistryObjects,
    features: list[str] | None,
    service: str | None,
) -> list[tuple[str, str]]:
    """(view, feature) pairs in the requested order."""
    pairs: list[tuple[str, str]] = []
    if service is not None:
        svc: FeatureService = objects.get("FeatureService", service, "feature service")
        for selection in svc.features:
            view = objects.view(selection.view)
            pairs.extend((view.name, f) for f in (selection.features or view.feature_names))
    else:
        for ref in features or []:
            view_name, sep, feature = ref.strip().partition(":")
            if not sep or not view_name or not feature:
                raise UsageError(
                    f"feature reference '{ref}' is not view:feature",
                    hint="e.g. driver_hourly_stats:conv_rate",
                )
            view = objects.view(view_name)
            if feature not in view.feature_names:
                close = difflib.get_close_matches(feature, view.feature_names, n=1)
                raise UsageError(
                    f"view '{view_name}' has no feature '{feature}'",
                    hint=f"did you mean '{close[0]}'?"
                    if close
                    else f"its features: {', '.join(view.feature_names)}",
                )
            pairs.append((view_name, feature))
    if not pairs:
        raise UsageError("no features requested", hint="pass --features view:feature,... or --service NAME")
    seen = sorted({p for p in pairs if pairs.count(p) > 1})
    if seen:
        raise UsageError(f"feature '{seen[0][0]}:{seen[0][1]}' is requested twice")
    return pairs


def build_requests(
    objects: RegistryObjects, pairs: list[tuple[str, str]], full_feature_names: bool
) -> tuple[list[ViewRequest], list[FeatureRef]]:
    requests: dict[str, ViewRequest] = {}
    for view_name, _ in pairs:
        if view_name in requests:
            continue
        view = objects.view(view_name)
        source: FileSource = objects.get("FileSource", view.source, "source")
        keys = [k for e in view.entities for k in objects.get("Entity", e, "entity").join_keys]
        requests[view_name] = ViewRequest(view=view, source=source, join_keys=keys)
    refs = [FeatureRef(v, f, f"{v}__{f}" if full_feature_names else f) for v, f in pairs]
    return list(requests.values()), refs


def get_historical_features(
    project: Project,
    entities: Any,
    *,
    features: list[str] | None = None,
    service: str | None = None,
    model: str | None = None,
    full_feature_names: bool = False,
    leakage_guard: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RetrievalResult:
    from fsctl.offline import connect, point_in_time_join

    chosen = [
        name for name, value in (("features", features), ("service", service), ("model", model)) if value
    ]
    if len(chosen) != 1:
        raise UsageError("name the features one way: features, a feature service, or a model")
    objects = RegistryObjects(project)
    if model is not None:
        service = service_for_model(objects, model)
    pairs = resolve(objects, features, service)
    requests, refs = build_requests(objects, pairs, full_feature_names)
    con = connect()
    try:
        return point_in_time_join(
            con, project.root, entities, requests, refs, leakage_guard=leakage_guard, progress=progress
        )
    except BaseException:
        con.close()
        raise
