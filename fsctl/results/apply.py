"""The result of an apply or a teardown."""

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

    @property
    def written(self) -> bool:
        return self.version_after != self.version_before
