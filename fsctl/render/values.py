"""Short, stable text for values shown in plans (shared by the text and Markdown renderers)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fsctl.definitions.sql_query import upstream_names
from fsctl.definitions.values import format_duration

if TYPE_CHECKING:
    from fsctl.diff.plan import Chain, Change, FieldChange, Gate, Plan

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
        pin = f" version {obj['version']}" if obj.get("version") is not None else ""
        pin += f" as of {obj['timestamp']}" if obj.get("timestamp") else ""
        return f"{obj['format']} at {obj['path']}{pin}"
    if kind == "SqlSource":
        return "SQL over " + ", ".join(upstream_names(obj["query"]))
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


def alias_fields(change: Change) -> list[FieldChange]:
    """The alias fields of a Model update (``aliases.NAME``): each is shown as its own item."""
    if change.kind != "Model" or change.action != "update":
        return []
    return [f for f in change.fields if f.path.startswith("aliases.")]


def alias_item(model: str, f: FieldChange, plan: Plan) -> str:
    """``~ churn_classifier: Production 1 -> 2  [alias move, protected: promotion gates below]``."""
    alias = f.path.split(".", 1)[1]
    gated = any(g.model == model and g.alias == alias for g in plan.gates)
    tail = ", protected: promotion gates below" if gated else ""
    if f.before is None:
        return f"+ {model}: {alias} -> {f.after}  [alias added{tail}]"
    if f.after is None:
        return f"- {model}: {alias} {f.before} removed  [alias removed, breaking]"
    return f"~ {model}: {alias} {f.before} -> {f.after}  [alias move{tail}]"


def chain_link(chain: Chain, i: int) -> str:
    link = chain.links[i]
    if i == len(chain.links) - 1 and chain.alias is not None and chain.protected:
        return f"{link} (protected)"
    return link


def chain_text(chain: Chain) -> str:
    """A chain on one line; links are joined by ``=>`` (the change itself may hold ``->``)."""
    return " => ".join(chain_link(chain, i) for i in range(len(chain.links)))


def group_gates(plan: Plan) -> dict[tuple[str, str, int, int | None], list[Gate]]:
    """The plan's gates by promotion: (model, alias, version, the version the alias left or None)."""
    out: dict[tuple[str, str, int, int | None], list[Gate]] = {}
    for gate in plan.gates:
        before = None
        for change in plan.changes:
            if change.kind == "Model" and change.name == gate.model:
                before = next((f.before for f in change.fields if f.path == f"aliases.{gate.alias}"), None)
        out.setdefault((gate.model, gate.alias, gate.version, before), []).append(gate)
    return out
