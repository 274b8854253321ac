"""Use case: historical (point-in-time) retrieval of the features of a
:class:`~fsctl.services.features.FeatureRequest`.

Features are resolved against the *registry* (what was applied), like every reader of
the feature store, so a training set is built from the definitions that serve the model.
The request goes to the offline engine as an engine-neutral
:class:`~fsctl.offline.requests.PointInTimeRequest`.

A training set built for a model version (``--model NAME@ALIAS|NAME/VERSION``) says what made
it: :func:`training_metadata` goes into the parquet file's key-value metadata (key ``fsctl``).
CSV has no place for it.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline import FeatureRef, OfflineEngine, PointInTimeRequest, RetrievalResult
from fsctl.offline.base import Progress
from fsctl.offline.entity_input import entity_input
from fsctl.offline.naming import output_name
from fsctl.registry import RegistryReader
from fsctl.services.catalog import Catalog
from fsctl.services.features import FeatureRequest
from fsctl.services.project import Project

METADATA_KEY = "fsctl"


def point_in_time_request(
    catalog: Catalog, entities: Any, request: FeatureRequest, leakage_guard: bool = False
) -> PointInTimeRequest:
    pairs = catalog.resolve(request)
    views = {name: catalog.view_spec(name) for name in dict.fromkeys(v for v, _ in pairs)}
    refs = tuple(FeatureRef(v, f, output_name(v, f, request.full_feature_names)) for v, f in pairs)
    made_for = training_metadata(catalog, request.model, pairs) if request.model is not None else None
    return PointInTimeRequest(
        entities=entity_input(entities),
        views=tuple(views.values()),
        features=refs,
        leakage_guard=leakage_guard,
        metadata=((METADATA_KEY, json.dumps(made_for, sort_keys=True)),) if made_for else (),
    )


def training_metadata(catalog: Catalog, model_ref: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """What a training set built for a model version says about what made it (parquet
    key-value metadata, key ``fsctl``; format 1, keys may be added): the project and
    registry (URI and version) it was built from, the model, version and alias, the feature
    service and feature refs, the fingerprint of what produced the features now and the one
    the version's training snapshot recorded (null when the registry has none yet), and the
    time it was built."""
    from datetime import datetime, timezone

    from fsctl.definitions.training import SNAPSHOT_KEY, take_snapshot

    name, alias, version = catalog.model_version(model_ref)
    now = take_snapshot(catalog.objects, version["feature_service"], catalog.version)
    recorded = version.get(SNAPSHOT_KEY) or {}
    return {
        "format": 1,
        "project": catalog.project.name,
        "registry": catalog.project.registry_uri,
        "registry_version": catalog.version,
        "model": name,
        "version": version["version"],
        "alias": alias,
        "uri": version.get("uri") or None,
        "feature_service": version["feature_service"],
        "features": [f"{v}:{f}" for v, f in pairs],
        "fingerprint": now["fingerprint"] if now else None,
        "snapshot_fingerprint": recorded.get("fingerprint"),
        "snapshot_registry_version": recorded.get("registry_version"),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def get_historical_features(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    entities: Any,
    request: FeatureRequest,
    *,
    leakage_guard: bool = False,
    progress: Progress | None = None,
    output: Path | None = None,
) -> RetrievalResult:
    """The training set of ``entities`` (a path or a frame, see
    :mod:`fsctl.offline.entity_input`) and ``request``; the caller closes the result.
    ``output``, the file the caller will write it to, is checked first: it must not be the
    entity file or a file of a source the request reads (see :func:`check_output`)."""
    catalog = Catalog(project, registry)
    pit = point_in_time_request(catalog, entities, request, leakage_guard)
    if output is not None:
        check_output(pit, output)
    return engine.historical(pit, progress)


def check_output(request: PointInTimeRequest, output: Path) -> None:
    """Refuse an output file that would replace the entity file or a source's data: the
    training set would silently take the place of what it was built from."""
    target = Path(output).resolve()
    entities = request.entities.path
    if entities is not None and Path(entities).resolve() == target:
        raise UsageError(
            f"--output {output} is the entity file: writing the training set there would replace its rows",
            hint="write the training set to another file",
        )
    for view, source in ((v, s) for v in request.views for s in v.source.files()):
        if source.is_s3:
            continue
        location = Path(source.location)
        inside = location.is_dir() and target.is_relative_to(location.resolve())
        if inside or target == location.resolve() or fnmatch.fnmatch(str(target), source.location):
            raise UsageError(
                f"--output {output} is data of source '{source.name}' ({source.location}), which view "
                f"'{view.name}' reads: writing the training set there would replace or add to its rows",
                hint="write the training set outside the sources' paths",
            )
