"""Cross-object checks: duplicates, dangling references, aliases and source columns.

Every check appends :class:`~fsctl.errors.Problem` objects; nothing raises, so
one run reports every problem in the repo.
"""

from __future__ import annotations

from collections.abc import Mapping

from fsctl.errors import Problem
from fsctl.model.objects import Entity, FeatureService, FeatureView, FileSource, FsctlObject, Model

Objects = Mapping[str, Mapping[str, FsctlObject]]


def problem_at(obj: FsctlObject, message: str, field: str | None = None, fix: str | None = None) -> Problem:
    origin = obj.origin
    return Problem(
        message,
        file=origin.file if origin else None,
        line=origin.line if origin else None,
        kind=obj.KIND,
        name=obj.name,
        field=field,
        fix=fix,
    )


def _did_you_mean(name: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices:
        shown = ", ".join(sorted(choices)[:8])
        return f"known: {shown}{', ...' if len(choices) > 8 else ''}"
    return "none of that kind is defined"


def check_references(objects: Objects, broken: set[tuple[str, str]] | None = None) -> list[Problem]:
    """Check references between objects. References to ``broken`` objects (which failed to
    load and are already reported) are not reported again."""
    problems: list[Problem] = []
    skip = broken or set()
    entities: Mapping[str, Entity] = objects.get("Entity", {})  # type: ignore[assignment]
    sources: Mapping[str, FileSource] = objects.get("FileSource", {})  # type: ignore[assignment]
    views: Mapping[str, FeatureView] = objects.get("FeatureView", {})  # type: ignore[assignment]
    services: Mapping[str, FeatureService] = objects.get("FeatureService", {})  # type: ignore[assignment]
    models: Mapping[str, Model] = objects.get("Model", {})  # type: ignore[assignment]

    for view in views.values():
        for i, entity in enumerate(view.entities):
            if entity not in entities and ("Entity", entity) not in skip:
                problems.append(
                    problem_at(
                        view,
                        f"entity '{entity}' is not defined",
                        f"entities[{i}]",
                        _did_you_mean(entity, list(entities)),
                    )
                )
        if view.source not in sources and ("FileSource", view.source) not in skip:
            problems.append(
                problem_at(
                    view,
                    f"source '{view.source}' is not defined",
                    "source",
                    _did_you_mean(view.source, list(sources)),
                )
            )
        keys = [k for e in view.entities if e in entities for k in entities[e].join_keys]
        for feature in view.feature_names:
            if feature in keys:
                problems.append(
                    problem_at(
                        view,
                        f"feature '{feature}' is also a join key of its entities",
                        "schema",
                        "remove it from the schema; join keys come with every row",
                    )
                )
        for feature in view.checks:
            if feature not in view.feature_names:
                problems.append(
                    problem_at(
                        view,
                        f"check on '{feature}', which is not in the schema",
                        f"checks.{feature}",
                        _did_you_mean(feature, view.feature_names),
                    )
                )

    for service in services.values():
        for i, selection in enumerate(service.features):
            maybe_view = views.get(selection.view)
            if maybe_view is None and ("FeatureView", selection.view) in skip:
                continue
            if maybe_view is None:
                problems.append(
                    problem_at(
                        service,
                        f"view '{selection.view}' is not defined",
                        f"features[{i}]",
                        _did_you_mean(selection.view, list(views)),
                    )
                )
                continue
            view = maybe_view
            for feature in selection.features or []:
                if feature not in view.feature_names:
                    problems.append(
                        problem_at(
                            service,
                            f"view '{view.name}' has no feature '{feature}'",
                            f"features[{i}]",
                            _did_you_mean(feature, view.feature_names),
                        )
                    )

    for model in models.values():
        for i, version in enumerate(model.versions):
            if (
                version.feature_service not in services
                and ("FeatureService", version.feature_service) not in skip
            ):
                problems.append(
                    problem_at(
                        model,
                        f"version {version.version} is bound to feature service "
                        f"'{version.feature_service}', which is not defined",
                        f"versions[{i}].feature_service",
                        _did_you_mean(version.feature_service, list(services)),
                    )
                )
        numbers = [v.version for v in model.versions]
        for alias, number in model.aliases.items():
            if number not in numbers:
                problems.append(
                    problem_at(
                        model,
                        f"alias '{alias}' points at version {number}, which is not listed",
                        f"aliases.{alias}",
                        f"use one of the versions {numbers} or add version {number}",
                    )
                )
    return problems
