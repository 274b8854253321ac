"""The UI's pages: one function each, from the read model and the request's parameters to a
:class:`Page` (a template and JSON-ready data: the HTML page shows the data, ``/api/...``
answers it as it is). Pages call services and renderers only.

Every page takes ``at`` (``?at=VERSION``): the registry as of that past version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsctl.errors import UsageError
from fsctl.services import explore
from fsctl.services.explore import KIND_WORDS, WORD_KINDS
from fsctl.services.project import Project
from fsctl.services.registry_cache import LiveRegistry, PinnedRegistry

if TYPE_CHECKING:
    from fsctl.results.lineage import Branch, Lineage
    from fsctl.services.plan import Lookouts
    from fsctl.state import StateStore

Doc = dict[str, Any]


class NotFound(Exception):
    """An unknown page, kind, object or version: a 404."""


class BadRequest(Exception):
    """A parameter that does not parse: a 400."""


@dataclass
class ReadModel:
    """What the pages read. ``state`` and ``lookouts`` reach the state document (watermarks,
    gates); ``take_status`` runs the status service on a registry version (freshness
    badges). Any of them None: not shown."""

    project: Project
    live: LiveRegistry
    state: Callable[[], StateStore] | None = None
    lookouts: Lookouts | None = None
    take_status: Callable[[PinnedRegistry], Any] | None = None


@dataclass(frozen=True)
class Page:
    template: str
    title: str
    data: Doc
    at: int | None = None  # the past version browsed, if any
    extra: Doc = field(default_factory=dict)  # for the HTML only (pre-rendered text, ...)


def pinned(model: ReadModel, at: int | None) -> PinnedRegistry:
    try:
        return model.live.at(at)
    except UsageError as exc:
        raise NotFound(exc.message) from None


def kind_of(word: str) -> str:
    kind = WORD_KINDS.get(word)
    if kind is None:
        raise NotFound(f"no such page: /{word} (the kinds are {', '.join(WORD_KINDS)})")
    return kind


def _objects(reg: PinnedRegistry, kind: str) -> dict[str, Doc]:
    return reg.snapshot.objects.get(kind, {})


def _require(reg: PinnedRegistry, kind: str, name: str) -> Doc:
    doc = _objects(reg, kind).get(name)
    if doc is None:
        raise NotFound(f"no {kind} named '{name}' in registry version {reg.version}")
    return doc


def _freshness(model: ReadModel, reg: PinnedRegistry) -> Doc:
    if model.take_status is None:
        return {"views": {}, "error": "the state document is not read"}
    return explore.freshness(reg, model.take_status)


# -- overview and lists ---------------------------------------------------------------------


def overview(model: ReadModel, at: int | None) -> Page:
    reg = pinned(model, at)
    data = explore.overview(reg, model.project.name)
    if reg.current and reg.version:
        fresh = _freshness(model, reg)
        data["freshness"] = {
            "error": fresh["error"],
            "views": {n: {"fresh": v["fresh"], "problems": v["problems"]} for n, v in fresh["views"].items()},
        }
    return Page("overview.html", f"{data['project']} — overview", data, at)


def _summary(kind: str, doc: Doc) -> Doc:
    out: Doc = {
        "name": doc["name"],
        "description": doc.get("description") or "",
        "owner": doc.get("owner") or "",
        "tags": doc.get("tags") or {},
    }
    if kind == "Entity":
        out["join_keys"] = doc.get("join_keys", [])
    elif kind == "FileSource":
        out["path"] = doc.get("path")
    elif kind == "FeatureView":
        out.update(entities=doc.get("entities", []), source=doc.get("source"), online=doc.get("online", True),
                   features=len(doc.get("schema", [])))
    elif kind == "FeatureService":
        out["views"] = [s["view"] for s in doc.get("features", [])]
    elif kind == "Model":
        out.update(versions=[v["version"] for v in doc.get("versions", [])], aliases=doc.get("aliases") or {})
    return out


def object_list(model: ReadModel, word: str, at: int | None) -> Page:
    kind = kind_of(word)
    reg = pinned(model, at)
    objects = _objects(reg, kind)
    data = {
        "kind": kind,
        "word": word,
        "registry_version": reg.version,
        "objects": [_summary(kind, objects[n]) for n in sorted(objects)],
    }
    return Page("list.html", f"{word.capitalize()}", data, at)


# -- details --------------------------------------------------------------------------------


def detail(model: ReadModel, word: str, name: str, at: int | None) -> Page:
    from fsctl.services.browse import describe

    kind = kind_of(word)
    reg = pinned(model, at)
    _require(reg, kind, name)
    state = model.state() if (model.state is not None and reg.current and kind == "FeatureView") else None
    lookouts = model.lookouts if reg.current else None
    found = describe(model.project, reg, kind, name, state, lookouts)
    data: Doc = {
        "kind": kind,
        "word": word,
        "name": name,
        "registry_version": reg.version,
        "document": found.document,
        "context": found.context,
    }
    objects = reg.snapshot.objects
    if kind == "FeatureView":
        fresh = _freshness(model, reg) if reg.current else {"views": {}, "error": None}
        data["status"] = fresh["views"].get(name)
        data["status_error"] = fresh["error"]
        data["services"] = sorted(
            s for s, doc in _objects(reg, "FeatureService").items()
            if any(f["view"] == name for f in doc.get("features", []))
        )
    elif kind == "FeatureService":
        data["features"] = [
            {
                "view": s["view"],
                "features": s.get("features")
                or [f["name"] for f in (objects.get("FeatureView", {}).get(s["view"]) or {}).get("schema", [])],
                "all": not s.get("features"),
            }
            for s in found.document.get("features", [])
        ]
        data["models"] = _bound_models(objects, name)
    elif kind == "Model":
        data.update(_model_page(found.document, found.context))
    elif kind in ("Entity", "FileSource"):
        key = "entities" if kind == "Entity" else "source"
        data["views"] = sorted(
            v for v, doc in _objects(reg, "FeatureView").items()
            if (name in doc.get("entities", []) if key == "entities" else doc.get("source") == name)
        )
    return Page(f"{word}_detail.html", f"{kind} {name}", data, at)


def _bound_models(objects: dict[str, dict[str, Doc]], service: str) -> list[Doc]:
    bound = []
    for model_name, doc in sorted(objects.get("Model", {}).items()):
        aliases = doc.get("aliases") or {}
        for version in doc.get("versions", []):
            if version.get("feature_service") == service:
                number = version["version"]
                bound.append(
                    {
                        "model": model_name,
                        "version": number,
                        "aliases": sorted(a for a, n in aliases.items() if n == number),
                    }
                )
    return bound


def _model_page(doc: Doc, context: Doc) -> Doc:
    versions = doc.get("versions", [])
    aliases = doc.get("aliases") or {}
    metrics = sorted({m for v in versions for m in (v.get("metrics") or {})})
    return {
        "versions": [
            {
                "version": v["version"],
                "uri": v.get("uri"),
                "feature_service": v.get("feature_service"),
                "description": v.get("description") or "",
                "tags": v.get("tags") or {},
                "metrics": v.get("metrics") or {},
                "archived": bool(v.get("archived")),
                "aliases": sorted(a for a, n in aliases.items() if n == v["version"]),
                "reads": context.get("reads", {}).get(str(v["version"]), []),
                "gaps": context.get("gaps", {}).get(str(v["version"]), []),
            }
            for v in versions
        ],
        "metric_names": metrics,
        "aliases": aliases,
        "traffic": doc.get("traffic") or {},
        "gates": context.get("gates", []),
        "services": sorted({v.get("feature_service") for v in versions if v.get("feature_service")}),
    }


# -- lineage --------------------------------------------------------------------------------


def node_link(kind: str, name: str) -> str | None:
    """The UI path of a lineage node (None: no page of its own)."""
    from urllib.parse import quote

    if kind in ("entity", "source", "view", "service", "model"):
        return f"/{ {'entity': 'entities'}.get(kind, kind + 's') }/{quote(name, safe='')}"
    if kind == "feature":
        return f"/views/{quote(name.partition(':')[0], safe='')}"
    if kind == "model_version":
        return f"/models/{quote(name.rpartition('/')[0], safe='')}"
    if kind == "alias":
        return f"/models/{quote(name.partition('@')[0], safe='')}"
    return None


def _tree(lineage: Lineage, branch: Branch | None) -> Doc | None:
    if branch is None:
        return None
    node = lineage.node(branch.node)
    return {
        "id": node.id,
        "kind": node.kind,
        "name": node.name,
        "link": node_link(node.kind, node.name),
        "protected": node.protected,
        "repeated": branch.repeated,
        "features": list(branch.features),
        "children": [_tree(lineage, c) for c in branch.children],
    }


def lineage_svg(lineage: Lineage) -> str | None:
    """The server-side SVG of the graph (``fsctl.render.lineage_svg``, being written on
    another branch); None while that renderer is not installed."""
    try:
        module = importlib.import_module("fsctl.render.lineage_svg")
    except ImportError:
        return None
    svg = module.lineage_svg(lineage)
    return str(svg)


def lineage_page(model: ReadModel, word: str, name: str, at: int | None) -> Page:
    from fsctl.services.catalog import Catalog
    from fsctl.services.lineage import build_lineage

    kind = kind_of(word)
    reg = pinned(model, at)
    _require(reg, kind, name)
    catalog = Catalog.of(model.project, reg.snapshot.objects, reg.version)
    lineage = build_lineage(catalog, f"{kind}/{name}")
    data = {
        "kind": kind,
        "word": word,
        "name": name,
        **lineage.to_dict(),
        "upstream_tree": _tree(lineage, lineage.upstream),
        "downstream_tree": _tree(lineage, lineage.downstream),
        "links": {n.id: node_link(n.kind, n.name) for n in lineage.nodes},
    }
    return Page("lineage.html", f"Lineage of {kind} {name}", data, at, {"svg": lineage_svg(lineage)})


# -- history --------------------------------------------------------------------------------


def history(model: ReadModel, at: int | None) -> Page:
    from fsctl.services.browse import history as history_service

    reg = pinned(model, at)
    entries = list(reversed(history_service(reg).entries))
    return Page("history.html", "Registry history", {"registry_version": reg.version, "versions": entries}, at)


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise BadRequest(f"?{name}= must be a registry version number, not {value!r}") from None


def history_diff(model: ReadModel, a_text: str | None, b_text: str | None) -> Page:
    """What changed from version ``a`` to ``b``, rendered by the CLI's plan renderer
    (``fsctl registry diff A B``)."""
    from fsctl.errors import RegistryError
    from fsctl.render import render
    from fsctl.services.browse import diff_versions

    a, b = _int(a_text, "a"), _int(b_text, "b")
    reg = model.live.current()
    for version in (a, b):
        if version < 0 or version > reg.version or (version == 0 and version == b):
            raise NotFound(f"the registry has no version {version} (versions 1..{reg.version})")
    try:
        result = diff_versions(model.project, reg, a, b)
    except RegistryError as exc:
        if "not kept" in exc.message or "no version" in exc.message:
            raise NotFound(exc.message) from None
        raise
    text = render(result, "text")
    data = {"a": a, "b": b, "text": text, "diff": result.to_dict()}
    return Page("diff.html", f"Registry diff {a} → {b}", data)


def object_history(model: ReadModel, word: str, name: str, at: int | None) -> Page:
    kind = kind_of(word)
    reg = pinned(model, at)
    data = explore.object_history(model.live, reg, kind, name)
    if not data["changes"]:
        raise NotFound(f"no {kind} named '{name}' in any registry version up to {reg.version}")
    data["word"] = word
    return Page("object_history.html", f"History of {kind} {name}", data, at)


# -- search ---------------------------------------------------------------------------------


def search(model: ReadModel, q: str, at: int | None) -> Page:
    reg = pinned(model, at)
    data = explore.search(reg, q)
    return Page("search.html", f"Search: {q}" if q else "Search", data, at)


__all__ = ["KIND_WORDS", "BadRequest", "NotFound", "Page", "ReadModel"]
