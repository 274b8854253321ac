"""The population stability index (fsctl.services.psi) against examples computed by hand,
and the levels of fsctl.results.stats.Thresholds."""

from __future__ import annotations

import math

import pytest

from fsctl.offline.base import BinCounts, FeatureStats
from fsctl.results.stats import HIGH, MODERATE, NOT_COMPARED, OK, Thresholds
from fsctl.services.psi import EPSILON, categorical_bins, feature_drift, numeric_bins, psi


def test_psi_of_a_hand_computed_example() -> None:
    # baseline 50 / 30 / 20 of 100 rows, current 30 / 30 / 40 of 100:
    #   (0.3 - 0.5) * ln(0.3 / 0.5) = -0.2 * -0.510826 = 0.102165
    #   (0.3 - 0.3) * ln(1)         = 0
    #   (0.4 - 0.2) * ln(0.4 / 0.2) =  0.2 *  0.693147 = 0.138629
    #   PSI = 0.240795
    assert psi([50, 30, 20], [30, 30, 40]) == pytest.approx(0.240795, abs=1e-6)
    # shares, not counts: the current side may have any number of rows
    assert psi([50, 30, 20], [60, 60, 80]) == pytest.approx(0.240795, abs=1e-6)
    assert psi([5, 5], [5, 5]) == 0.0
    # symmetric in its two sides
    assert psi([30, 30, 40], [50, 30, 20]) == pytest.approx(0.240795, abs=1e-6)


def test_an_empty_bin_counts_as_epsilon() -> None:
    # baseline 10 / 0, current 5 / 5: the empty baseline bin's share is 0.0001
    #   (0.5 - 1.0)    * ln(0.5 / 1.0)    = 0.346574
    #   (0.5 - 0.0001) * ln(0.5 / 0.0001) = 0.4999 * 8.517193 = 4.257745
    expected = 0.5 * math.log(2) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert expected == pytest.approx(4.604319, abs=1e-6)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected, rel=1e-12)
    # empty on both sides: no contribution
    assert psi([10, 0], [10, 0]) == 0.0
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])
    with pytest.raises(ValueError):
        psi([1], [1, 1])


def test_levels() -> None:
    t = Thresholds()
    assert (t.warn, t.fail) == (0.1, 0.25)
    assert [t.level(v) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25, 3.0)] == [OK, OK, MODERATE, MODERATE, HIGH, HIGH]
    assert Thresholds(0.05, 0.06).level(0.055) == MODERATE


def _numeric(name: str, edges: tuple[float, ...], counts: tuple[int, ...], nulls: int) -> FeatureStats:
    return FeatureStats(
        name, "float64", "numeric", count=sum(counts) + nulls, nulls=nulls, binned=BinCounts(edges, counts)
    )


def test_numeric_bins_are_the_baseline_quantile_bins_and_nulls() -> None:
    baseline = _numeric("x", (1.0, 2.0), (40, 30, 30), 0)
    current = _numeric("x", (1.0, 2.0), (20, 30, 40), 10)
    assert numeric_bins(baseline, current) == [
        ("< 1", 40, 20),
        ("[1, 2)", 30, 30),
        (">= 2", 30, 40),
        ("null", 0, 10),
    ]
    drift = feature_drift(baseline, current, Thresholds())
    # (0.2-0.4)ln(0.2/0.4) + 0 + (0.4-0.3)ln(0.4/0.3) + (0.1-0.0001)ln(0.1/0.0001)
    expected = 0.2 * math.log(2) + 0.1 * math.log(4 / 3) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert drift.psi == pytest.approx(expected, rel=1e-12)
    assert drift.level == HIGH and drift.method == "quantile bins"
    assert [(b.label, b.baseline, b.current) for b in drift.bins][-1] == ("null", 0.0, 0.1)
    with pytest.raises(ValueError, match="binned differently"):
        numeric_bins(baseline, _numeric("x", (1.5,), (50, 50), 0))


def test_categorical_bins_are_the_baseline_top_categories_then_other_and_nulls() -> None:
    baseline = FeatureStats("c", "string", "categorical", count=100, nulls=0, top=(("a", 50), ("b", 30), ("c", 20)))
    current = FeatureStats(
        "c", "string", "categorical", count=100, nulls=0, top=(("c", 40),), categories=(("a", 30), ("b", 30), ("c", 40))
    )
    assert categorical_bins(baseline, current) == [("a", 50, 30), ("b", 30, 30), ("c", 20, 40), ("(other)", 0, 0), ("null", 0, 0)]
    drift = feature_drift(baseline, current, Thresholds())
    assert drift.psi == pytest.approx(0.240795, abs=1e-6)  # the hand-computed example above
    assert (drift.level, drift.method) == (MODERATE, "categories")
    # a category the baseline never had lands in (other)
    new = FeatureStats("c", "string", "categorical", count=100, nulls=0, categories=(("a", 50), ("b", 30), ("c", 10)))
    assert categorical_bins(baseline, new)[3] == ("(other)", 0, 10)


def test_kinds_without_bins_are_not_compared() -> None:
    ts = FeatureStats("t", "timestamp", "other", count=10, nulls=0)
    drift = feature_drift(ts, ts, Thresholds())
    assert (drift.psi, drift.level) == (None, NOT_COMPARED)
    empty = FeatureStats("t", "float64", "numeric", count=0, nulls=0)
    assert feature_drift(empty, empty, Thresholds()).level == NOT_COMPARED
