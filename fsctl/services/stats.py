"""Use case: ``fsctl stats VIEW``: statistics per feature of a view's source rows in a time
range, computed by the offline engine (one :class:`~fsctl.offline.requests.StatsRequest`),
and, against a baseline, the population stability index of each feature
(:mod:`fsctl.services.psi`).

A baseline is another time range of the same rows (:class:`WindowBaseline`) or a training
set written by ``fsctl historical`` (:class:`FileBaseline`: its feature columns, named
``feature`` or ``view__feature``). With one, the engine is asked twice: the baseline first
(with its deciles and the counts between them, and its most frequent categories), then the
current rows counted into the baseline's bins and categories. :func:`describe` is that
flow; :mod:`fsctl.services.drift` runs it over the prediction log as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from fsctl.errors import UsageError, did_you_mean
from fsctl.offline import (
    FeatureStats,
    FileRows,
    OfflineEngine,
    StatsColumn,
    StatsRequest,
    TableStats,
    ViewSpec,
)
from fsctl.registry import RegistryReader
from fsctl.results.stats import (
    NOT_COMPARED,
    Baseline,
    Bin,
    FeatureDrift,
    FeatureSummary,
    StatsReport,
    Thresholds,
    iso,
)
from fsctl.services.catalog import Catalog
from fsctl.services.project import Project
from fsctl.services.psi import CATEGORIES, DECILES, feature_drift

METADATA_KEY = "fsctl"  # a training set's key-value metadata (fsctl.services.retrieve)


class EmptyWindow(UsageError):
    """No rows in the time range asked for (the UI says so rather than failing)."""


@dataclass(frozen=True)
class StatsOptions:
    """Histogram bins, most frequent values shown, and the PSI thresholds."""

    bins: int = 10
    top_k: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if not 1 <= self.bins <= 1000:
            raise UsageError(f"--bins must be between 1 and 1000, got {self.bins}")
        warn, fail = self.thresholds.warn, self.thresholds.fail
        if not 0 < warn <= fail:
            raise UsageError(
                f"PSI thresholds must satisfy 0 < warn <= fail, got warn {warn} and fail {fail}",
                hint="e.g. --psi-warn 0.1 --psi-fail 0.25 (or stats: {psi_warn, psi_fail} in fsctl.yaml)",
            )


@dataclass(frozen=True)
class WindowBaseline:
    """The same rows with ``start <= time < end``."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class FileBaseline:
    """A parquet training set (``fsctl historical --output x.parquet``)."""

    path: Path


@dataclass(frozen=True)
class Described:
    """The current rows' statistics, the baseline's (if any) and the comparison."""

    current: TableStats
    baseline: Baseline | None
    drift: dict[str, FeatureDrift]
    notes: list[str]


def summary(stats: FeatureStats) -> FeatureSummary:
    """The engine's statistics of one feature, as the result holds them."""
    return FeatureSummary(
        name=stats.name,
        dtype=stats.dtype,
        kind=stats.kind,
        count=stats.count,
        nulls=stats.nulls,
        min=stats.min,
        max=stats.max,
        mean=stats.mean,
        std=stats.std,
        distinct=stats.distinct,
        quantiles=stats.quantiles,
        histogram=tuple(Bin(b.lower, b.upper, b.count) for b in stats.histogram),
        top=stats.top,
    )


def check_range(start: datetime | None, end: datetime | None, what: str = "--start/--end") -> None:
    if start is not None and end is not None and not start < end:
        raise UsageError(f"{what}: the start ({iso(start)}) must be before the end ({iso(end)})")


def window_text(start: datetime | None, end: datetime | None) -> str:
    return f"[{iso(start) or 'earliest'}, {iso(end) or 'latest'})"


def describe(
    engine: OfflineEngine,
    rows: ViewSpec | FileRows,
    columns: Sequence[StatsColumn],
    *,
    start: datetime | None,
    end: datetime | None,
    what: str,
    baseline: WindowBaseline | FileBaseline | None,
    file_columns: Mapping[str, Sequence[str]],
    options: StatsOptions,
) -> Described:
    """Statistics of ``columns`` of ``rows`` in ``[start, end)`` and, with ``baseline``, their
    PSI against it. ``what`` names the rows in messages; ``file_columns`` gives, per column,
    the names it may have in a baseline file (first found wins)."""
    check_range(start, end)
    columns = tuple(columns)
    notes: list[str] = []
    base_stats: TableStats | None = None
    info: Baseline | None = None
    made_for: str | None = None
    if baseline is not None:
        if isinstance(baseline, WindowBaseline):
            check_range(baseline.start, baseline.end, "--baseline")
            base_rows, base_columns = rows, columns
            start_b, end_b = baseline.start, baseline.end
            where = f"the baseline: {what} in {window_text(start_b, end_b)}"
        else:
            base_rows, base_columns, made_for = _baseline_file(baseline.path, columns, file_columns)
            start_b = end_b = None
            where = f"the baseline file {baseline.path}"
            missing = [c.name for c in columns if c.name not in {b.name for b in base_columns}]
            if missing:
                notes.append(f"not in the baseline file, so not compared: {', '.join(missing)}")
        base_stats = engine.stats(
            StatsRequest(
                base_rows,
                base_columns,
                start=start_b,
                end=end_b,
                bins=options.bins,
                top_k=CATEGORIES,
                bin_quantiles=DECILES,
            )
        )
        if base_stats.rows == 0:
            raise UsageError(f"{where} has no rows", hint="pick a baseline that has data")
        info = Baseline(
            kind="window" if isinstance(baseline, WindowBaseline) else "file",
            rows=base_stats.rows,
            start=start_b,
            end=end_b,
            path=str(baseline.path) if isinstance(baseline, FileBaseline) else None,
            made_for=made_for,
            features=tuple(summary(f) for f in base_stats.features),
        )
        columns = tuple(_against(c, base_stats) for c in columns)
    current = engine.stats(StatsRequest(rows, columns, start=start, end=end, bins=options.bins, top_k=options.top_k))
    if current.rows == 0:
        raise EmptyWindow(
            f"{what} has no rows in {window_text(start, end)}",
            hint="pick a window with data (--start/--end), or drop them to describe every row",
        )
    drift: dict[str, FeatureDrift] = {}
    if base_stats is not None:
        compared = {f.name: f for f in base_stats.features}
        for feature in current.features:
            if feature.name in compared:
                drift[feature.name] = feature_drift(compared[feature.name], feature, options.thresholds)
            else:
                drift[feature.name] = FeatureDrift(None, NOT_COMPARED, note="not in the baseline")
    return Described(current, info, drift, notes)


