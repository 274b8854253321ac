"""Use cases: list and describe registry objects, and browse registry versions."""

from __future__ import annotations

from fsctl.diff import build_plan
from fsctl.errors import UsageError
from fsctl.registry import RegistryReader
from fsctl.results.browse import History, ObjectDetail, ObjectList, RegistryDocument, VersionDiff
from fsctl.services.catalog import nothing_applied
from fsctl.services.project import Project

KIND_ALIASES = {
    "entities": "Entity",
    "entity": "Entity",
    "sources": "FileSource",
    "source": "FileSource",
    "filesources": "FileSource",
    "views": "FeatureView",
    "view": "FeatureView",
    "featureviews": "FeatureView",
    "services": "FeatureService",
    "service": "FeatureService",
    "featureservices": "FeatureService",
    "models": "Model",
    "model": "Model",
}
LIST_KINDS = ("entities", "views", "services", "sources", "models")


def resolve_kind(kind: str) -> str:
    found = KIND_ALIASES.get(kind.lower())
    if found is None:
        raise UsageError(f"unknown kind '{kind}'", hint=f"use one of {', '.join(LIST_KINDS)}")
    return found


def list_objects(registry: RegistryReader, kind: str) -> ObjectList:
    resolved = resolve_kind(kind)
    snapshot = registry.read()
    if not snapshot.exists:
        raise nothing_applied(registry.location)
    objects = snapshot.objects.get(resolved, {})
    return ObjectList(resolved, [objects[name] for name in sorted(objects)])


def describe(project: Project, registry: RegistryReader, kind: str, name: str) -> ObjectDetail:
    resolved = resolve_kind(kind)
    snapshot = registry.read()
    if not snapshot.exists:
        raise nothing_applied(registry.location)
    objects = snapshot.objects.get(resolved, {})
    if name not in objects:
        import difflib

        close = difflib.get_close_matches(name, list(objects), n=1)
        raise UsageError(
            f"no {resolved} named '{name}' in the registry {project.registry_uri} (version {snapshot.version})",
            hint=f"did you mean '{close[0]}'?" if close else f"see `fsctl list {kind}`",
        )
    return ObjectDetail(resolved, name, objects[name])


def history(registry: RegistryReader) -> History:
    return History([entry.to_dict() for entry in registry.read().history])


def show_version(project: Project, registry: RegistryReader, version: int | None) -> RegistryDocument:
    if version is None:
        snapshot = registry.read()
        if not snapshot.exists:
            raise UsageError(
                f"the registry {project.registry_uri} has no versions yet", hint="run `fsctl apply`"
            )
        return RegistryDocument(snapshot.to_document())
    return RegistryDocument(registry.read_version(version))


def diff_versions(project: Project, registry: RegistryReader, a: int, b: int) -> VersionDiff:
    """What changed from version ``a`` to version ``b``, as a plan of ``b`` against ``a``."""
    before = registry.read_version(a) if a > 0 else {"objects": {}}
    after = registry.read_version(b)
    plan = build_plan(project.name, project.registry_uri, a, before.get("objects", {}), after.get("objects", {}))
    return VersionDiff(plan, a, b)
