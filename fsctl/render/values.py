"""Short, stable text for values shown in plans (shared by the text and Markdown renderers)."""

from __future__ import annotations

import json
from typing import Any

from fsctl.definitions.values import format_duration

_DURATION_PATHS = ("ttl", "freshness")


def show(path: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if path.split(".")[-1] in _DURATION_PATHS and isinstance(value, int):
        return format_duration(value) if value else "0 (no limit)"
    if value == "*":
        return "(whole view)"
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, dict) and "dtype" in value:  # a feature
        text = str(value["dtype"])
        return text + (f' "{value["description"]}"' if value.get("description") else "")
    if isinstance(value, dict) and "feature_service" in value:  # a model version
        return f"{value.get('uri') or '(no uri)'} -> feature service {value['feature_service']}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(value) + "]"
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def object_summary(obj: dict[str, Any]) -> str:
    """One line about a canonical object: what a reader needs to recognise it."""
    kind = obj["kind"]
    if kind == "Entity":
        return "join keys: " + ", ".join(obj["join_keys"])
    if kind == "FileSource":
        return f"{obj['format']} at {obj['path']}"
    if kind == "FeatureView":
        ttl = format_duration(obj["ttl"]) if obj["ttl"] else "no limit"
        return (
            f"{plural(len(obj['schema']), 'feature')}, entities {', '.join(obj['entities'])}, "
            f"source {obj['source']}, ttl {ttl}"
        )
    if kind == "FeatureService":
        parts = [
            s["view"] + (f"[{', '.join(s['features'])}]" if s["features"] else "") for s in obj["features"]
        ]
        return ", ".join(parts)
    if kind == "Model":
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(obj["aliases"].items()))
        archived = sum(1 for v in obj["versions"] if v.get("archived"))
        versions = plural(len(obj["versions"]), "version") + (f" ({archived} archived)" if archived else "")
        return versions + (f"; {aliases}" if aliases else "")
    return ""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


SYMBOL = {"add": "+", "update": "~", "delete": "-"}
