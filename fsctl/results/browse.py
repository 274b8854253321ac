"""Results of browsing the registry: objects of a kind, one object, its history, a version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ObjectList:
    kind: str  # the YAML kind (FeatureView)
    objects: list[dict[str, Any]]  # canonical dicts, by name


@dataclass(frozen=True)
class ObjectDetail:
    kind: str
    name: str
    document: dict[str, Any]  # the canonical dict


@dataclass(frozen=True)
class History:
    """Every registry version, oldest first: ``{"version", "applied_at", "actor", "commit",
    "plan_hash", "summary"}`` each (the JSON of ``registry history``)."""

    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RegistryDocument:
    """The whole registry document at one version (``registry show``)."""

    document: dict[str, Any]
