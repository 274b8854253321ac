"""What a model version must carry when a protected alias points at it.

fsctl.yaml's ``models.required_metadata`` names the metadata a version behind a protected
alias (``models.protected_aliases``) must have. Enforcing it is a promotion gate's job (the
plan, when an alias moves onto a version); validation stays about well-formed definitions.
This module gives the facts the gate and ``describe`` need, over canonical dicts (the
registry's or the plan's), without pydantic.

What each name means:

* ``owner`` — the model's owner (versions have none);
* ``description``, ``tags``, ``metrics``, ``signature``, ``uri`` — the version's own, non-empty;
* ``tags.KEY`` — tag KEY on the version or, failing that, on the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REQUIRABLE_METADATA = ("owner", "description", "tags", "metrics", "signature", "uri")


def check_required_name(name: str) -> str | None:
    """Why ``name`` cannot be in ``required_metadata`` (None when it can)."""
    if name in REQUIRABLE_METADATA or (name.startswith("tags.") and len(name) > len("tags.")):
        return None
    return f"unknown metadata {name!r}: use {', '.join(REQUIRABLE_METADATA)} or tags.KEY"


def missing_metadata(model: Mapping[str, Any], version: Mapping[str, Any], required: Iterable[str]) -> list[str]:
    """The names of ``required`` that ``version`` (of ``model``) lacks, in the order given."""
    missing = []
    for name in required:
        if name == "owner":
            present = bool(model.get("owner"))
        elif name.startswith("tags."):
            key = name.removeprefix("tags.")
            present = bool((version.get("tags") or {}).get(key) or (model.get("tags") or {}).get(key))
        else:
            present = bool(version.get(name))
        if not present:
            missing.append(name)
    return missing


def protected_versions(model: Mapping[str, Any], protected_aliases: Iterable[str]) -> dict[int, list[str]]:
    """Version number -> the protected aliases pointing at it (sorted), for ``model``."""
    protected = set(protected_aliases)
    out: dict[int, list[str]] = {}
    for alias, number in sorted((model.get("aliases") or {}).items()):
        if alias in protected:
            out.setdefault(int(number), []).append(alias)
    return out
