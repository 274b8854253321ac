"""The engine-neutral requests an offline engine answers, as frozen values.

Services build them from the registry's canonical documents (:func:`view_spec`), so an
engine never sees a definition object, a registry or a repo path: every source location is
already absolute (or ``s3://``), every view carries its join keys, features with dtypes,
TTL and source columns. The same requests go to every engine (DuckDB now, Spark next).

* :class:`PointInTimeRequest`: entity rows (:class:`~fsctl.offline.entity_input.EntityInput`),
  the views to join, and the output features in order with their output names.
* :class:`LatestRequest`: the latest row per entity key of one view with event times in a
  half-open :class:`Window` (materialization).
* :class:`CheckRequest`: a view's data checks (:class:`FeatureCheck` per feature, a minimum
  row count, unique keys per event time) over every source row of a window, built from the
  view's canonical document by :func:`check_request`.
* :class:`EventsRequest`: the newest event time in one view's source, and optionally how
  many of its rows fall in a window (``fsctl status``).
* :class:`StatsRequest`: statistics per column (counts, moments, quantiles, histograms,
  counts in given bins or categories) over a view's source rows in a time range, or over
  other files (:class:`FileRows`: a training set, the prediction log), for ``fsctl stats``
  and drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsctl.offline.entity_input import EntityInput


@dataclass(frozen=True)
class SourceSpec:
    """Where a view's rows are and which columns hold what.

    A file source has a ``location`` and a ``format``; a Delta table (``format`` delta) may be
    pinned to a ``version`` or a ``timestamp`` (ISO 8601, UTC). A SQL source has ``format``
    ``sql``, its ``query`` with ``{{ source('name') }}`` references (see
    :mod:`fsctl.definitions.sql_query`; each engine puts its own relation for the upstream
    there) and the ``upstreams`` it reads, themselves specs; its ``location`` only names it
    in messages."""

    name: str
    location: str  # an absolute local path (file, directory or glob) or s3://bucket/key...
    format: str  # parquet | csv | delta | sql
    timestamp_field: str
    created_timestamp_field: str | None
    field_mapping: tuple[tuple[str, str], ...] = ()  # (source column, feature or key name)
    version: int | None = None  # delta: the table version to read
    timestamp: str | None = None  # delta: read the table as it was at this time
    query: str | None = None  # sql
    upstreams: tuple[SourceSpec, ...] = ()  # sql: the sources the query reads

    @property
    def is_sql(self) -> bool:
        return self.query is not None

    def files(self) -> list[SourceSpec]:
        """The file sources this source reads: itself, or a SQL source's upstreams' (deduplicated)."""
        if not self.is_sql:
            return [self]
        found: dict[str, SourceSpec] = {}
        for upstream in self.upstreams:
            for spec in upstream.files():
                found.setdefault(spec.name, spec)
        return list(found.values())

    def column_for(self, name: str) -> str:
        """The source column that provides feature or key ``name`` (after field_mapping)."""
        for column, mapped in self.field_mapping:
            if mapped == name:
                return column
        return name

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    dtype: str


@dataclass(frozen=True)
class AggregationSpec:
    """One time-window aggregation (issue 17): feature ``name`` (of ``dtype``) is
    ``function`` of the values of ``column`` (a feature-side name, read through
    field_mapping; its dtype ``input_dtype``) over the source rows of the same key with event
    times ``t - window < e <= t`` (``window`` in seconds)."""

    name: str
    column: str
    function: str  # sum | count | avg | min | max | count_distinct | last
    window: int
    dtype: str
    input_dtype: str


@dataclass(frozen=True)
class ViewSpec:
    """One feature view as an engine needs it.

    With ``aggregations`` its features are computed (one per aggregation, in order) rather
    than read: for an entity time ``t`` each is the aggregate as of ``t`` aligned down to a
    multiple of ``slide`` seconds since the epoch (``slide`` 0: ``t`` itself); see the
    README section "Time-window aggregations"."""

    name: str
    source: SourceSpec
    join_keys: tuple[str, ...]  # entity-side key names, in the entities' order
    features: tuple[FeatureSpec, ...]  # the view's whole schema, in order
    ttl: int = 0  # seconds; 0: no lower bound on age
    aggregations: tuple[AggregationSpec, ...] = ()
    slide: int = 0  # seconds; 0: values change at every event

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def dtype(self, feature: str) -> str:
        return next(f.dtype for f in self.features if f.name == feature)


@dataclass(frozen=True)
class FeatureRef:
    """One output feature: ``view:feature``, written as column ``output``."""

    view: str
    feature: str
    output: str


@dataclass(frozen=True)
class PointInTimeRequest:
    """For each entity row and view, the feature values of the source row with the same join
    keys and the latest event time ``t`` with ``entity_ts - ttl <= t <= entity_ts`` (ties:
    the latest created time; a null one loses); with ``leakage_guard`` also
    ``created <= entity_ts``. The output: the entity rows in input order with all their
    columns, then ``features`` in order, named by their ``output``."""

    entities: EntityInput
    views: tuple[ViewSpec, ...]
    features: tuple[FeatureRef, ...]
    leakage_guard: bool = False
    # Key-value metadata the result writes into a parquet file's footer (CSV has none), e.g.
    # ("fsctl", JSON of the model version a training set is built for).
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Window:
    """Event times ``start <= t < end`` (no lower bound when ``start`` is None); aware UTC."""

    start: datetime | None
    end: datetime


@dataclass(frozen=True)
class WindowRequest:
    """The rows of one view with event times in ``window``."""

    view: ViewSpec
    window: Window


@dataclass(frozen=True)
class LatestRequest(WindowRequest):
    """The latest row per entity key of ``view`` in ``window`` (ties as in retrieval), with
    its values cast to the declared dtypes, for the online store."""


@dataclass(frozen=True)
class FeatureCheck:
    """The data checks of one feature (None: not checked): every non-null value at least
    ``min`` and at most ``max`` (a NaN fails both), at most ``max_null_fraction`` of the
    window's rows null, every non-null value one of ``allowed``."""

    feature: str
    min: float | None = None
    max: float | None = None
    max_null_fraction: float | None = None
    allowed: tuple[bool | int | float | str, ...] | None = None


