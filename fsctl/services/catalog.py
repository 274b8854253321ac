"""The applied objects of one registry version, as definitions, and what a request for
features resolves to against them. Retrieval, online reads and materialization read
definitions from the registry (what was applied), never from the repo."""

from __future__ import annotations

import difflib
from typing import Any

from fsctl.definitions import (
    Entity,
    FeatureService,
    FeatureView,
    FileSource,
    Model,
    join_keys,
    object_from_dict,
)
from fsctl.errors import UsageError
from fsctl.offline.requests import ViewSpec, view_spec
from fsctl.registry import RegistryReader
from fsctl.services.features import FeatureRequest
from fsctl.services.project import Project


class Catalog:
    """The objects of the registry's current version, rebuilt as definitions on demand."""

    def __init__(self, project: Project, registry: RegistryReader) -> None:
        snapshot = registry.read()
        self.project = project
        self.version = snapshot.version
        self.location = registry.location
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

    def raw(self, kind: str, name: str) -> dict[str, Any] | None:
        """The canonical dict of an object, or None."""
        found = self._raw.get(kind, {}).get(name)
        return dict(found) if found is not None else None

    def view(self, name: str) -> FeatureView:
        view: FeatureView = self.get("FeatureView", name, "feature view")
        return view

    def entities_of(self, view: FeatureView) -> dict[str, Entity]:
        return {e: self.get("Entity", e, "entity") for e in view.entities}

    def join_keys(self, view: FeatureView) -> tuple[str, ...]:
        return join_keys(view, self.entities_of(view))

    def view_spec(self, name: str) -> ViewSpec:
        """The engine-neutral spec of a view (source paths resolved against the repo)."""
        view = self.view(name)
        source: FileSource = self.get("FileSource", view.source, "source")
        return view_spec(view, source, self.entities_of(view), self.project.root)

    # -- requests ----------------------------------------------------------------------

    def service_for_model(self, ref: str) -> str:
        name, alias, number = parse_model_ref(ref)
        model: Model = self.get("Model", name, "model")
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

    def resolve(self, request: FeatureRequest) -> list[tuple[str, str]]:
        """The ``(view, feature)`` pairs of ``request``, in the requested order."""
        service = request.service
        if request.model is not None:
            service = self.service_for_model(request.model)
        pairs: list[tuple[str, str]] = []
        if service is not None:
            svc: FeatureService = self.get("FeatureService", service, "feature service")
            for selection in svc.features:
                view = self.view(selection.view)
                pairs.extend((view.name, f) for f in (selection.features or view.feature_names))
        else:
            for ref in request.features or ():
                view_name, sep, feature = ref.strip().partition(":")
                if not sep or not view_name or not feature:
                    raise UsageError(
                        f"feature reference '{ref}' is not view:feature", hint="e.g. driver_hourly_stats:conv_rate"
                    )
                view = self.view(view_name)
                if feature not in view.feature_names:
                    close = difflib.get_close_matches(feature, view.feature_names, n=1)
                    raise UsageError(
                        f"view '{view_name}' has no feature '{feature}'",
                        hint=f"did you mean '{close[0]}'?" if close else f"its features: {', '.join(view.feature_names)}",
                    )
                pairs.append((view_name, feature))
        if not pairs:
            raise UsageError("no features requested", hint="pass --features view:feature,... or --service NAME")
        seen = sorted({p for p in pairs if pairs.count(p) > 1})
        if seen:
            raise UsageError(f"feature '{seen[0][0]}:{seen[0][1]}' is requested twice")
        return pairs


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
