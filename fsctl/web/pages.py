"""The UI's pages: one function each, from the read model and the request's parameters to a
:class:`Page` (a template and JSON-ready data: the HTML page shows the data, ``/api/...``
answers it as it is). Pages call services and renderers only.

Every page takes ``at`` (``?at=VERSION``): the registry as of that past version.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from fsctl.definitions.sql_query import upstream_names
from fsctl.errors import UsageError
from fsctl.services import explore
from fsctl.services.explore import KIND_WORDS, WORD_KINDS
from fsctl.services.project import Project
from fsctl.services.registry_cache import LiveRegistry, PinnedRegistry

if TYPE_CHECKING:
    from fsctl.results.lineage import Branch, Lineage
    from fsctl.results.stats import StatsReport
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
    # ``fsctl stats VIEW --start --end`` on a registry version (the statistics page)
    take_stats: Callable[[PinnedRegistry, str, datetime | None, datetime | None], StatsReport] | None = None


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
    elif kind == "SqlSource":
        out["path"] = "SQL over " + ", ".join(upstream_names(doc.get("query", "")))
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
    if kind == "FileSource" and name in _objects(reg, "SqlSource"):  # a view links /sources/NAME
        kind, word = "SqlSource", "sql-sources"
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
    elif kind in ("Entity", "FileSource", "SqlSource"):
        key = "entities" if kind == "Entity" else "source"
        if kind == "SqlSource":
            data["upstreams"] = upstream_names(found.document.get("query", ""))
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


# -- statistics -----------------------------------------------------------------------------

STATS_SECONDS = 30.0  # how long a view's statistics over a window are kept, per registry version
CHART_WIDTH, CHART_HEIGHT = 160, 40


def _time(text: str | None, name: str) -> datetime | None:
    """``?start=``/``?end=``: ISO 8601, UTC without an offset (as ``fsctl stats --start``)."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"?{name}= must be an ISO-8601 time such as 2026-01-31T12:00:00Z, not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _chart(histogram: list[Doc]) -> Doc:
    """A histogram's bars in an SVG of ``CHART_WIDTH`` x ``CHART_HEIGHT`` (presentation
    attributes only: the CSP allows no inline style)."""
    top = max((b["count"] for b in histogram), default=0) or 1
    width = CHART_WIDTH / max(len(histogram), 1)
    bars = []
    for i, b in enumerate(histogram):
        height = round(CHART_HEIGHT * b["count"] / top, 2)
        bars.append({
            "x": round(i * width, 2), "y": round(CHART_HEIGHT - height, 2),
            "width": round(max(width - 1, 0.5), 2), "height": height,
            "title": f"[{b['lower']:.6g}, {b['upper']:.6g}{']' if i == len(histogram) - 1 else ')'}: {b['count']:,}",
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "bars": bars}


def view_stats_page(model: ReadModel, name: str, at: int | None, start_text: str | None, end_text: str | None) -> Page:
    """Statistics of a view's features over its source rows in ``[start, end)``: the data of
    ``fsctl stats VIEW --format json``. Kept ``STATS_SECONDS`` per version and window (the
    page scans the source)."""
    from fsctl.render.stats import quantile_label, stats_json
    from fsctl.results.stats import iso
    from fsctl.services.stats import EmptyWindow

    start, end = _time(start_text, "start"), _time(end_text, "end")
    if start is not None and end is not None and not start < end:
        raise BadRequest(f"?start= ({iso(start)}) must be before ?end= ({iso(end)})")
    reg = pinned(model, at)
    _require(reg, "FeatureView", name)
    if model.take_stats is None:
        raise NotFound("statistics are not available here")
    kept: dict[tuple[str, str | None, str | None], tuple[float, Doc]] = reg.extras.setdefault("stats", {})
    key, now = (name, iso(start), iso(end)), time.monotonic()
    if key in kept and now < kept[key][0]:
        data = kept[key][1]
    else:
        try:
            data = json.loads(stats_json(model.take_stats(reg, name, start, end)))
        except EmptyWindow as exc:  # the page says there are no rows; the CLI exits 2
            spec = _require(reg, "FeatureView", name)
            data = {"format": 1, "subject": {"kind": "view", "name": name, "version": None, "alias": None,
                                             "location": spec.get("source")},
                    "window": {"start": iso(start), "end": iso(end)}, "rows": 0, "features": [],
                    "baseline": None, "notes": [exc.message]}
        kept[key] = (now + STATS_SECONDS, data)
    charts = {f["name"]: _chart(f["histogram"]) for f in data["features"] if f["histogram"]}
    extra = {"charts": charts, "p50": quantile_label(0.5), "start": start_text or "", "end": end_text or ""}
    return Page("view_stats.html", f"Statistics of view {name}", data, at, extra)


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
