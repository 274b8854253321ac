"""Use case: historical (point-in-time) retrieval of the features of a
:class:`~fsctl.services.features.FeatureRequest`.

Features are resolved against the *registry* (what was applied), like every reader of
the feature store, so a training set is built from the definitions that serve the model.
The request goes to the offline engine as an engine-neutral
:class:`~fsctl.offline.requests.PointInTimeRequest`.
"""

from __future__ import annotations

from typing import Any

from fsctl.offline import FeatureRef, OfflineEngine, PointInTimeRequest, RetrievalResult
from fsctl.offline.base import Progress
from fsctl.offline.entity_input import entity_input
from fsctl.offline.naming import output_name
from fsctl.registry import RegistryReader
from fsctl.services.catalog import Catalog
from fsctl.services.features import FeatureRequest
from fsctl.services.project import Project


def point_in_time_request(
    catalog: Catalog, entities: Any, request: FeatureRequest, leakage_guard: bool = False
) -> PointInTimeRequest:
    pairs = catalog.resolve(request)
    views = {name: catalog.view_spec(name) for name in dict.fromkeys(v for v, _ in pairs)}
    refs = tuple(FeatureRef(v, f, output_name(v, f, request.full_feature_names)) for v, f in pairs)
    return PointInTimeRequest(
        entities=entity_input(entities), views=tuple(views.values()), features=refs, leakage_guard=leakage_guard
    )


def get_historical_features(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    entities: Any,
    request: FeatureRequest,
    *,
    leakage_guard: bool = False,
    progress: Progress | None = None,
) -> RetrievalResult:
    """The training set of ``entities`` (a path or a frame, see
    :mod:`fsctl.offline.entity_input`) and ``request``; the caller closes the result."""
    catalog = Catalog(project, registry)
    return engine.historical(point_in_time_request(catalog, entities, request, leakage_guard), progress)
