"""The result of an apply or a teardown (of the whole project, or of one online store's tables)."""

from __future__ import annotations

from dataclasses import dataclass

from fsctl.diff import Plan


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    version_before: int
    version_after: int
    attempts: int = 1
    cancelled: bool = False
    seconds: float = 0.0  # how long the apply took
    # teardown: other online stores the project loaded, which still hold its tables and data
    other_stores: tuple[str, ...] = ()

    @property
    def written(self) -> bool:
        return self.version_after != self.version_before


@dataclass(frozen=True)
class TablesDrop:
    """``teardown --tables-only``: the project's tables in one online store (a store the
    project moved away from), to drop or dropped; the registry is not changed."""

    project: str
    store: str  # the online store's identity
    views: tuple[str, ...]
    dropped: bool = False
    cancelled: bool = False
