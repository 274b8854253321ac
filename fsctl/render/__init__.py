"""Renderers: one function per result type and format, and :func:`render`, the one table
that picks it (so no command chooses its own). Renderers are pure: a result in, text out;
they never import services, registries or stores.

Formats: ``text`` (plain, stable: golden files pin it), ``rich`` (the same text with rich
markup, for a terminal; falls back to ``text``), ``json`` (stable, documented), and
``markdown`` (plans, for pull-request comments), ``prometheus`` (``fsctl status``, for
node-exporter's textfile collector), ``svg`` (``fsctl lineage``, a drawing). Renderer modules are imported when used
(Markdown needs jinja2, object text needs yaml).
"""

from __future__ import annotations

import importlib
from typing import Any

from fsctl.errors import UsageError

# (result type name, format) -> "module:function" under fsctl.render
VIEWS: dict[tuple[str, str], str] = {
    ("Plan", "text"): "text:plan_text",
    ("Plan", "rich"): "text:plan_rich",
    ("Plan", "json"): "json_format:plan_json",
    ("Plan", "markdown"): "markdown:plan_markdown",
    ("VersionDiff", "text"): "text:diff_text",
    ("VersionDiff", "rich"): "text:diff_rich",
    ("VersionDiff", "json"): "json_format:diff_json",
    ("VersionDiff", "markdown"): "markdown:diff_markdown",
    ("ApplyResult", "text"): "apply:apply_text",
    ("TablesDrop", "text"): "apply:tables_drop_text",
    ("ValidationReport", "text"): "validation:validation_text",
    ("ValidationReport", "json"): "validation:validation_json",
    ("AllObjects", "text"): "browse:all_objects_table",
    ("AllObjects", "json"): "browse:all_objects_json",
    ("ObjectList", "text"): "browse:objects_table",
    ("ObjectList", "json"): "browse:objects_json",
    ("ObjectDetail", "text"): "browse:object_text",
    ("ObjectDetail", "json"): "browse:object_json",
    ("History", "text"): "browse:history_table",
    ("History", "json"): "browse:history_json",
    ("RegistryDocument", "text"): "browse:document_text",
    ("RegistryDocument", "json"): "browse:document_json",
    ("CodeOwners", "text"): "codeowners:codeowners_text",
    ("CodeOwners", "json"): "codeowners:codeowners_json",
    ("Lineage", "text"): "lineage:lineage_text",
    ("Lineage", "json"): "lineage:lineage_json",
    ("Lineage", "mermaid"): "lineage:lineage_mermaid",
    ("Lineage", "svg"): "lineage_svg:lineage_svg_view",
    ("HistoricalSummary", "text"): "retrieval:historical_text",
    ("HistoricalSummary", "json"): "retrieval:historical_json",
    ("ScoreSummary", "text"): "score:score_text",
    ("ScoreSummary", "json"): "score:score_json",
    ("CheckReport", "text"): "checks:check_text",
    ("CheckReport", "json"): "checks:check_json",
    ("MaterializeResult", "text"): "materialize:materialize_text",
    ("MaterializeResult", "json"): "materialize:materialize_json",
    ("OnlineResponse", "text"): "online:online_text",
    ("OnlineResponse", "json"): "online:online_json",
    ("StatusReport", "text"): "status:status_text",
    ("StatusReport", "json"): "status:status_json",
    ("StatusReport", "prometheus"): "status:status_prometheus",
    ("StatsReport", "text"): "stats:stats_text",
    ("StatsReport", "rich"): "stats:stats_rich",
    ("StatsReport", "json"): "stats:stats_json",
}


def has_view(result: Any, fmt: str) -> bool:
    return (type(result).__name__, fmt) in VIEWS


def render(result: Any, fmt: str) -> str:
    """``result`` in format ``fmt`` (``rich`` falls back to ``text`` where there is no markup)."""
    name = type(result).__name__
    target = VIEWS.get((name, fmt)) or (VIEWS.get((name, "text")) if fmt == "rich" else None)
    if target is None:
        formats = sorted(f for n, f in VIEWS if n == name)
        raise UsageError(f"no {fmt} output for this command", hint=f"use --format {' or '.join(formats)}")
    module, _, function = target.partition(":")
    return str(getattr(importlib.import_module(f"fsctl.render.{module}"), function)(result))
