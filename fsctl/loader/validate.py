"""Cross-object checks: dangling references (read off the dependency graph) and the rules
about a view's features.

Every check appends :class:`~fsctl.errors.Problem` objects; nothing raises, so
one run reports every problem in the repo.
"""

from __future__ import annotations

from collections.abc import Mapping

from fsctl.definitions import Entity, FeatureService, FeatureView, FsctlObject, Model
from fsctl.definitions import graph as graph_nodes
from fsctl.definitions.graph import DefinitionGraph, join_keys
from fsctl.errors import Problem, did_you_mean

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


def check_references(
    objects: Objects, graph: DefinitionGraph, broken: set[tuple[str, str]] | None = None
) -> list[Problem]:
    """Report every reference of the dependency ``graph`` to an object that is not defined,
    and the per-view rules on features. References to ``broken`` objects (which failed to
    load and are already reported) are not reported again."""
    problems: list[Problem] = []
    skip = {graph_nodes.object_node(kind, name) for kind, name in (broken or set()) if kind in graph_nodes.NODE_KINDS}
    names = {kind: list(objects.get(kind, {})) for kind in ("Entity", "FeatureView", "FeatureService")}
    names["FileSource"] = [n for kind in graph_nodes.SOURCE_KINDS for n in objects.get(kind, {})]
    for edge in graph.dangling():
        missing, user = edge.upstream, edge.downstream
        if missing in skip or (missing.kind == "source" and any((k, missing.name) in (broken or set()) for k in graph_nodes.SOURCE_KINDS)):
            continue
        if user.kind == "source":  # a SqlSource's query reads a source that is not defined
            problems.append(
                problem_at(
                    objects["SqlSource"][user.name],
                    f"the query reads source '{missing.name}', which is not defined",
                    edge.field,
                    did_you_mean(missing.name, names["FileSource"], "known"),
                )
            )
        elif user.kind == "view":
            obj = objects["FeatureView"][user.name]
            kind = "Entity" if missing.kind == "entity" else "FileSource"
            label = "entity" if missing.kind == "entity" else "source"
            problems.append(
                problem_at(
                    obj,
                    f"{label} '{missing.name}' is not defined",
                    edge.field,
                    did_you_mean(missing.name, names[kind], "known"),
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
                        did_you_mean(missing.name, names["FeatureView"], "known"),
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
                    did_you_mean(feature, view.feature_names, "known"),
                )
            )
        elif user.kind == "model_version":
            model_name, _, number = user.name.partition("/")
            problems.append(
                problem_at(
                    objects["Model"][model_name],
                    f"version {number} is bound to feature service '{missing.name}', which is not defined",
                    edge.field,
                    did_you_mean(missing.name, names["FeatureService"], "known"),
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
    for cycle in graph.source_cycles():
        first = cycle[0].name
        problems.append(
            problem_at(
                objects["SqlSource"][first] if first in objects.get("SqlSource", {}) else objects["FileSource"][first],
                "SQL sources read each other in a cycle: " + " -> ".join(n.name for n in cycle),
                "query",
                "a SQL source may read only sources that do not read it back",
            )
        )
    for name in sorted(set(objects.get("FileSource", {})) & set(objects.get("SqlSource", {}))):
        file_source, sql_source = objects["FileSource"][name], objects["SqlSource"][name]
        where = sql_source.origin
        problems.append(
            problem_at(
                file_source,
                f"a FileSource and a SqlSource are both named '{name}' (the other one is in "
                f"{where.file if where else '?'}{f':{where.line}' if where and where.line else ''})",
                "name",
                "views name their source by name alone: rename one of them",
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
        problems.extend(check_checks(view))
    return problems


_NUMERIC = ("int32", "int64", "float32", "float64")
# dtype -> (what an allowed value must be, the Python types that are, an example)
_ALLOWED_TYPES: dict[str, tuple[str, tuple[type, ...], str]] = {
    **dict.fromkeys(("int32", "int64"), ("whole numbers", (int,), "allowed: [1, 2, 3]")),
    **dict.fromkeys(("float32", "float64"), ("numbers", (int, float), "allowed: [0, 0.5, 1]")),
    "string": ("strings", (str,), "allowed: [paris, '75']: quote values that YAML reads as numbers"),
    "bool": ("true or false", (bool,), "allowed: [true]"),
}


def check_checks(view: FeatureView) -> list[Problem]:
    """A view's data checks against its schema: a check names a feature of the view;
    ``min``/``max`` need a numeric feature; ``allowed`` values have the feature's type
    (a scalar number, string or bool)."""
    problems: list[Problem] = []
    dtypes = {f.name: f.dtype for f in view.schema_}
    for feature, check in view.checks.items():
        where = f"checks.{feature}"
        dtype = dtypes.get(feature)
        if dtype is None:
            problems.append(
                problem_at(
                    view,
                    f"check on '{feature}', which is not in the schema",
                    where,
                    did_you_mean(feature, view.feature_names, "known"),
                )
            )
            continue
        for bound in ("min", "max"):
            if getattr(check, bound) is not None and dtype not in _NUMERIC:
                problems.append(
                    problem_at(
                        view,
                        f"'{bound}' checks numbers, and '{feature}' is {dtype}",
                        f"{where}.{bound}",
                        "use 'allowed' for strings and bools, or remove the check",
                    )
                )
        if check.allowed is None:
            continue
        if dtype not in _ALLOWED_TYPES:
            problems.append(
                problem_at(
                    view,
                    f"'allowed' lists values of numbers, strings or bools, and '{feature}' is {dtype}",
                    f"{where}.allowed",
                    "remove the check",
                )
            )
            continue
        what, types, example = _ALLOWED_TYPES[dtype]
        wrong = [v for v in check.allowed if not isinstance(v, types) or (bool not in types and isinstance(v, bool))]
        if wrong:
            shown = ", ".join(repr(v) for v in wrong[:5])
            problems.append(
                problem_at(
                    view,
                    f"'{feature}' is {dtype}, so its allowed values must be {what}; not {shown}",
                    f"{where}.allowed",
                    f"list values of the feature's type, e.g. {example}",
                )
            )
    return problems


def check_models(objects: Objects, broken: set[tuple[str, str]] | None = None) -> list[Problem]:
    """The rules of a Model that need the whole model or its services: an alias (and so
    traffic) may not point at an archived version, traffic names aliases, and an expected
    signature's inputs are features the bound service gives, with their dtypes."""
    from fsctl.definitions.training import service_output

    problems: list[Problem] = []
    skip = broken or set()
    views = objects.get("FeatureView", {})
    for model in objects.get("Model", {}).values():
        assert isinstance(model, Model)
        archived = {v.version for v in model.versions if v.archived}
        for alias, number in model.aliases.items():
            if number in archived:
                problems.append(
                    problem_at(
                        model,
                        f"alias '{alias}' points at version {number}, which is archived (an archived version "
                        "cannot be aliased or scored)",
                        f"aliases.{alias}",
                        f"point '{alias}' at a version in use, or remove 'archived: true' from version {number}",
                    )
                )
        for alias in model.traffic:
            if alias not in model.aliases:
                problems.append(
                    problem_at(
                        model,
                        f"traffic goes to '{alias}', which is not an alias of this model",
                        f"traffic.{alias}",
                        f"use its aliases ({', '.join(sorted(model.aliases)) or 'none'}) or add alias '{alias}'",
                    )
                )
        for i, version in enumerate(model.versions):
            service = objects.get("FeatureService", {}).get(version.feature_service)
            if version.signature is None or not isinstance(service, FeatureService):
                continue  # no signature, or a dangling service: reported by check_references
            if any(s.view not in views or ("FeatureView", s.view) in skip for s in service.features):
                continue  # its views are reported
            output = service_output(objects, version.feature_service) or []
            for name, dtype in version.signature.inputs.items():
                found = [o for o in output if name in (o.feature, f"{o.view}__{o.feature}")]
                where = f"versions[{i}].signature.inputs.{name}"
                if not found:
                    problems.append(
                        problem_at(
                            model,
                            f"version {version.version} expects input '{name}', which its feature service "
                            f"'{version.feature_service}' does not give",
                            where,
                            did_you_mean(name, [o.feature for o in output], "known"),
                        )
                    )
                elif len(found) > 1:
                    problems.append(
                        problem_at(
                            model,
                            f"version {version.version} expects input '{name}', which feature service "
                            f"'{version.feature_service}' gives from {len(found)} views",
                            where,
                            "name it view__feature: " + ", ".join(f"{o.view}__{o.feature}" for o in found),
                        )
                    )
                elif found[0].dtype != dtype:
                    problems.append(
                        problem_at(
                            model,
                            f"version {version.version} expects input '{name}' as {dtype}, but feature service "
                            f"'{version.feature_service}' gives {found[0].ref} as {found[0].dtype}",
                            where,
                            f"write {found[0].dtype} in the signature, or change the view's dtype",
                        )
                    )
    return problems
