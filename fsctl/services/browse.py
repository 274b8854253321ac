"""Use cases: list and describe registry objects, and browse registry versions."""

from __future__ import annotations

from typing import Any

from fsctl.diff import Plan, build_plan
from fsctl.errors import UsageError
from fsctl.registry import VersionInfo
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


def list_objects(project: Project, kind: str) -> tuple[str, list[dict[str, Any]]]:
    resolved = resolve_kind(kind)
    snapshot = project.registry.read()
    objects = snapshot.objects.get(resolved, {})
    return resolved, [objects[name] for name in sorted(objects)]


def describe(project: Project, kind: str, name: str) -> dict[str, Any]:
    resolved = resolve_kind(kind)
    snapshot = project.registry.read()
    objects = snapshot.objects.get(resolved, {})
    if name not in objects:
        import difflib

        close = difflib.get_close_matches(name, list(objects), n=1)
        raise UsageError(
            f"no {resolved} named '{name}' in the registry {project.registry_uri} (version {snapshot.version})",
            hint=f"did you mean '{close[0]}'?" if close else f"see `fsctl list {kind}`",
        )
    return objects[name]


def history(project: Project) -> list[VersionInfo]:
    return list(project.registry.read().history)


def show_version(project: Project, version: int | None) -> dict[str, Any]:
    if version is None:
        snapshot = project.registry.read()
        if not snapshot.exists:
            raise UsageError(
                f"the registry {project.registry_uri} has no versions yet", hint="run `fsctl apply`"
            )
        return snapshot.to_document()
    return project.registry.read_version(version)


def diff_versions(project: Project, a: int, b: int) -> Plan:
    """What changed from version ``a`` to version ``b``, as a plan of ``b`` against ``a``."""
    before = project.registry.read_version(a) if a > 0 else {"objects": {}}
    after = project.registry.read_version(b)
    return build_plan(
        project.name, project.registry_uri, a, before.get("objects", {}), after.get("objects", {})
    )