def _against(column: StatsColumn, baseline: TableStats) -> StatsColumn:
    """``column`` asking for the baseline's bins (numeric) or categories (strings, bools)."""
    found = next((f for f in baseline.features if f.name == column.name), None)
    if found is None:
        return column
    if found.binned is not None:
        return replace(column, edges=found.binned.edges)
    if found.kind == "categorical":
        return replace(column, categories=tuple(value for value, _ in found.top))
    return column


def _baseline_file(
    path: Path, columns: tuple[StatsColumn, ...], names: Mapping[str, Sequence[str]]
) -> tuple[FileRows, tuple[StatsColumn, ...], str | None]:
    """The training set at ``path`` as rows, the columns it has of ``columns`` (each read
    from the first of its ``names`` present), and the model version it was built for."""
    if not path.is_file():
        raise UsageError(f"baseline file {path} does not exist", hint="build one with fsctl historical --output")
    if path.suffix.lower() != ".parquet":
        raise UsageError(
            f"baseline file {path}: a training set must be parquet",
            hint="write it with fsctl historical --output training.parquet",
        )
    from fsctl.offline.parquet_footer import read_schema

    try:
        present = read_schema(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one message
        raise UsageError(f"baseline file {path} is not a readable parquet file: {exc}") from None
    found = []
    for column in columns:
        name = next((n for n in names.get(column.name, (column.name,)) if n in present), None)
        if name is not None:
            found.append(replace(column, column=name, json_key=None))
    if not found:
        wanted = ", ".join(names.get(c.name, (c.name,))[0] for c in columns)
        shown = ", ".join(list(present)[:12]) + (", ..." if len(present) > 12 else "")
        raise UsageError(
            f"baseline file {path} has none of the features ({wanted}); its columns: {shown}",
            hint="build the training set with these features (fsctl historical --features / --service / --model)",
        )
    rows = FileRows(label=f"baseline file {path}", location=str(path.resolve()))
    return rows, tuple(found), _made_for(path)


def _made_for(path: Path) -> str | None:
    """``model vN`` from a training set's metadata (fsctl historical --model), if any."""
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path).metadata or {}
        made = json.loads(metadata[METADATA_KEY.encode()])
        return f"{made['model']} v{made['version']}"
    except Exception:  # noqa: BLE001 - no metadata (or not ours): nothing to say
        return None


def view_stats(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    view: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    features: Sequence[str] | None = None,
    baseline: WindowBaseline | FileBaseline | None = None,
    options: StatsOptions | None = None,
) -> StatsReport:
    """Statistics of ``features`` (default: all) of the applied view ``view`` over its
    source rows with ``start <= event time < end``; with ``baseline``, their PSI."""
    options = options or StatsOptions()
    catalog = Catalog(project, registry)
    spec = catalog.view_spec(view)
    # An aggregation view's features are computed; its source rows hold the input columns.
    dtypes = (
        {a.column: a.input_dtype for a in spec.aggregations}
        if spec.aggregations
        else {f.name: f.dtype for f in spec.features}
    )
    names, what = list(dtypes), ("input column" if spec.aggregations else "feature")
    if features:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise UsageError(
                f"view '{view}' has no {what} '{unknown[0]}'", hint=did_you_mean(unknown[0], names, f"its {what}s")
            )
        names = list(dict.fromkeys(features))
    columns = [StatsColumn(name, dtypes[name]) for name in names]
    described = describe(
        engine,
        spec,
        columns,
        start=start,
        end=end,
        what=f"view '{view}'",
        baseline=baseline,
        file_columns={name: (name, f"{view}__{name}") for name in names},
        options=options,
    )
    return StatsReport(
        kind="view",
        name=view,
        location=spec.source.location,
        rows=described.current.rows,
        features=tuple(summary(f) for f in described.current.features),
        start=start,
        end=end,
        baseline=described.baseline,
        drift=described.drift,
        thresholds=options.thresholds,
        notes=described.notes,
    )