@dataclass(frozen=True)
class CheckRequest(WindowRequest):
    """A view's data checks over every source row of ``window`` (not only the latest row per
    key): ``features`` (in the view's schema order), at least ``min_rows`` rows, and with
    ``unique`` no two rows with the same join keys and event time."""

    features: tuple[FeatureCheck, ...] = ()
    min_rows: int | None = None
    unique: bool = False

    @property
    def empty(self) -> bool:
        """True when there is nothing to check."""
        return not self.features and self.min_rows is None and not self.unique


def check_request(view: Mapping[str, Any], spec: ViewSpec, window: Window) -> CheckRequest:
    """The checks of a FeatureView (its canonical dict: ``checks``, ``row_checks``) over
    ``window``, for the view's engine-neutral ``spec``."""
    checks = view.get("checks") or {}
    features = tuple(
        FeatureCheck(
            feature=name,
            min=rules.get("min"),
            max=rules.get("max"),
            max_null_fraction=rules.get("max_null_fraction"),
            allowed=tuple(rules["allowed"]) if rules.get("allowed") is not None else None,
        )
        for name in spec.feature_names
        if (rules := checks.get(name))
    )
    rows = view.get("row_checks") or {}
    return CheckRequest(
        view=spec,
        window=window,
        features=features,
        min_rows=rows.get("min_rows"),
        unique=bool(rows.get("unique", False)),
    )


@dataclass(frozen=True)
class EventsRequest:
    """The newest event time among all rows of ``view``'s source and, when ``window`` is
    given, the number of its rows with event times in it (event times read as retrieval and
    materialization read them)."""

    view: ViewSpec
    window: Window | None = None


def source_spec(
    source: Mapping[str, Any], root: Path, sources: Mapping[str, Mapping[str, Any]] | None = None
) -> SourceSpec:
    """The spec of a FileSource or SqlSource (its canonical dict); a relative local path is
    relative to the repo ``root``. A SqlSource's upstreams are looked up in ``sources``
    (name -> canonical dict, both kinds)."""
    if "query" in source:
        from fsctl.definitions.sql_query import upstream_names

        known = sources or {}
        missing = [n for n in upstream_names(source["query"]) if n not in known]
        if missing:
            from fsctl.errors import RegistryError

            raise RegistryError(
                f"SQL source '{source['name']}' reads source '{missing[0]}', which is not in the registry",
                hint="run `fsctl validate`, then apply the definitions again",
            )
        return SourceSpec(
            name=source["name"],
            location=f"the query of SQL source '{source['name']}'",
            format="sql",
            timestamp_field=source.get("timestamp_field", "event_timestamp"),
            created_timestamp_field=source.get("created_timestamp_field"),
            query=source["query"],
            upstreams=tuple(
                source_spec({"name": n, **known[n]}, root, known) for n in upstream_names(source["query"])
            ),
        )
    location = str(source["path"])
    if "://" not in location:
        path = Path(location)
        location = str(path if path.is_absolute() else root / path)
    return SourceSpec(
        name=source["name"],
        location=location,
        format=source.get("format", "parquet"),
        timestamp_field=source.get("timestamp_field", "event_timestamp"),
        created_timestamp_field=source.get("created_timestamp_field"),
        field_mapping=tuple((source.get("field_mapping") or {}).items()),
        version=source.get("version"),
        timestamp=source.get("timestamp"),
    )


