"""Data checks through the offline-engine interface: ``engine.check(CheckRequest)``.

Every engine answers these the same way (the ``engine`` fixture lists them; a Spark engine
joins it). Each case is a small dataset whose answer is counted by hand in the comments:
every source row in the half-open window counts (not only the latest per key), nulls are
not checked by min / max / allowed but counted by max_null_fraction, a NaN fails min and
max, and the example is the row at fault with the earliest event time (then the smallest key).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.errors import StoreError
from fsctl.offline import (
    CheckOutcome,
    CheckRequest,
    FeatureCheck,
    FeatureSpec,
    OfflineEngine,
    SourceSpec,
    ViewSpec,
    Window,
    check_request,
)
from tests.support.spark import ENGINE_PARAMS, make_engine

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = Window(T0, T0 + timedelta(days=1))
NAN = math.nan


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[OfflineEngine]:
    """Every offline engine; each must give the answers below."""
    made = make_engine(request)
    yield made
    made.close()


# (driver_id, event time, conv_rate, trips, city, active)
ROWS: list[tuple[int, datetime, float | None, int | None, str | None, bool | None]] = [
    (1, h(-1), 5.0, -9, "x", False),  # before the window: never counted
    (1, h(0), 0.5, 10, "paris", True),  # at START: counted
    (1, h(2), 1.5, 20, "lyon", False),  # conv_rate above 1; active false
    (1, h(3), 0.2, 30, "paris", True),  # the latest row of key 1 (row above still counts); trips above 25
    (2, h(1), None, -5, "nice", None),  # conv_rate null; trips below 0; city not allowed
    (2, h(1), 0.3, 5, "paris", True),  # same key and event time as the row above
    (3, h(4), NAN, 7, None, True),  # NaN: below min and above max; city null
    (3, h(24), -1.0, -1, "x", False),  # at END: never counted
]
IN_WINDOW = 6


def write(path: Path, rows: list[tuple[Any, ...]] = ROWS) -> Path:
    ts = pa.timestamp("us", tz="UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array([r[0] for r in rows], pa.int64()),
                "event_timestamp": pa.array([r[1] for r in rows], ts),
                "conv_rate": pa.array([r[2] for r in rows], pa.float64()),
                "trips": pa.array([r[3] for r in rows], pa.int64()),
                "city_name": pa.array([r[4] for r in rows], pa.string()),
                "active": pa.array([r[5] for r in rows], pa.bool_()),
            }
        ),
        path,
    )
    return path


def spec(path: Path) -> ViewSpec:
    return ViewSpec(
        name="stats",
        source=SourceSpec(
            name="stats_src",
            location=str(path),
            format="parquet",
            timestamp_field="event_timestamp",
            created_timestamp_field=None,
            field_mapping=(("city_name", "city"),),
        ),
        join_keys=("driver_id",),
        features=(
            FeatureSpec("conv_rate", "float64"),
            FeatureSpec("trips", "int64"),
            FeatureSpec("city", "string"),
            FeatureSpec("active", "bool"),
        ),
    )


def one(outcomes: tuple[CheckOutcome, ...], check: str, feature: str | None = None) -> CheckOutcome:
    (found,) = [o for o in outcomes if o.check == check and o.feature == feature]
    return found


def example(o: CheckOutcome) -> tuple[dict[str, Any] | None, datetime | None]:
    return o.example_key, o.example_time


def test_every_check_kind_counted_by_hand(engine: OfflineEngine, tmp_path: Path) -> None:
    request = CheckRequest(
        view=spec(write(tmp_path / "stats.parquet")),
        window=DAY,
        features=(
            FeatureCheck("conv_rate", min=0, max=1, max_null_fraction=0.1),
            FeatureCheck("trips", min=0, max=25),
            FeatureCheck("city", max_null_fraction=0.2, allowed=("paris", "lyon")),
            FeatureCheck("active", allowed=(True,)),
        ),
        min_rows=7,
        unique=True,
    )
    result = engine.check(request)
    assert result.view == "stats" and result.rows == IN_WINDOW
    got = result.outcomes
    # request order: per feature min, max, max_null_fraction, allowed; then unique, min_rows
    assert [(o.feature, o.check) for o in got] == [
        ("conv_rate", "min"),
        ("conv_rate", "max"),
        ("conv_rate", "max_null_fraction"),
        ("trips", "min"),
        ("trips", "max"),
        ("city", "max_null_fraction"),
        ("city", "allowed"),
        ("active", "allowed"),
        (None, "unique"),
        (None, "min_rows"),
    ]
    assert all(o.rows == IN_WINDOW for o in got)

    conv_min = one(got, "min", "conv_rate")  # the NaN only (-1.0 is at END, 5.0 before START)
    assert (conv_min.failed, conv_min.passed) == (1, False)
    assert example(conv_min) == ({"driver_id": 3}, h(4))
    conv_max = one(got, "max", "conv_rate")  # 1.5 and the NaN; the earliest is 1.5 at +2h
    assert (conv_max.failed, conv_max.limit) == (2, 1)
    assert example(conv_max) == ({"driver_id": 1}, h(2))
    conv_null = one(got, "max_null_fraction", "conv_rate")  # 1 of 6 = 0.167 > 0.1
    assert (conv_null.failed, conv_null.passed) == (1, False)
    assert example(conv_null) == ({"driver_id": 2}, h(1))

    trips_min = one(got, "min", "trips")
    assert (trips_min.failed, example(trips_min)) == (1, ({"driver_id": 2}, h(1)))
    trips_max = one(got, "max", "trips")  # 30, on the latest row of key 1
    assert (trips_max.failed, example(trips_max)) == (1, ({"driver_id": 1}, h(3)))

    city_null = one(got, "max_null_fraction", "city")  # 1 of 6 = 0.167 <= 0.2: passes
    assert (city_null.failed, city_null.passed) == (1, True)
    city = one(got, "allowed", "city")  # 'nice' (through field_mapping); the null is not counted
    assert (city.failed, city.limit, example(city)) == (1, ["paris", "lyon"], ({"driver_id": 2}, h(1)))
    active = one(got, "allowed", "active")  # the one false in the window; the null is not counted
    assert (active.failed, example(active)) == (1, ({"driver_id": 1}, h(2)))

    unique = one(got, "unique")  # the two rows of key 2 at +1h
    assert (unique.failed, unique.passed, example(unique)) == (2, False, ({"driver_id": 2}, h(1)))
    min_rows = one(got, "min_rows")  # 6 rows, 1 short of 7; no example
    assert (min_rows.failed, min_rows.passed, example(min_rows)) == (1, False, (None, None))

    assert [(o.feature, o.check) for o in result.failures] == [
        (o.feature, o.check) for o in got if (o.feature, o.check) != ("city", "max_null_fraction")
    ]
    assert not result.passed


def test_passing_checks_have_no_example(engine: OfflineEngine, tmp_path: Path) -> None:
    request = CheckRequest(
        view=spec(write(tmp_path / "stats.parquet")),
        window=DAY,
        features=(
            FeatureCheck("trips", min=-5, max=30),  # both bounds inclusive
            FeatureCheck("conv_rate", max_null_fraction=1 / 6),  # exactly at the limit
            FeatureCheck("city", allowed=("paris", "lyon", "nice")),
        ),
        min_rows=6,
    )
    result = engine.check(request)
    assert result.passed and result.failures == []
    assert all(o.failed == 0 or o.check == "max_null_fraction" for o in result.outcomes)
    assert all(o.example_key is None and o.example_time is None for o in result.outcomes)


def test_an_open_start_reads_every_row_before_end(engine: OfflineEngine, tmp_path: Path) -> None:
    request = CheckRequest(
        view=spec(write(tmp_path / "stats.parquet")),
        window=Window(None, T0 + timedelta(days=1)),
        features=(FeatureCheck("conv_rate", max=1),),
        min_rows=8,
    )
    result = engine.check(request)
    assert result.rows == 7  # the row at END is still out
    conv_max = one(result.outcomes, "max", "conv_rate")  # 5.0 before T0, 1.5, the NaN
    assert (conv_max.failed, example(conv_max)) == (3, ({"driver_id": 1}, h(-1)))


def test_an_empty_window_fails_only_min_rows(engine: OfflineEngine, tmp_path: Path) -> None:
    request = CheckRequest(
        view=spec(write(tmp_path / "stats.parquet")),
        window=Window(h(30), h(40)),
        features=(FeatureCheck("conv_rate", min=0, max=1, max_null_fraction=0.0, allowed=(0.5,)),),
        min_rows=1,
        unique=True,
    )
    result = engine.check(request)
    assert result.rows == 0
    assert [(o.check, o.failed, o.passed) for o in result.outcomes] == [
        ("min", 0, True),
        ("max", 0, True),
        ("max_null_fraction", 0, True),  # no rows, no null fraction
        ("allowed", 0, True),
        ("unique", 0, True),
        ("min_rows", 1, False),
    ]


def test_numeric_allowed_values_and_float_literals(engine: OfflineEngine, tmp_path: Path) -> None:
    request = CheckRequest(
        view=spec(write(tmp_path / "stats.parquet")),
        window=DAY,
        features=(FeatureCheck("conv_rate", allowed=(0.5, 0.2, 0.3)), FeatureCheck("trips", allowed=(5, 10, 20))),
    )
    got = engine.check(request).outcomes
    conv = one(got, "allowed", "conv_rate")  # 1.5 and the NaN (the null is not counted)
    assert (conv.failed, example(conv)) == (2, ({"driver_id": 1}, h(2)))
    trips = one(got, "allowed", "trips")  # 30, -5, 7
    assert (trips.failed, example(trips)) == (3, ({"driver_id": 2}, h(1)))


def test_several_join_keys_in_the_example(engine: OfflineEngine, tmp_path: Path) -> None:
    path = write(tmp_path / "stats.parquet")
    two_keys = ViewSpec(
        name="trips",
        source=SourceSpec("stats_src", str(path), "parquet", "event_timestamp", None),
        join_keys=("driver_id", "city_name"),
        features=(FeatureSpec("trips", "int64"),),
    )
    result = engine.check(
        CheckRequest(view=two_keys, window=DAY, features=(FeatureCheck("trips", max=25),), unique=True)
    )
    trips = one(result.outcomes, "max", "trips")
    assert example(trips) == ({"driver_id": 1, "city_name": "paris"}, h(3))
    assert one(result.outcomes, "unique").failed == 0  # key 2's two rows differ in city


def test_a_missing_column_is_a_store_error_naming_view_and_column(engine: OfflineEngine, tmp_path: Path) -> None:
    view = spec(write(tmp_path / "stats.parquet"))
    broken = ViewSpec(view.name, view.source, view.join_keys, (*view.features, FeatureSpec("speed", "float64")))
    with pytest.raises(StoreError) as info:
        engine.check(CheckRequest(view=broken, window=DAY, features=(FeatureCheck("speed", min=0),)))
    assert "stats" in str(info.value) and "speed" in str(info.value)


def test_check_request_reads_a_canonical_view(tmp_path: Path) -> None:
    view = {
        "name": "stats",
        "checks": {
            "trips": {"min": 0.0, "max": None, "max_null_fraction": None},
            "conv_rate": {"min": None, "max": 1.0, "max_null_fraction": 0.1, "allowed": [0.5]},
        },
        "row_checks": {"min_rows": 3, "unique": True},
    }
    request = check_request(view, spec(tmp_path / "x.parquet"), DAY)
    assert request.features == (  # in schema order
        FeatureCheck("conv_rate", max=1.0, max_null_fraction=0.1, allowed=(0.5,)),
        FeatureCheck("trips", min=0.0),
    )
    assert (request.min_rows, request.unique, request.empty) == (3, True, False)
    bare = check_request({"name": "stats", "checks": {}}, spec(tmp_path / "x.parquet"), DAY)
    assert bare.empty and (bare.min_rows, bare.unique) == (None, False)
