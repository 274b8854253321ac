"""Text and JSON rendering of registry objects and history (list, describe, registry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fsctl.definitions.values import format_duration
from fsctl.render.json_format import dumps
from fsctl.render.values import object_summary
from fsctl.results.browse import AllObjects, History, ObjectDetail, ObjectList, RegistryDocument


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


def all_objects_table(result: AllObjects) -> str:
    parts = [f"{_PLURAL[g.kind]} ({len(g.objects)})\n" + objects_table(g) for g in result.groups if g.objects]
    return "\n\n".join(parts) if parts else "The registry has no objects."


def all_objects_json(result: AllObjects) -> str:
    return dumps({g.kind: g.objects for g in result.groups})


_PLURAL = {
    "Entity": "Entities",
    "FileSource": "Sources",
    "SqlSource": "SQL sources",
    "FeatureView": "Feature views",
    "FeatureService": "Feature services",
    "Model": "Models",
}


def object_text(result: ObjectDetail) -> str:
    """A readable page: what the object is, its parts, and what uses it (durations as
    written, not seconds)."""
    doc, ctx = result.document, result.context
    lines = [f"{result.kind} {result.name}"]
    if doc.get("description"):
        lines.append(f"  {doc['description']}")
    meta = [f"owner {doc['owner']}"] if doc.get("owner") else []
    meta += [f"tags {', '.join(f'{k}={v}' for k, v in sorted(doc['tags'].items()))}"] if doc.get("tags") else []
    if meta:
        lines.append("  " + "; ".join(meta))
    lines.append("")
    lines += _BODY[result.kind](doc, ctx)
    used = ctx.get("used_by") or []
    lines += ["", "Used by:" if used else "Used by: nothing"] + [f"  {label}" for label in used]
    return "\n".join(lines).rstrip()


def _entity(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    return [f"join keys: {', '.join(doc['join_keys'])}"]


def _source(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    pin = f", version {doc['version']}" if doc.get("version") is not None else ""
    pin += f", as of {doc['timestamp']}" if doc.get("timestamp") else ""
    lines = [
        f"path:             {doc['path']} ({doc.get('format', 'parquet')}{pin})",
        f"event time:       {doc.get('timestamp_field', 'event_timestamp')}",
        f"created time:     {doc.get('created_timestamp_field') or '(none)'}",
    ]
    mapping = doc.get("field_mapping") or {}
    if mapping:
        lines.append("field mapping:    " + ", ".join(f"{c} -> {n}" for c, n in sorted(mapping.items())))
    return lines


def _view(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    source = ctx.get("source") or {}
    if source and "query" in source:
        where = " (a SQL source)"
    else:
        where = f" ({source['path']}, {source.get('format', 'parquet')})" if source else ""
    entities = ctx.get("entities") or {}
    lines = [
        f"source:     {doc['source']}{where}",
        "entities:   " + ", ".join(f"{e} [{_keys(keys, doc.get('key_dtypes') or {})}]" for e, keys in entities.items()),
        f"ttl:        {format_duration(doc['ttl']) if doc.get('ttl') else 'no limit'}",
        f"online:     {'yes' if doc.get('online', True) else 'no'}",
    ]
    if doc.get("freshness"):
        lines.append(f"freshness:  {format_duration(doc['freshness'])}")
    if "watermark" in ctx:
        lines.append(f"watermark:  {ctx['watermark'] or 'never materialized'}")
    features = [[f["name"], f["dtype"], f.get("description", "")] for f in doc["schema"]]
    aggregations = {a["name"]: a for a in doc.get("aggregations") or ()}
    if aggregations:  # issue 17: each feature is computed; say how
        lines.insert(3, f"slide:      {format_duration(doc['slide']) if doc.get('slide') else 'none (every event)'}")
        for row in features:
            a = aggregations[row[0]]
            row.insert(2, f"{a['function']}({a['column']}) over {format_duration(a['window'])}")
        inputs = ", ".join(f"{f['name']} {f['dtype']}" for f in doc.get("inputs") or ())
        lines += ["", f"inputs:     {inputs}"]
    header = ["NAME", "DTYPE"] + (["AGGREGATION"] if aggregations else []) + ["DESCRIPTION"]
    lines += ["", f"Features ({len(features)}):", _indent(_table(header, features))]
    checks = doc.get("checks") or {}
    rows = doc.get("row_checks") or {}
    if checks or rows:
        lines += ["", f"Checks (check_policy: {doc.get('check_policy') or 'reject'}):"] + [
            f"  {name}: " + ", ".join(f"{k} {_check_value(v)}" for k, v in rules.items() if v is not None)
            for name, rules in checks.items()
        ]
        if rows:
            lines.append("  rows: " + ", ".join(f"{k} {_check_value(v)}" for k, v in rows.items()))
    return lines


def _check_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _keys(keys: list[str], dtypes: dict[str, str]) -> str:
    return ", ".join(f"{k} {dtypes[k]}" if k in dtypes else k for k in keys)


def _service(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    lines = ["Features:"]
    for selection in doc["features"]:
        chosen = selection.get("features")
        lines.append(f"  {selection['view']}: {', '.join(chosen) if chosen else '(the whole view)'}")
    return lines


def _model(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    """Versions side by side (one column each), aliases and traffic, then per version what it
    reads now against its training snapshot, its signature, and where to see its lineage."""
    versions = doc["versions"]
    by_version: dict[int, list[str]] = {}
    for alias, number in sorted((doc.get("aliases") or {}).items(), key=lambda a: (a[1], a[0])):
        by_version.setdefault(number, []).append(alias)
    metrics = sorted({m for v in versions for m in v.get("metrics") or {}})
    rows = [
        ["aliases", *(", ".join(by_version.get(v["version"], [])) or "-" for v in versions)],
        ["status", *("archived" if v.get("archived") else "active" for v in versions)],
        ["feature service", *(v["feature_service"] for v in versions)],
        ["uri", *(v.get("uri") or "-" for v in versions)],
        *([m, *(_number((v.get("metrics") or {}).get(m)) for v in versions)] for m in metrics),
        ["signature", *(_signature_short(v.get("signature")) for v in versions)],
        ["snapshot", *(_snapshot_short(v.get("training_snapshot")) for v in versions)],
    ]
    lines = ["Versions:", _indent(_table(["", *(f"v{v['version']}" for v in versions)], rows))]
    aliases = doc.get("aliases") or {}
    if aliases:
        shown = ", ".join(f"{a} -> v{n}" for a, n in sorted(aliases.items(), key=lambda a: (a[1], a[0])))
        lines += ["", f"Aliases: {shown}"]
    if doc.get("traffic"):
        lines.append("Traffic: " + ", ".join(f"{a} {p}%" for a, p in doc["traffic"].items()))
    lines += _gates(ctx.get("gates") or [])
    for version in versions:
        lines += ["", *_version_reads(version, ctx)]
    if ctx.get("lineage"):
        lines += ["", f"Lineage: {ctx['lineage']}"]
    return lines


def _gates(gates: list[dict[str, Any]]) -> list[str]:
    """The promotion gates of each protected alias as they stand now (what a plan moving the
    alias onto its version would check)."""
    lines: list[str] = []
    by_alias: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for gate in gates:
        by_alias.setdefault((gate["alias"], gate["version"]), []).append(gate)
    for (alias, version), found in by_alias.items():
        lines += ["", f"Gates of {alias} -> v{version} (as they stand now):"]
        lines += [f"  {g['status']:<8} {g['name']}: {g['detail']}" for g in found]
    return lines


def _version_reads(version: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    number = str(version["version"])
    head = f"Version {number}" + (f": {version['description']}" if version.get("description") else "")
    lines = [head + (" (archived)" if version.get("archived") else "")]
    if version.get("tags"):
        lines.append("  tags: " + ", ".join(f"{k}={v}" for k, v in sorted(version["tags"].items())))
    reads = (ctx.get("reads") or {}).get(number, [])
    lines.append(f"  reads {version['feature_service']} ({len(reads)} feature{'' if len(reads) == 1 else 's'}):")
    lines += [f"    {line}" for line in _table(["FEATURE", "DTYPE"], [[r["ref"], r["dtype"]] for r in reads]).splitlines()]
    snapshot = version.get("training_snapshot")
    if snapshot:
        where = f"registry version {snapshot.get('registry_version')}, fingerprint {str(snapshot.get('fingerprint'))[:12]}"
        gaps = (ctx.get("gaps") or {}).get(number, [])
        if not gaps:
            lines.append(f"  trained on ({where}): what it reads now")
        else:
            lines.append(f"  trained on ({where}), which it no longer gets as it was:")
            lines += [
                f"    {g['feature']} {g['trained']}: " + (f"now {g['now']}" if g["now"] else "no longer given")
                for g in gaps
            ]
    else:
        lines.append("  trained on: not recorded (applied by an older fsctl; the next apply that changes something records it)")
    signature = version.get("signature")
    if signature:
        inputs = ", ".join(f"{k} {v}" for k, v in signature["inputs"].items())
        output = ", ".join(f"{k} {v}" for k, v in signature["output"].items())
        lines.append(f"  signature: {inputs} -> {output}")
    return lines


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _signature_short(signature: dict[str, Any] | None) -> str:
    if not signature:
        return "-"
    (name, dtype), = signature["output"].items()
    count = len(signature["inputs"])
    return f"{count} input{'' if count == 1 else 's'} -> {name} {dtype}"


def _snapshot_short(snapshot: dict[str, Any] | None) -> str:
    if not snapshot:
        return "not recorded"
    count = len(snapshot.get("features", []))
    return f"{count} feature{'' if count == 1 else 's'}, {str(snapshot.get('fingerprint'))[:12]}"


def _sql_source(doc: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    return [
        f"event time:       {doc.get('timestamp_field', 'event_timestamp')}",
        f"created time:     {doc.get('created_timestamp_field') or '(none)'}",
        "query:",
        *(f"  {line}" for line in doc["query"].rstrip().splitlines()),
    ]


_BODY = {"Entity": _entity, "FileSource": _source, "SqlSource": _sql_source, "FeatureView": _view, "FeatureService": _service, "Model": _model}


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


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
    switches = [(e["version"], e["online_store_change"]) for e in result.entries if e.get("online_store_change")]
    if switches:
        text += "\n\nOnline store switches:\n" + "\n".join(
            f"  version {v}: {change['from']} -> {change['to']}" for v, change in switches
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
