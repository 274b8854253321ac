"""The result of ``fsctl codeowners``: the CODEOWNERS section of a project, and what was done
with it (printed, written, checked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRINTED, WRITTEN, UNCHANGED, UP_TO_DATE, STALE = "printed", "written", "unchanged", "up-to-date", "stale"


@dataclass(frozen=True)
class OwnerRule:
    path: str  # the CODEOWNERS pattern: /path/from/the/git/root
    owners: tuple[str, ...]
    because: tuple[str, ...]  # why each owner owns it: "Model churn_classifier (@ml) reads FeatureView x"


@dataclass(frozen=True)
class CodeOwners:
    project: str
    section: str  # the section's text, begin and end lines included, ending in a newline
    rules: tuple[OwnerRule, ...]
    problems: tuple[str, ...] = ()  # owners that are not GitHub owners, paths that cannot be patterns
    status: str = PRINTED  # printed | written | unchanged | up-to-date | stale
    file: str | None = None  # the CODEOWNERS file written or checked, as given or found
    diff: tuple[str, ...] = field(default=())  # for stale: a unified diff of the file, current -> expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "status": self.status,
            "file": self.file,
            "rules": [{"path": r.path, "owners": list(r.owners), "because": list(r.because)} for r in self.rules],
            "problems": list(self.problems),
            "section": self.section,
        }
