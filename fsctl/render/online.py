"""Online reads (``fsctl online``) as text and as the JSON of DESIGN.md.

Both render an :class:`fsctl.results.online.OnlineResponse` through its ``to_json_dict()``
(JSON-safe values, ISO-8601 times). JSON: ``{"rows": [{"entity": {...}, "features":
{NAME: {"value", "status", "event_timestamp"}}}]}``, one row per entity row in input order.
Text: one entity row is shown as a list of its features (value, status, event time); more
rows as a table with one column per join key and feature, where a cell that is not a plain
present value says why: ``(missing)``, ``(expired)``, or ``VALUE (expired)`` when the TTL
was ignored; a last line counts the statuses. When values are expired, one more line says
how many, the TTLs of their views, and what to do (``--ignore-ttl`` to see them, or a recent
materialization); JSON never has it (stdout stays machine-readable).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fsctl.definitions.values import format_duration
from fsctl.render.json_format import dumps

if TYPE_CHECKING:
    from fsctl.results.online import OnlineResponse

_MAX_CELL = 40
_STATUSES = ("present", "expired", "missing")
_NOW = '"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _cell(feature: dict[str, Any]) -> str:
    status, value = feature["status"], feature["value"]
    if status == "missing":
        return "(missing)"
    if status == "expired":
        return "(expired)" if value is None else f"{_show(value)} (expired)"
    return _show(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _summary(rows: list[dict[str, Any]], features: int) -> str:
    counts = dict.fromkeys(_STATUSES, 0)
    for row in rows:
        for feature in row["features"].values():
            counts[feature["status"]] = counts.get(feature["status"], 0) + 1
    parts = [f"{counts[s]} {s}" for s in _STATUSES if counts.get(s)]
    plural = "s" if len(rows) != 1 else ""
    return f"{len(rows)} entity row{plural}, {features} features: " + (", ".join(parts) or "no values")


def expired_note(response: OnlineResponse) -> str | None:
    """One line on the expired values of ``response`` (how many, the TTLs of their views)
    and how to see values, or None when no value is expired."""
    views: dict[str, int] = {}  # view -> expired values, in request order
    for ref, statuses in zip(response.refs, response.statuses, strict=True):
        expired = statuses.count("expired")
        if expired:
            view = ref.partition(":")[0]
            views[view] = views.get(view, 0) + expired
    if not views:
        return None
    total = sum(views.values())
    ttls = response.ttl_seconds
    names = [f"{view} ({format_duration(ttls.get(view, 0))})" for view in views]
    which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    what = f"{total} value is" if total == 1 else f"{total} values are"
    recent = f"materialize a recent window for newer values: fsctl materialize-incremental {_NOW}"
    if response.ignore_ttl:
        return f"{what} older than the TTL of {which}: shown because of --ignore-ttl; {recent}"
    return (
        f"{what} older than the TTL of {which}, so they came back null (expired): "
        f"add --ignore-ttl to see them anyway, or {recent}"
    )


def online_text(response: OnlineResponse) -> str:
    rows: list[dict[str, Any]] = response.to_json_dict()["rows"]
    if not rows:
        return "No entity rows."
    note = expired_note(response)
    if len(rows) == 1:
        row = rows[0]
        entity = ", ".join(f"{k}={_show(v)}" for k, v in row["entity"].items())
        lines = [
            [
                name,
                "-" if f["status"] == "missing" else _show(f["value"]),
                f["status"],
                f["event_timestamp"] or "-",
            ]
            for name, f in row["features"].items()
        ]
        table = _table(["FEATURE", "VALUE", "STATUS", "EVENT TIME"], lines)
        return f"{entity}\n\n{table}" + ("" if note is None else f"\n\n{note}")
    headers = [*rows[0]["entity"], *rows[0]["features"]]
    cells = [
        [_show(v) for v in row["entity"].values()] + [_cell(f) for f in row["features"].values()]
        for row in rows
    ]
    summary = _summary(rows, len(rows[0]["features"]))
    return _table(headers, cells) + f"\n\n{summary}" + ("" if note is None else f"\n{note}")


def online_json(response: OnlineResponse) -> str:
    return dumps(response.to_json_dict())
