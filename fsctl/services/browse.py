"""Use cases: list and describe registry objects, and browse registry versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsctl.definitions import graph as g
from fsctl.definitions.graph import build_graph
from fsctl.definitions.values import KIND_ORDER
from fsctl.diff import build_plan
from fsctl.errors import UsageError
from fsctl.registry import RegistryReader
from fsctl.results.browse import AllObjects, History, ObjectDetail, ObjectList, RegistryDocument, VersionDiff
from fsctl.services.catalog import nothing_applied
from fsctl.services.project import Project
from fsctl.state import StateStore

if TYPE_CHECKING:
    from fsctl.diff.plan import Gate
    from fsctl.services.plan import Lookouts

# Every way a user names a kind: the YAML kind, singular or plural, any case, with or
# without dashes or underscores (FeatureView, featureviews, feature-views, views, view).
_KIND_WORDS = {
    "Entity": ("entity", "entities"),
    "FileSource": ("filesource", "filesources", "source", "sources"),
    "SqlSource": ("sqlsource", "sqlsources"),
    "FeatureView": ("featureview", "featureviews", "view", "views"),
    "FeatureService": ("featureservice", "featureservices", "service", "services"),
    "Model": ("model", "models"),
}
KIND_ALIASES = {word: kind for kind, words in _KIND_WORDS.items() for word in words}
LIST_KINDS = ("entities", "sources", "views", "services", "models")


def resolve_kind(kind: str) -> str:
    found = KIND_ALIASES.get(kind.lower().replace("-", "").replace("_", ""))
    if found is None:
        raise UsageError(
            f"unknown kind '{kind}'",
            hint=f"use one of {', '.join(LIST_KINDS)} (or the kind names: {', '.join(_KIND_WORDS)})",
        )
    return found


def list_all(registry: RegistryReader) -> AllObjects:
    """Every object of the registry, grouped by kind (``fsctl list`` with no kind)."""
    snapshot = registry.read()
    if not snapshot.exists:
        raise nothing_applied(registry.location)
    groups = []
    for kind in KIND_ORDER:
        objects = snapshot.objects.get(kind, {})
        groups.append(ObjectList(kind, [objects[name] for name in sorted(objects)]))
    return AllObjects(groups)


def list_objects(registry: RegistryReader, kind: str) -> ObjectList:
    resolved = resolve_kind(kind)
    snapshot = registry.read()
    if not snapshot.exists:
        raise nothing_applied(registry.location)
    objects = snapshot.objects.get(resolved, {})
    return ObjectList(resolved, [objects[name] for name in sorted(objects)])


def describe(
    project: Project,
    registry: RegistryReader,
    kind: str,
    name: str,
    state: StateStore | None = None,
    lookouts: Lookouts | None = None,
) -> ObjectDetail:
    """One object, with what a reader of it wants beside it: its source and entities, the
    services and model versions that use it, (for a view, given ``state``) its watermark,
    and (for a model) the promotion gates of each protected alias as they stand now, the
    freshness gate looking through ``lookouts`` (unknown without)."""
    resolved = resolve_kind(kind)
    snapshot = registry.read()
    if not snapshot.exists:
        raise nothing_applied(registry.location)
    if resolved == "FileSource" and name in snapshot.objects.get("SqlSource", {}):
        resolved = "SqlSource"  # `describe sources NAME` finds either kind of source
    objects = snapshot.objects.get(resolved, {})
    if name not in objects:
        import difflib

        close = difflib.get_close_matches(name, list(objects), n=1)
        raise UsageError(
            f"no {resolved} named '{name}' in the registry {project.registry_uri} (version {snapshot.version})",
            hint=f"did you mean '{close[0]}'?" if close else f"see `fsctl list {kind}`",
        )
    context = _context(resolved, name, snapshot.objects, state, project.online_store)
    if resolved == "Model":
        context["gates"] = [g.to_dict() for g in gates_now(project, name, snapshot.objects, lookouts)]
    return ObjectDetail(resolved, name, objects[name], context)


def gates_now(
    project: Project, name: str, objects: dict[str, dict[str, dict[str, Any]]], lookouts: Lookouts | None
) -> tuple[Gate, ...]:
    """The promotion gates of the model's protected aliases as if each were promoted now:
    the registry as it is, against itself with those aliases not yet set (so ``beat_current``
    has nothing to beat)."""
    from fsctl.diff.gates import promotion_gates
    from fsctl.services.plan import observe

    model = objects["Model"][name]
    protected = {a: n for a, n in (model.get("aliases") or {}).items() if a in project.protected_aliases}
    if not protected:
        return ()
    before = {
        **objects,
        "Model": {
            **objects["Model"],
            name: {
                **model,
                "aliases": {a: n for a, n in (model.get("aliases") or {}).items() if a not in protected},
            },
        },
    }
    observed = observe(project, lookouts) if lookouts is not None else None
    desired = {**objects, "Model": {name: model}}
    return promotion_gates(before, desired, project.protected_aliases, project.required_metadata, observed)


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
    """What changed from version ``a`` to version ``b``, as a plan of ``b`` against ``a``:
    history, so without guard rails or promotion gates (which judge a plan by today's settings)."""
    before = registry.read_version(a) if a > 0 else {"objects": {}}
    after = registry.read_version(b)
    stores = (before.get("online_store"), after.get("online_store"))
    plan = build_plan(
        project.name,
        project.registry_uri,
        a,
        before.get("objects", {}),
        after.get("objects", {}),
        # a switch of online store between the versions, when both recorded theirs
        current_store=stores[0] if all(stores) else None,
        desired_store=stores[1] if all(stores) else None,
        guard_rails=False,
    )
    return VersionDiff(plan, a, b)


def _context(
    kind: str,
    name: str,
    objects: dict[str, dict[str, dict[str, Any]]],
    state: StateStore | None,
    store: str,
) -> dict[str, Any]:
    """What ``describe`` shows beside the object (see ObjectDetail.context)."""
    graph = build_graph(objects)
    node = g.object_node(kind, name)
    used_by = []
    rank = {"view": 0, "service": 1, "model_version": 2}
    below = [n for n in graph.downstream([node]) if n.kind in rank]
    if kind == "Model":  # its own versions are parts of it, not users of it
        below = [n for n in below if n.name.partition("/")[0] != name]
    for other in sorted(below, key=lambda n: (rank[n.kind], n.name)):
        if other.kind in ("view", "service"):
            used_by.append(f"{'FeatureView' if other.kind == 'view' else 'FeatureService'} {other.name}")
        elif other.kind == "model_version":
            model, _, number = other.name.partition("/")
            aliases = graph.aliases_of(other)
            used_by.append(f"Model {model} v{number}" + (f" ({', '.join(aliases)})" if aliases else ""))
    context: dict[str, Any] = {"used_by": used_by}
    doc = objects[kind][name]
    if kind == "FeatureView":
        context["source"] = g.find_source(objects, doc["source"])
        context["entities"] = {
            e: (objects.get("Entity", {}).get(e) or {}).get("join_keys", []) for e in doc.get("entities", [])
        }
        if state is not None:  # the watermark in the configured online store
            view_state = state.read().view_state(store, name)
            context["watermark"] = (
                view_state.watermark.isoformat() if view_state and view_state.watermark else None
            )
    if kind == "Model":
        context.update(_model_context(name, doc, objects))
    return context


def _model_context(
    name: str, doc: dict[str, Any], objects: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """For a model: what each version reads now (``reads``: version -> [{"ref", "dtype"}]),
    where that differs from its training snapshot (``gaps``: version -> [Gap.to_dict()]), and
    the ``lineage`` command to run for more."""
    from fsctl.definitions.training import service_output, snapshot_gaps

    reads, gaps = {}, {}
    for version in doc["versions"]:
        number = str(version["version"])
        output = service_output(objects, version["feature_service"]) or []
        reads[number] = [{"ref": o.ref, "dtype": o.dtype} for o in output]
        gaps[number] = [g.to_dict() for g in snapshot_gaps(name, version, objects)]
    aliases = doc.get("aliases") or {}
    preferred = [a for a in ("Production", "Champion", *sorted(aliases)) if a in aliases]
    target = f"{name}@{preferred[0]}" if preferred else f"{name}/{doc['versions'][-1]['version']}"
    return {"reads": reads, "gaps": gaps, "lineage": f"fsctl lineage {target}"}
