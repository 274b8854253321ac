"""Text and JSON rendering of registry objects and history (list, describe, registry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fsctl.render.json_format import dumps
from fsctl.render.values import object_summary
from fsctl.results.browse import History, ObjectDetail, ObjectList, RegistryDocument


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def objects_table(result: ObjectList) -> str:
    kind, objects = result.kind, result.objects
    if not objects:
        return f"No {kind} objects in the registry."
    rows = [
        [o["name"], object_summary(o), o.get("owner", "") or "", o.get("description", "") or ""]
        for o in objects
    ]
    return _table(["NAME", "SUMMARY", "OWNER", "DESCRIPTION"], rows)


def objects_json(result: ObjectList) -> str:
    return dumps(result.objects)


def object_text(result: ObjectDetail) -> str:
    import yaml

    return yaml.safe_dump(result.document, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip()


def object_json(result: ObjectDetail) -> str:
    return dumps(result.document)


def history_table(result: History) -> str:
    if not result.entries:
        return "The registry has no versions yet."
    rows = []
    for e in reversed(result.entries):
        s = e.get("summary") or {}
        changes = f"+{s.get('add', 0)} ~{s.get('update', 0)} -{s.get('delete', 0)}"
        rows.append(
            [
                str(e["version"]),
                str(e.get("applied_at") or ""),
                str(e.get("actor") or ""),
                _short_commit(e.get("commit")),
                changes,
                (e.get("plan_hash") or "-")[:12],
            ]
        )
    text = _table(["VERSION", "APPLIED AT", "ACTOR", "COMMIT", "CHANGES", "PLAN"], rows)
    overrides = [(e["version"], a) for e in result.entries for a in e.get("allowed_breaking") or ()]
    if overrides:
        text += "\n\nAllowed by --allow-breaking:\n" + "\n".join(
            f"  version {v}: {a['kind']} {a['name']} (--allow-breaking {a['override']}) by {a['actor']}: {a['because']}"
            for v, a in overrides
        )
    return text


def history_json(result: History) -> str:
    return dumps(result.entries)


def document_json(result: RegistryDocument) -> str:
    return dumps(result.document)


def document_text(result: RegistryDocument) -> str:
    document = result.document
    lines = [
        f"Registry version {document.get('version')} of project {document.get('project')}",
        f"applied {document.get('applied_at')} by {document.get('actor')}"
        f" from commit {document.get('commit') or '-'}",
    ]
    current: dict[str, Any] = next(
        (h for h in document.get("history", []) if h.get("version") == document.get("version")), {}
    )
    for a in current.get("allowed_breaking") or ():
        lines.append(f"allowed by --allow-breaking {a['override']}: {a['kind']} {a['name']} ({a['because']}, by {a['actor']})")
    lines.append("")
    for kind, objects in document.get("objects", {}).items():
        if objects:
            lines.append(f"{kind}:")
            lines.extend(f"  {name}: {object_summary(obj)}" for name, obj in sorted(objects.items()))
    return "\n".join(lines)


def _short_commit(commit: str | None) -> str:
    """The first 12 characters of a commit, keeping its ``-dirty`` mark."""
    if not commit:
        return "-"
    dirty = commit.endswith("-dirty")
    return commit.removesuffix("-dirty")[:12] + ("-dirty" if dirty else "")
