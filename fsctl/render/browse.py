"""Text and JSON rendering of registry objects and history (list, describe, registry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fsctl.model.fields import format_duration
from fsctl.registry import VersionInfo
from fsctl.render.json_format import dumps


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _summary(obj: dict[str, Any]) -> str:
    kind = obj["kind"]
    if kind == "Entity":
        return "join keys: " + ", ".join(obj["join_keys"])
    if kind == "FileSource":
        return f"{obj['format']} at {obj['path']}"
    if kind == "FeatureView":
        ttl = format_duration(obj["ttl"]) if obj["ttl"] else "no limit"
        return f"{len(obj['schema'])} features, entities {', '.join(obj['entities'])}, source {obj['source']}, ttl {ttl}"
    if kind == "FeatureService":
        parts = [
            s["view"] + (f"[{', '.join(s['features'])}]" if s["features"] else "") for s in obj["features"]
        ]
        return ", ".join(parts)
    if kind == "Model":
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(obj["aliases"].items()))
        return f"{len(obj['versions'])} versions" + (f"; {aliases}" if aliases else "")
    return ""


def objects_table(kind: str, objects: list[dict[str, Any]]) -> str:
    if not objects:
        return f"No {kind} objects in the registry."
    rows = [
        [o["name"], _summary(o), o.get("owner", "") or "", o.get("description", "") or ""] for o in objects
    ]
    return _table(["NAME", "SUMMARY", "OWNER", "DESCRIPTION"], rows)


def objects_json(value: Any) -> str:
    return dumps(value)


def object_text(obj: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip()


def history_table(entries: list[VersionInfo]) -> str:
    if not entries:
        return "The registry has no versions yet."
    rows = []
    for e in reversed(entries):
        s = e.summary
        changes = f"+{s.get('add', 0)} ~{s.get('update', 0)} -{s.get('delete', 0)}"
        rows.append(
            [
                str(e.version),
                e.applied_at,
                e.actor,
                (e.commit or "-")[:12],
                changes,
                (e.plan_hash or "-")[:12],
            ]
        )
    return _table(["VERSION", "APPLIED AT", "ACTOR", "COMMIT", "CHANGES", "PLAN"], rows)


def history_json(entries: list[VersionInfo]) -> str:
    return dumps([e.to_dict() for e in entries])


def document_text(document: dict[str, Any]) -> str:
    lines = [
        f"Registry version {document.get('version')} of project {document.get('project')}",
        f"applied {document.get('applied_at')} by {document.get('actor')}"
        f" from commit {document.get('commit') or '-'}",
        "",
    ]
    for kind, objects in document.get("objects", {}).items():
        if objects:
            lines.append(f"{kind}:")
            lines.extend(f"  {name}: {_summary(obj)}" for name, obj in sorted(objects.items()))
    return "\n".join(lines)
