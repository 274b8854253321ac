"""The population stability index (PSI): how far a feature's current distribution moved
from a baseline's. Pure arithmetic on counts, so every engine's statistics give the same
answer; :mod:`fsctl.services.stats` asks the engine for the counts.

For bins ``i`` with baseline shares ``b_i`` and current shares ``c_i`` (each side's
counts divided by its rows, nulls included)::

    PSI = sum_i (c_i - b_i) * ln(c_i / b_i),   a share under EPSILON = 0.0001 counted as EPSILON

The bins:

* numeric features: the baseline's deciles (p10 ... p90, approximate, duplicates removed)
  bound ``(-inf, p10), [p10, p20), ..., [p90, inf)``; each side's non-null values are
  counted into the same bins;
* strings and bools: one bin per category of the baseline's 20 most frequent, plus one
  for every other value (a category the baseline never had lands there);
* both: one bin for nulls, so a feature that starts arriving empty shows as drift.

A PSI under 0.1 is usually read as no shift, 0.1-0.25 as a moderate one, 0.25 and over
as a shift to act on (:class:`~fsctl.results.stats.Thresholds`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from fsctl.offline.base import FeatureStats
from fsctl.results.stats import NOT_COMPARED, DriftBin, FeatureDrift, Thresholds

EPSILON = 1e-4
DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CATEGORIES = 20  # categories of a string or bool feature compared one by one


def psi(baseline: Sequence[int], current: Sequence[int], epsilon: float = EPSILON) -> float:
    """The PSI of ``current`` counts against ``baseline`` counts, bin by bin (see the module
    docstring). Both need at least one row."""
    if len(baseline) != len(current):
        raise ValueError(f"bins differ: {len(baseline)} and {len(current)}")
    b_total, c_total = sum(baseline), sum(current)
    if b_total <= 0 or c_total <= 0:
        raise ValueError("both sides need rows")
    total = 0.0
    for b, c in zip(baseline, current, strict=True):
        b_share, c_share = max(b / b_total, epsilon), max(c / c_total, epsilon)
        total += (c_share - b_share) * math.log(c_share / b_share)
    return total


def _number(value: float) -> str:
    return f"{value:.6g}"


def numeric_bins(baseline: FeatureStats, current: FeatureStats) -> list[tuple[str, int, int]]:
    """(label, baseline count, current count) per bin of a numeric feature: both sides'
    counts in the baseline's quantile bins, then nulls."""
    if baseline.binned is None or current.binned is None:
        raise ValueError(f"feature '{baseline.name}': no binned counts to compare")
    if baseline.binned.edges != current.binned.edges:
        raise ValueError(f"feature '{baseline.name}': the two sides were binned differently")
    edges = baseline.binned.edges
    if not edges:
        labels = ["all values"]
    else:
        labels = [f"< {_number(edges[0])}"]
        labels += [f"[{_number(lo)}, {_number(hi)})" for lo, hi in itertools.pairwise(edges)]
        labels.append(f">= {_number(edges[-1])}")
    rows = list(zip(labels, baseline.binned.counts, current.binned.counts, strict=True))
    return [*rows, ("null", baseline.nulls, current.nulls)]


def categorical_bins(baseline: FeatureStats, current: FeatureStats) -> list[tuple[str, int, int]]:
    """(label, baseline count, current count) per bin of a string or bool feature: the
    baseline's top categories (``current.categories`` must count the same ones), every
    other value, nulls."""
    base = dict(baseline.top)
    counted = dict(current.categories)
    if list(counted) != list(base):
        raise ValueError(f"feature '{baseline.name}': the current side counted other categories")
    rows = [(value, count, counted[value]) for value, count in baseline.top]
    other_b = baseline.values - sum(base.values())
    other_c = current.values - sum(counted.values())
    return [*rows, ("(other)", other_b, other_c), ("null", baseline.nulls, current.nulls)]


def feature_drift(baseline: FeatureStats, current: FeatureStats, thresholds: Thresholds) -> FeatureDrift:
    """The PSI of one feature and its level; n/a for kinds with no bins (timestamps, bytes,
    lists) or a side without rows."""
    if baseline.count == 0 or current.count == 0:
        return FeatureDrift(None, NOT_COMPARED, note="no rows on one side")
    if baseline.kind == "numeric":
        bins, method = numeric_bins(baseline, current), "quantile bins"
    elif baseline.kind == "categorical":
        bins, method = categorical_bins(baseline, current), "categories"
    else:
        return FeatureDrift(None, NOT_COMPARED, note=f"no PSI for {baseline.dtype}")
    value = psi([b for _, b, _ in bins], [c for _, _, c in bins])
    shares = tuple(DriftBin(label, b / baseline.count, c / current.count) for label, b, c in bins)
    return FeatureDrift(value, thresholds.level(value), method, shares)
