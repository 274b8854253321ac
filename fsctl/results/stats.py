"""The result of ``fsctl stats``: statistics per feature of a view's rows (or of a model
version's predictions, from the prediction log), and, against a baseline, the population
stability index (PSI) of each feature with its level.

:class:`FeatureSummary` is what the offline engine answered for one feature
(:class:`~fsctl.offline.base.FeatureStats`, copied by the service: renderers never see the
engine's types); :class:`FeatureDrift` adds the comparison. Renderers
(:mod:`fsctl.render.stats`) show it as text and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OK, MODERATE, HIGH, NOT_COMPARED = "ok", "moderate", "high", "n/a"


@dataclass(frozen=True)
class Bin:
    """Values ``lower <= x < upper`` (a histogram's last bin also takes ``upper``)."""

    lower: float
    upper: float
    count: int


@dataclass(frozen=True)
class FeatureSummary:
    """The statistics of one feature (see :class:`fsctl.offline.base.FeatureStats`)."""

    name: str
    dtype: str
    kind: str  # numeric | categorical | other
    count: int
    nulls: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    distinct: int | None = None
    quantiles: tuple[tuple[float, float], ...] = ()
    histogram: tuple[Bin, ...] = ()
    top: tuple[tuple[str, int], ...] = ()

    @property
    def values(self) -> int:
        return self.count - self.nulls

    @property
    def null_fraction(self) -> float | None:
        return self.nulls / self.count if self.count else None


@dataclass(frozen=True)
class Thresholds:
    """PSI at or over ``warn`` is a moderate shift, at or over ``fail`` a high one."""

    warn: float = 0.1
    fail: float = 0.25

    def level(self, psi: float) -> str:
        if psi >= self.fail:
            return HIGH
        if psi >= self.warn:
            return MODERATE
        return OK


@dataclass(frozen=True)
class DriftBin:
    """One bin of a PSI: its label and the share of rows in it, baseline and current."""

    label: str
    baseline: float
    current: float


@dataclass(frozen=True)
class FeatureDrift:
    """The comparison of one feature with the baseline. ``psi`` is None (``level`` n/a) when
    it cannot be compared; ``note`` says why."""

    psi: float | None
    level: str
    method: str = ""  # "quantile bins" | "categories" | ""
    bins: tuple[DriftBin, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Baseline:
    """What the current rows were compared with: another time range of the same rows
    (``kind`` ``window``) or a file (``file``: a training set)."""

    kind: str  # window | file
    rows: int
    start: datetime | None = None
    end: datetime | None = None
    path: str | None = None
    made_for: str | None = None  # a training set's model version, from its metadata
    features: tuple[FeatureSummary, ...] = ()

    @property
    def description(self) -> str:
        if self.kind == "file":
            return f"{self.path}" + (f" (training set of {self.made_for})" if self.made_for else "")
        return f"[{iso(self.start) or 'earliest'}, {iso(self.end) or 'latest'})"


@dataclass
class StatsReport:
    """Statistics of ``subject`` over ``[start, end)``; ``kind`` is ``view`` or ``model``
    (a model version's prediction log). ``drift`` maps a feature name to its comparison
    (only with a baseline)."""

    kind: str
    name: str
    location: str  # where the rows were read: a source's path, the prediction log
    rows: int
    features: tuple[FeatureSummary, ...]
    start: datetime | None = None
    end: datetime | None = None
    version: int | None = None  # model version
    alias: str | None = None
    baseline: Baseline | None = None
    drift: dict[str, FeatureDrift] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    notes: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        """``view driver_hourly_stats`` or ``model churn v2 (Production)``."""
        if self.kind == "model":
            return f"model {self.name} v{self.version}" + (f" ({self.alias})" if self.alias else "")
        return f"view {self.name}"

    def at_level(self, level: str) -> list[str]:
        """The features whose drift is at ``level``, in feature order."""
        return [f.name for f in self.features if f.name in self.drift and self.drift[f.name].level == level]


def iso(value: datetime | None) -> str | None:
    """An aware time as ISO 8601 in UTC with a ``Z``."""
    if value is None:
        return None
    from datetime import timezone

    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
