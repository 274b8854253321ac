"""Use case: prediction drift, ``fsctl stats --model NAME@ALIAS|NAME/VERSION``: the statistics
of one model version's traffic in the prediction log (:mod:`fsctl.scoring.log`): the
features as served (the ``features`` JSON, named as the version's training set names them:
``feature`` or ``view__feature``) and the predictions (the ``prediction`` column), for rows
with ``start <= predicted_at < end``; against the version's training set
(``--baseline-file``) or another time range of the log, the PSI of each
(:func:`fsctl.services.stats.describe`, the same flow as for a view).

The log is read by the offline engine as files (:class:`~fsctl.offline.requests.FileRows`:
every parquet file under the log's folder or S3 prefix, rows of that model and version), so
the statistics run where the engine runs. A training set has no predictions unless it was
scored (``fsctl score`` adds them); the prediction is then compared too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fsctl.errors import UsageError
from fsctl.offline import FileRows, OfflineEngine, StatsColumn
from fsctl.offline.naming import output_name
from fsctl.registry import RegistryReader
from fsctl.results.stats import StatsReport
from fsctl.services.catalog import Catalog
from fsctl.services.model_target import target_of_ref
from fsctl.services.project import Project
from fsctl.services.stats import FileBaseline, StatsOptions, WindowBaseline, describe, summary

PREDICTION = "prediction"  # the log's column of the first output, when it is a number


def log_location(configured: str | None, root: Path) -> str:
    """Where the prediction log is (``scoring.prediction_log``): ``s3://...`` as it is, a
    local folder made absolute (relative to the repo); it must exist."""
    if not configured:
        raise UsageError(
            "there is no prediction log to read: scoring.prediction_log is not set in fsctl.yaml",
            hint="set scoring.prediction_log (a folder or s3://bucket/prefix) and serve predictions with fsctl serve",
        )
    if configured.startswith("s3://"):
        return configured.rstrip("/")
    path = Path(configured)
    path = path if path.is_absolute() else root / path
    if not path.is_dir():
        raise UsageError(
            f"the prediction log {path} does not exist yet: no prediction has been logged there",
            hint="serve predictions with fsctl serve (POST /models/NAME/predict) first, or fix scoring.prediction_log",
        )
    return str(path)


def model_stats(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    model: str,
    log: str | None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    view: str | None = None,
    baseline: WindowBaseline | FileBaseline | None = None,
    options: StatsOptions | None = None,
) -> StatsReport:
    """Statistics of the features served to ``model`` (``NAME@ALIAS`` or ``NAME/VERSION``;
    only those of ``view`` when given) and of its predictions, from the prediction log at
    ``log`` (``scoring.prediction_log``), rows with ``start <= predicted_at < end``."""
    options = options or StatsOptions()
    catalog = Catalog(project, registry)
    target = target_of_ref(catalog, model)
    location = log_location(log, project.root)
    pairs = catalog.resolve(target.request)
    if view is not None:
        catalog.view(view)  # an unknown view is its own error
        pairs = [(v, f) for v, f in pairs if v == view]
        if not pairs:
            raise UsageError(
                f"{target.label} reads no feature of view '{view}' (its feature service is '{target.service}')",
                hint="drop VIEW to describe all of its features",
            )
    full = target.request.full_feature_names
    specs = {v: catalog.view_spec(v) for v in dict.fromkeys(v for v, _ in pairs)}
    columns = []
    file_columns: dict[str, tuple[str, ...]] = {}
    for v, f in pairs:
        name = output_name(v, f, full)
        columns.append(StatsColumn(name, specs[v].dtype(f), column="features", json_key=name))
        file_columns[name] = tuple(dict.fromkeys((name, f, f"{v}__{f}")))
    if view is None:
        columns.append(StatsColumn(PREDICTION, "float64", column=PREDICTION))
        file_columns[PREDICTION] = tuple(dict.fromkeys((PREDICTION, target.output or PREDICTION)))
    what = f"the prediction log {location}"
    rows = FileRows(
        label=what,
        location=location,
        time_column="predicted_at",
        equals=(("model", target.model), ("model_version", target.version)),
    )
    described = describe(
        engine,
        rows,
        columns,
        start=start,
        end=end,
        what=f"{what} (predictions of {target.model} v{target.version})",
        baseline=baseline,
        file_columns=file_columns,
        options=options,
    )
    notes = list(described.notes)
    made_for = described.baseline.made_for if described.baseline is not None else None
    if made_for is not None and made_for != f"{target.model} v{target.version}":
        notes.append(f"the baseline file is the training set of {made_for}, not of {target.model} v{target.version}")
    return StatsReport(
        kind="model",
        name=target.model,
        version=target.version,
        alias=target.alias,
        location=location,
        rows=described.current.rows,
        features=tuple(summary(f) for f in described.current.features),
        start=start,
        end=end,
        baseline=described.baseline,
        drift=described.drift,
        thresholds=options.thresholds,
        notes=notes,
    )
