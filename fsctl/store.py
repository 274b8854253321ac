"""``FeatureStore``: the Python entry point to a feature repo.

A thin facade over the services, for notebooks and pipelines::

    store = FeatureStore("example_repo")
    plan = store.plan()            # a fsctl.diff.Plan; plan.to_dict() is the JSON shape
    store.apply()                  # re-plans and applies (compare-and-swap, bounded retries)
    store.list("views")            # canonical dicts from the registry
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsctl.diff import Plan
from fsctl.loader import RepoDefinitions, load_repo
from fsctl.registry import VersionInfo
from fsctl.services import apply as apply_service
from fsctl.services import browse
from fsctl.services.plan import make_plan
from fsctl.services.project import Project, open_project


class FeatureStore:
    def __init__(self, repo_path: str | Path | None = None, registry: str | None = None) -> None:
        self.project: Project = open_project(repo_path, registry)

    @property
    def root(self) -> Path:
        return self.project.root

    def definitions(self) -> RepoDefinitions:
        """Load and validate the repo's definitions (raises DefinitionErrors listing every problem)."""
        return load_repo(self.project.root)

    def plan(self) -> Plan:
        return make_plan(self.project)[0]

    def apply(self) -> apply_service.ApplyResult:
        """Apply the definitions (no confirmation); raises PlanBlockedError if the plan is blocked."""
        return apply_service.apply_definitions(self.project)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return browse.describe(self.project, kind, name)

    def history(self) -> list[VersionInfo]:
        return browse.history(self.project)

    def list(self, kind: str) -> list[dict[str, Any]]:
        return browse.list_objects(self.project, kind)[1]
