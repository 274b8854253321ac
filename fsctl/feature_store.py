"""``FeatureStore``: the Python entry point to a feature repo.

A thin facade over the services, for notebooks and pipelines::

    store = FeatureStore("example_repo")
    plan = store.plan()            # a fsctl.diff.Plan; plan.to_dict() is the JSON shape
    store.apply()                  # re-plans and applies (compare-and-swap, bounded retries)
    store.list("views")            # canonical dicts from the registry
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.diff import Plan
from fsctl.loader import RepoDefinitions, load_repo
from fsctl.registry import VersionInfo
from fsctl.services import apply as apply_service
from fsctl.services import browse
from fsctl.services.plan import make_plan
from fsctl.services.project import Project, open_project

if TYPE_CHECKING:
    from fsctl.offline import RetrievalResult
    from fsctl.services.online_response import OnlineResponse


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

    def get_historical_features(
        self,
        entity_df: Any,
        features: Sequence[str] | None = None,
        *,
        service: str | None = None,
        model: str | None = None,
        full_feature_names: bool = False,
        leakage_guard: bool = False,
    ) -> RetrievalResult:
        """A point-in-time correct training set for ``entity_df`` (a pyarrow Table, a pandas or
        polars DataFrame, or a parquet/CSV path holding the join keys and ``event_timestamp``).

        Name the features as ``["view:feature", ...]``, by ``service=NAME``, or by the service
        bound to ``model="NAME@ALIAS"`` / ``"NAME/VERSION"``. ``leakage_guard=True`` also
        requires each row's created time to be at or before the entity row's time. The
        result converts with ``to_arrow()`` / ``to_pandas()`` / ``to_polars()``, streams with
        ``to_batches()``, and writes with ``write(path)`` (parquet or CSV by extension).
        """
        from fsctl.services.retrieve import get_historical_features

        return get_historical_features(
            self.project,
            entity_df,
            features=list(features) if features is not None else None,
            service=service,
            model=model,
            full_feature_names=full_feature_names,
            leakage_guard=leakage_guard,
        )

    def get_online_features(
        self,
        features: Sequence[str] | None = None,
        *,
        service: str | None = None,
        model: str | None = None,
        entity_rows: Any,
        ignore_ttl: bool = False,
        full_feature_names: bool = False,
    ) -> OnlineResponse:
        """The latest values of the features for each entity row, from the online store.

        ``entity_rows`` is ``{"driver_id": [1001, 1002]}`` or ``[{"driver_id": 1001}, ...]``;
        name the features as ``["view:feature", ...]``, by ``service=NAME`` or by
        ``model="NAME@ALIAS"``. Each value has a status: ``present``, ``missing`` (no
        record) or ``expired`` (older than the view's TTL: null unless ``ignore_ttl``).
        ``to_columns()`` gives Feast's ``{name: [values]}``, ``to_dict()`` the JSON of
        ``fsctl online``. The registry is cached for ``FSCTL_REGISTRY_CACHE_SECONDS``
        (default 10) and the store stays open, so repeated calls cost microseconds.
        """
        reader = getattr(self, "_online_reader", None)
        if reader is None:
            from fsctl.services.online import OnlineReader

            reader = self._online_reader = OnlineReader(self.project)
        return reader.get(
            features,
            service=service,
            model=model,
            entity_rows=entity_rows,
            ignore_ttl=ignore_ttl,
            full_feature_names=full_feature_names,
        )
