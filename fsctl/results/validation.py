"""The result of ``fsctl validate``: the objects found, or every problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from fsctl.errors import Problem


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    objects: dict[str, int] = field(default_factory=dict)  # kind -> count
    files: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.objects.values())