def view_spec(
    view: Mapping[str, Any],
    source: Mapping[str, Any],
    join_keys: Sequence[str],
    root: Path,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> ViewSpec:
    """The spec of a FeatureView (its canonical dict) read from ``source`` and keyed by
    ``join_keys``; ``sources`` (name -> canonical dict) resolves a SQL source's upstreams."""
    return ViewSpec(
        name=view["name"],
        source=source_spec(source, root, sources),
        join_keys=tuple(join_keys),
        features=tuple(FeatureSpec(f["name"], f["dtype"]) for f in view["schema"]),
        ttl=int(view.get("ttl") or 0),
        aggregations=aggregation_specs(view),
        slide=int(view.get("slide") or 0),
    )


def aggregation_specs(view: Mapping[str, Any]) -> tuple[AggregationSpec, ...]:
    """The aggregations of a FeatureView (its canonical dict; none for a plain view)."""
    inputs = {f["name"]: f["dtype"] for f in view.get("inputs") or ()}
    dtypes = {f["name"]: f["dtype"] for f in view["schema"]}
    return tuple(
        AggregationSpec(
            name=a["name"],
            column=a["column"],
            function=a["function"],
            window=int(a["window"]),
            dtype=dtypes[a["name"]],
            input_dtype=inputs[a["column"]],
        )
        for a in view.get("aggregations") or ()
    )


# -- statistics ----------------------------------------------------------------------------

NUMERIC, CATEGORICAL, OTHER = "numeric", "categorical", "other"
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def stats_kind(dtype: str) -> str:
    """What statistics a dtype gets: ``numeric`` (ints and floats: moments, quantiles, a
    histogram), ``categorical`` (strings and bools: the most frequent values) or ``other``
    (timestamps, bytes, lists: counts, and min/max/distinct where they make sense)."""
    if dtype in ("int32", "int64", "float32", "float64"):
        return NUMERIC
    if dtype in ("string", "bool"):
        return CATEGORICAL
    return OTHER


@dataclass(frozen=True)
class FileRows:
    """Rows of files that are not a view's source: a training set, the prediction log.

    ``location`` is a file, folder (every file of ``format`` under it, at any depth, so
    ``date=...`` partitions are read) or glob; absolute local or ``s3://``. ``label`` names
    them in messages ("the prediction log data/predictions"). ``time_column`` is the column a
    request's start/end filter on; ``equals`` keeps rows whose column equals the value."""

    label: str
    location: str
    format: str = "parquet"
    time_column: str | None = None
    equals: tuple[tuple[str, str | int], ...] = ()


@dataclass(frozen=True)
class StatsColumn:
    """One column to describe, answered under ``name``, its values read as ``dtype``.

    ``column`` is the column to read (default: for a view, the source column of feature
    ``name`` after field_mapping; for files, ``name``). With ``json_key`` the column holds
    JSON objects and the value is that key's (a value that does not read as ``dtype`` counts
    as null). ``edges`` (sorted, numeric dtypes) asks for the non-null values counted into the
    bins ``(-inf, e0), [e0, e1), ..., [e_last, inf)``; ``categories`` (categorical dtypes) for
    the count of each of those values."""

    name: str
    dtype: str
    column: str | None = None
    json_key: str | None = None
    edges: tuple[float, ...] | None = None
    categories: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        return stats_kind(self.dtype)


@dataclass(frozen=True)
class StatsRequest:
    """Statistics of ``columns`` over the rows of ``rows`` (a view's source, or files) with
    ``start <= time < end`` (each bound optional; the time is a view's event time or
    ``FileRows.time_column``): per column the count, nulls (for floats NaN and infinities
    count as null), min, max, mean, sample standard deviation, a distinct-count estimate,
    the ``quantiles`` (approximate), a histogram of ``bins`` equal-width bins between min and
    max (numeric) or the ``top_k`` most frequent values with exact counts (categorical).

    ``bin_quantiles``: for numeric columns without ``edges``, also count the values into the
    bins bounded by these quantiles of the column's own values (deduplicated): a baseline
    distribution for the population stability index, in the same request."""

    rows: ViewSpec | FileRows
    columns: tuple[StatsColumn, ...]
    start: datetime | None = None
    end: datetime | None = None
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    bins: int = 10
    top_k: int = 10
    bin_quantiles: tuple[float, ...] = ()

    @property
    def label(self) -> str:
        """How messages name the rows."""
        if isinstance(self.rows, ViewSpec):
            return f"view '{self.rows.name}'"
        return self.rows.label
