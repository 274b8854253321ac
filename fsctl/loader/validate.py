"""Cross-object checks: dangling references (read off the dependency graph) and the rules
about a view's features.

Every check appends :class:`~fsctl.errors.Problem` objects; nothing raises, so
one run reports every problem in the repo.
"""

from __future__ import annotations

from collections.abc import Mapping

from fsctl.definitions import Entity, FeatureView, FsctlObject, Model
from fsctl.definitions import graph as graph_nodes
from fsctl.definitions.graph import DefinitionGraph, join_keys
from fsctl.errors import Problem

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


def check_references(
    objects: Objects, graph: DefinitionGraph, broken: set[tuple[str, str]] | None = None
) -> list[Problem]:
    """Report every reference of the dependency ``graph`` to an object that is not defined,
    and the per-view rules on features. References to ``broken`` objects (which failed to
    load and are already reported) are not reported again."""
    problems: list[Problem] = []
    skip = {graph_nodes.object_node(kind, name) for kind, name in (broken or set()) if kind in graph_nodes.NODE_KINDS}
    names = {kind: list(objects.get(kind, {})) for kind in ("Entity", "FileSource", "FeatureView", "FeatureService")}
    for edge in graph.dangling():
        missing, user = edge.upstream, edge.downstream
        if missing in skip:
            continue
        if user.kind == "view":
            obj = objects["FeatureView"][user.name]
            kind = "Entity" if missing.kind == "entity" else "FileSource"
            label = "entity" if missing.kind == "entity" else "source"
            problems.append(
                problem_at(
                    obj,
                    f"{label} '{missing.name}' is not defined",
                    edge.field,
                    _did_you_mean(missing.name, names[kind]),
                )
            )
        elif user.kind == "service":
            obj = objects["FeatureService"][user.name]
            if missing.kind == "view":
                problems.append(
                    problem_at(
                        obj,
                        f"view '{missing.name}' is not defined",
                        edge.field,
                        _did_you_mean(missing.name, names["FeatureView"]),
                    )
                )
                continue
            view_name, _, feature = missing.name.partition(":")
            if graph_nodes.view(view_name) in skip:
                continue
            view = objects["FeatureView"][view_name]
            assert isinstance(view, FeatureView)
            problems.append(
                problem_at(
                    obj,
                    f"view '{view_name}' has no feature '{feature}'",
                    edge.field,
                    _did_you_mean(feature, view.feature_names),
                )
            )
        elif user.kind == "model_version":
            model_name, _, number = user.name.partition("/")
            problems.append(
                problem_at(
                    objects["Model"][model_name],
                    f"version {number} is bound to feature service '{missing.name}', which is not defined",
                    edge.field,
                    _did_you_mean(missing.name, names["FeatureService"]),
                )
            )
        elif user.kind == "alias":
            model_obj = objects["Model"][user.name.partition("@")[0]]
            assert isinstance(model_obj, Model)
            alias = user.name.partition("@")[2]
            number = missing.name.partition("/")[2]
            numbers = [v.version for v in model_obj.versions]
            problems.append(
                problem_at(
                    model_obj,
                    f"alias '{alias}' points at version {number}, which is not listed",
                    edge.field,
                    f"use one of the versions {numbers} or add version {number}",
                )
            )
    entities: Mapping[str, Entity] = objects.get("Entity", {})  # type: ignore[assignment]
    for view in objects.get("FeatureView", {}).values():
        assert isinstance(view, FeatureView)
        keys = join_keys(view, entities)
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
    return problems
