"""Results of browsing the registry: objects of a kind, one object, its history, a version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsctl.diff import Plan


@dataclass(frozen=True)
class ObjectList:
    kind: str  # the YAML kind (FeatureView)
    objects: list[dict[str, Any]]  # canonical dicts, by name


@dataclass(frozen=True)
class AllObjects:
    """Every object of the registry, one ObjectList per kind in plan order."""

    groups: list[ObjectList]


@dataclass(frozen=True)
class ObjectDetail:
    kind: str
    name: str
    document: dict[str, Any]  # the canonical dict
    # Beside it: used_by (labels of views, services and model versions downstream), and for
    # a view its source document, entities (name -> join keys) and watermark (or None).
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    """Every registry version, oldest first: ``{"version", "applied_at", "actor", "commit",
    "plan_hash", "summary"}`` each (the JSON of ``registry history``)."""

    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RegistryDocument:
    """The whole registry document at one version (``registry show``)."""

    document: dict[str, Any]


@dataclass(frozen=True)
class VersionDiff:
    """What changed from registry version ``before`` to ``after`` (``registry diff``): a plan
    of ``after`` against ``before``, shown as changes, not as something to apply."""

    plan: Plan
    before: int
    after: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.plan.to_dict(), "from_version": self.before, "to_version": self.after}
