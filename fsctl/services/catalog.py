"""The applied objects of one registry version, and what a request for features resolves to
against them. Retrieval, online reads and materialization read definitions from the
registry (what was applied), never from the repo.

Objects are the registry's canonical dicts (``FsctlObject.to_dict()``: validated when they
were applied), read as they are: the data path never rebuilds pydantic models.
"""

from __future__ import annotations

import re
from typing import Any

from fsctl.definitions.graph import SOURCE_KINDS, join_keys, source_kind
from fsctl.errors import RegistryError, UsageError, did_you_mean
from fsctl.offline.requests import ViewSpec, view_spec
from fsctl.online.base import OnlineView
from fsctl.online.views import online_view
from fsctl.registry import RegistryReader
from fsctl.services.features import FeatureRequest
from fsctl.services.project import Project

Doc = dict[str, Any]


# YAML kind -> what a message calls one
LABELS = {
    "Entity": "entity",
    "FileSource": "source",
    "SqlSource": "SQL source",
    "FeatureView": "feature view",
    "FeatureService": "feature service",
    "Model": "model",
}


class Catalog:
    """The objects of the registry's current version (canonical dicts)."""

    def __init__(self, project: Project, registry: RegistryReader) -> None:
        snapshot = registry.read()
        if not snapshot.exists or not any(snapshot.objects.values()):
            raise nothing_applied(registry.location, snapshot.version)
        self._set(project, snapshot.objects, snapshot.version)

    @classmethod
    def of(cls, project: Project, objects: dict[str, dict[str, Doc]], version: int) -> Catalog:
        """A catalog of ``objects`` (kind -> name -> canonical dict), as version ``version``
        of the project's registry holds them: for tests and for documents already read."""
        catalog = cls.__new__(cls)
        catalog._set(project, objects, version)
        return catalog

    def _set(self, project: Project, objects: dict[str, dict[str, Doc]], version: int) -> None:
        self.project = project
        self.version = version
        self._raw = objects

    @property
    def where(self) -> str:
        """How messages name this registry version: its URI as given (fsctl.yaml, --registry)."""
        return f"the registry {self.project.registry_uri} (version {self.version})"

    def get(self, kind: str, name: str, what: str | None = None) -> Doc:
        """The object ``kind``/``name``, or a UsageError naming the closest name (or those
        there are); ``what`` names the kind in it (default: :data:`LABELS`)."""
        raw = self._raw.get(kind, {})
        if name not in raw:
            raise UsageError(
                f"{what or LABELS[kind]} '{name}' is not in {self.where}",
                hint=did_you_mean(name, raw, f"applied {kind} objects"),
            )
        return {"name": name, **raw[name]}

    def names(self, kind: str) -> list[str]:
        return list(self._raw.get(kind, {}))

    def view(self, name: str) -> Doc:
        return self.get("FeatureView", name, "feature view")

    def entities_of(self, view: Doc) -> dict[str, Doc]:
        return {e: self.get("Entity", e, "entity") for e in view["entities"]}

    def join_keys(self, view: Doc) -> tuple[str, ...]:
        return join_keys(view, self.entities_of(view))

    def view_spec(self, name: str) -> ViewSpec:
        """The engine-neutral spec of a view (source paths resolved against the repo)."""
        view = self.view(name)
        return view_spec(view, self.source(view["source"]), self.join_keys(view), self.project.root, self.sources)

    @property
    def sources(self) -> dict[str, Doc]:
        """Name -> canonical dict of every source, FileSource or SqlSource."""
        return {n: {"name": n, **d} for kind in SOURCE_KINDS for n, d in self._raw.get(kind, {}).items()}

    def source(self, name: str) -> Doc:
        """The source ``name``, FileSource or SqlSource, or a UsageError naming the closest."""
        return self.get(source_kind(self._raw, name) or "FileSource", name, "source")

    def online_view(self, name: str) -> OnlineView:
        """The view as its online store table sees it."""
        view = self.view(name)
        return online_view(self.project.name, view, self.entities_of(view))

    # -- requests ----------------------------------------------------------------------

    @property
    def objects(self) -> dict[str, dict[str, Doc]]:
        """Kind -> name -> canonical dict, as the registry holds them (read only)."""
        return self._raw

    def model_version(self, ref: str) -> tuple[str, str | None, Doc]:
        """``NAME@ALIAS`` or ``NAME/VERSION`` -> (model name, alias or None, the version's document)."""
        name, alias, number = parse_model_ref(ref)
        model = self.get("Model", name)
        aliases: dict[str, int] = model.get("aliases") or {}
        if alias is not None:
            if alias not in aliases:
                raise UsageError(
                    f"model '{name}' has no alias '{alias}'", hint=did_you_mean(alias, aliases, "its aliases")
                )
            number = aliases[alias]
        version = next((v for v in model["versions"] if v["version"] == number), None)
        if version is None:
            raise UsageError(
                f"model '{name}' has no version {number}",
                hint=f"its versions: {', '.join(str(v['version']) for v in model['versions']) or 'none'}",
            )
        return name, alias, version

    def feature(self, ref: str) -> tuple[str, str]:
        """``VIEW:FEATURE`` -> (view, feature), both applied."""
        view_name, sep, feature = ref.strip().partition(":")
        if not sep or not view_name or not feature:
            raise UsageError(f"feature reference '{ref}' is not view:feature", hint="e.g. driver_hourly_stats:conv_rate")
        names = [f["name"] for f in self.view(view_name)["schema"]]
        if feature not in names:
            raise UsageError(
                f"view '{view_name}' has no feature '{feature}'", hint=did_you_mean(feature, names, "its features")
            )
        return view_name, feature

    def service_for_model(self, ref: str) -> str:
        return str(self.model_version(ref)[2]["feature_service"])

    def resolve(self, request: FeatureRequest) -> list[tuple[str, str]]:
        """The ``(view, feature)`` pairs of ``request``, in the requested order."""
        service = request.service
        if request.model is not None:
            service = self.service_for_model(request.model)
        pairs: list[tuple[str, str]] = []
        if service is not None:
            svc = self.get("FeatureService", service, "feature service")
            for selection in svc["features"]:
                view = self.view(selection["view"])
                names = selection.get("features") or [f["name"] for f in view["schema"]]
                pairs.extend((view["name"], f) for f in names)
        else:
            pairs.extend(self.feature(ref) for ref in request.features or ())
        if not pairs:
            raise UsageError("no features requested", hint="pass --features view:feature,... or --service NAME")
        seen = sorted({p for p in pairs if pairs.count(p) > 1})
        if seen:
            raise UsageError(f"feature '{seen[0][0]}:{seen[0][1]}' is requested twice")
        return pairs


def nothing_applied(location: str, version: int = 0) -> RegistryError:
    """The error of a command that needs applied definitions when the registry has none
    (never applied, or emptied by a teardown)."""
    what = "has nothing applied yet" if version == 0 else f"has no definitions (version {version} is empty)"
    return RegistryError(
        f"the registry {location} {what}, so there are no definitions to use",
        hint="run `fsctl apply` first (or point --registry / FSCTL_REGISTRY at the registry you meant)",
    )


def parse_model_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``NAME@ALIAS`` or ``NAME/VERSION`` -> (name, alias, version); a version is ASCII digits."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, alias, None
    if "/" in ref:
        name, version = ref.split("/", 1)
        if not re.fullmatch("[0-9]+", version):
            raise UsageError(
                f"model reference '{ref}': the version must be a number", hint="use NAME/2 or NAME@Production"
            )
        return name, None, int(version)
    raise UsageError(f"model reference '{ref}' names no version", hint="use NAME@ALIAS or NAME/VERSION")
