"""Statistics through the offline-engine interface (``engine.stats(StatsRequest)``), checked
against the same numbers computed directly with numpy and pyarrow.compute on the same data.
Every engine must pass these (``ENGINE_PARAMS``: DuckDB and Spark).

Exact: row counts, nulls, min, max, mean and standard deviation (to float rounding),
histogram counts, counts in given bins and categories, most frequent values. Approximate:
quantiles (a t-digest: the value's rank within 0.02 of q) and the distinct estimate (HLL:
within 5%)."""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fsctl.errors import StoreError
from fsctl.offline import OfflineEngine
from fsctl.offline.requests import (
    FeatureSpec,
    FileRows,
    SourceSpec,
    StatsColumn,
    StatsRequest,
    ViewSpec,
)
from tests.support.spark import ENGINE_PARAMS, make_engine

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
N = 20_000
@pytest.fixture(params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[OfflineEngine]:
    """Every offline engine; each must give the answers below."""
    made = make_engine(request)
    yield made
    made.close()


def _data(seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 3.0, N)
    x[rng.random(N) < 0.05] = np.nan  # NaN and infinities count as nulls
    x[5], x[6] = np.inf, -np.inf
    x_arr = pa.array(x, pa.float64())
    x_arr = pc.if_else(pc.equal(pa.array(np.arange(N) % 50), 0), pa.scalar(None, pa.float64()), x_arr)  # and nulls
    trips = rng.integers(0, 100, N)
    cities = np.array(["paris", "lyon", "nice", "lille", "brest"])[rng.choice(5, N, p=[0.4, 0.3, 0.15, 0.1, 0.05])]
    city = pa.array([None if i % 40 == 0 else c for i, c in enumerate(cities)], pa.string())
    return pa.table(
        {
            "driver_id": pa.array(np.arange(N) % 97, pa.int64()),
            "event_timestamp": pa.array([T0 + timedelta(minutes=i) for i in range(N)], pa.timestamp("us", tz="UTC")),
            "rate": x_arr,
            "trips_raw": pa.array(trips, pa.int32()),  # mapped to feature "trips" by field_mapping
            "city": city,
            "active": pa.array(rng.random(N) < 0.3),
            "seen": pa.array([T0 + timedelta(hours=int(h)) for h in rng.integers(0, 1000, N)], pa.timestamp("us")),
        }
    )


def _view(path: Path) -> ViewSpec:
    return ViewSpec(
        name="driver_stats",
        source=SourceSpec(
            name="driver_source",
            location=str(path),
            format="parquet",
            timestamp_field="event_timestamp",
            created_timestamp_field=None,
            field_mapping=(("trips_raw", "trips"),),
        ),
        join_keys=("driver_id",),
        features=(
            FeatureSpec("rate", "float64"),
            FeatureSpec("trips", "int64"),
            FeatureSpec("city", "string"),
            FeatureSpec("active", "bool"),
            FeatureSpec("seen", "timestamp"),
        ),
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    path = tmp_path_factory.mktemp("stats") / "driver_stats.parquet"
    table = _data()
    pq.write_table(table, path, row_group_size=4096)
    return path, table


def _columns(view: ViewSpec) -> tuple[StatsColumn, ...]:
    return tuple(StatsColumn(f.name, f.dtype) for f in view.features)


def _finite(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    array = np.asarray(pc.fill_null(pc.cast(values, pa.float64()), np.nan).to_numpy(zero_copy_only=False), float)
    return array[np.isfinite(array)]


def _rank_ok(values: np.ndarray, q: float, got: float, tolerance: float = 0.02) -> bool:
    below, at_or_below = np.mean(values < got), np.mean(values <= got)
    return below - tolerance <= q <= at_or_below + tolerance


def _check_numeric(stats: Any, column: pa.ChunkedArray, bins: int) -> None:
    values = _finite(column)
    assert stats.count == len(column)
    assert stats.nulls == len(column) - len(values)
    assert stats.min == pytest.approx(float(values.min()), rel=0, abs=0)
    assert stats.max == pytest.approx(float(values.max()), rel=0, abs=0)
    assert stats.mean == pytest.approx(float(values.mean()), rel=1e-12)
    assert stats.std == pytest.approx(float(values.std(ddof=1)), rel=1e-9)
    assert abs(stats.distinct - len(np.unique(values))) <= 0.05 * len(np.unique(values))
    for q, got in stats.quantiles:
        assert _rank_ok(values, q, got), (q, got)
    expected, edges = np.histogram(values, bins=bins, range=(values.min(), values.max()))
    assert [b.count for b in stats.histogram] == expected.tolist()
    assert [b.lower for b in stats.histogram] == pytest.approx(edges[:-1].tolist())
    assert stats.histogram[-1].upper == values.max()


def test_numeric_statistics_match_numpy(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, table = source
    view = _view(path)
    answer = engine.stats(StatsRequest(view, _columns(view), bins=12))
    assert answer.rows == N
    assert [f.name for f in answer.features] == ["rate", "trips", "city", "active", "seen"]
    rate = answer.feature("rate")
    assert (rate.kind, rate.dtype) == ("numeric", "float64")
    _check_numeric(rate, table["rate"], 12)
    # 2 infinities, the NaNs and the nulls are all nulls
    nan_count = int(np.isnan(table["rate"].to_numpy(zero_copy_only=False).astype(float)).sum())
    assert rate.nulls == nan_count + 2
    trips = answer.feature("trips")  # read through field_mapping
    _check_numeric(trips, table["trips_raw"], 12)
    assert isinstance(trips.min, int) and isinstance(trips.max, int)
    assert [q for q, _ in trips.quantiles] == [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


def test_categorical_and_other_statistics_match_pyarrow(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, table = source
    view = _view(path)
    answer = engine.stats(StatsRequest(view, _columns(view), top_k=3))
    city = answer.feature("city")
    counts = collections.Counter(v for v in table["city"].to_pylist() if v is not None)
    assert (city.kind, city.count, city.nulls) == ("categorical", N, table["city"].null_count)
    assert city.top == tuple(sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:3])
    assert (city.min, city.max) == (min(counts), max(counts))
    assert city.distinct == 5
    assert (city.mean, city.std, city.quantiles, city.histogram) == (None, None, (), ())
    active = answer.feature("active")
    trues = int(pc.sum(table["active"]).as_py())
    assert active.top == (("false", N - trues), ("true", trues))
    assert active.nulls == 0
    seen = answer.feature("seen")
    assert seen.kind == "other"
    assert seen.min == pc.min(table["seen"]).as_py().isoformat() + "Z"
    assert seen.max == pc.max(table["seen"]).as_py().isoformat() + "Z"
    assert abs(seen.distinct - len(pc.unique(table["seen"]))) <= 0.05 * len(pc.unique(table["seen"]))


def test_a_time_range_filters_on_event_time_half_open(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, table = source
    view = _view(path)
    start, end = T0 + timedelta(minutes=1000), T0 + timedelta(minutes=5000)
    answer = engine.stats(StatsRequest(view, _columns(view), start=start, end=end))
    part = table.slice(1000, 4000)  # minute 1000 in, minute 5000 out
    assert answer.rows == 4000
    _check_numeric(answer.feature("rate"), part["rate"], 10)
    assert engine.stats(StatsRequest(view, _columns(view), start=start)).rows == N - 1000
    assert engine.stats(StatsRequest(view, _columns(view), end=end)).rows == 5000


def test_an_empty_range_has_no_rows_and_no_values(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, _ = source
    view = _view(path)
    answer = engine.stats(StatsRequest(view, _columns(view), start=T0 + timedelta(days=365), bin_quantiles=(0.5,)))
    assert answer.rows == 0
    rate = answer.feature("rate")
    assert (rate.count, rate.nulls, rate.min, rate.mean, rate.quantiles, rate.histogram) == (0, 0, None, None, (), ())
    assert rate.null_fraction is None
    assert answer.feature("city").top == ()


def test_counts_in_given_bins_and_categories(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, table = source
    view = _view(path)
    edges = (5.0, 8.0, 10.0, 12.5)
    columns = (
        StatsColumn("rate", "float64", edges=edges),
        StatsColumn("city", "string", categories=("nice", "paris", "rome")),
    )
    answer = engine.stats(StatsRequest(view, columns))
    values = _finite(table["rate"])
    expected = np.histogram(values, bins=[-np.inf, *edges, np.inf])[0].tolist()
    binned = answer.feature("rate").binned
    assert binned is not None and binned.edges == edges and list(binned.counts) == expected
    # np.histogram closes the last bin; no value equals an edge here, so the counts agree
    assert not np.isin(values, edges).any()
    cities = collections.Counter(table["city"].to_pylist())
    assert answer.feature("city").categories == (("nice", cities["nice"]), ("paris", cities["paris"]), ("rome", 0))


def test_bins_at_its_own_quantiles(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    """``bin_quantiles``: the baseline side of a PSI, in the same request."""
    path, table = source
    view = _view(path)
    deciles = tuple(k / 10 for k in range(1, 10))
    answer = engine.stats(StatsRequest(view, _columns(view), bin_quantiles=deciles))
    rate = answer.feature("rate")
    assert rate.binned is not None and len(rate.binned.edges) == 9
    values = _finite(table["rate"])
    assert list(rate.binned.counts) == np.histogram(values, bins=[-np.inf, *rate.binned.edges, np.inf])[0].tolist()
    assert all(abs(c / len(values) - 0.1) < 0.02 for c in rate.binned.counts)
    # quantiles asked only for binning are not reported
    assert [q for q, _ in rate.quantiles] == [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    assert answer.feature("city").binned is None


def test_one_value_everywhere_is_one_bin(engine: OfflineEngine, tmp_path: Path) -> None:
    path = tmp_path / "flat.parquet"
    pq.write_table(
        pa.table({"driver_id": [1, 2, 3], "event_timestamp": pa.array([T0] * 3, pa.timestamp("us", tz="UTC")), "x": [4.0, 4.0, None]}),
        path,
    )
    view = ViewSpec("flat", SourceSpec("flat", str(path), "parquet", "event_timestamp", None), ("driver_id",), (FeatureSpec("x", "float64"),))
    x = engine.stats(StatsRequest(view, (StatsColumn("x", "float64"),))).feature("x")
    assert [(b.lower, b.upper, b.count) for b in x.histogram] == [(4.0, 4.0, 2)]
    assert (x.mean, x.std, x.nulls) == (4.0, 0.0, 1)


def test_csv_sources_are_described_too(engine: OfflineEngine, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("driver_id,event_timestamp,x\n1,2026-01-01T00:00:00Z,1.5\n2,2026-01-01T01:00:00+01:00,\n3,2026-01-02T00:00:00Z,4.5\n")
    view = ViewSpec("csv", SourceSpec("csv", str(path), "csv", "event_timestamp", None), ("driver_id",), (FeatureSpec("x", "float64"),))
    # 01:00+01:00 is midnight UTC: in [00:00, 00:01)
    answer = engine.stats(StatsRequest(view, (StatsColumn("x", "float64"),), end=T0 + timedelta(minutes=1)))
    assert (answer.rows, answer.feature("x").nulls, answer.feature("x").mean) == (2, 1, 1.5)


def test_files_with_json_columns_and_filters(engine: OfflineEngine, tmp_path: Path) -> None:
    """FileRows: the prediction log's shape, date partitions, rows of one model version,
    values read out of JSON text."""
    rows = []
    for i in range(300):
        features = {"conv": i / 300, "trips": i % 7, "city": ["a", "b"][i % 2], "flag": i % 3 == 0}
        if i % 10 == 0:
            features["conv"] = None
        if i % 25 == 0:
            del features["trips"]  # a missing key is a null
        rows.append(
            {
                "predicted_at": T0 + timedelta(hours=i),
                "model": "churn" if i % 4 else "other",
                "model_version": 1 + i % 2,
                "features": json.dumps(features),
                "prediction": i / 10,
            }
        )
    table = pa.Table.from_pylist(rows)
    by_day: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        by_day[row["predicted_at"].date().isoformat()].append(row)
    for day, group in by_day.items():
        folder = tmp_path / "log" / f"date={day}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(group, schema=table.schema), folder / "part-0.parquet")
    request = StatsRequest(
        FileRows("the log", str(tmp_path / "log"), time_column="predicted_at", equals=(("model", "churn"), ("model_version", 2))),
        (
            StatsColumn("conv", "float64", column="features", json_key="conv"),
            StatsColumn("trips", "int64", column="features", json_key="trips"),
            StatsColumn("city", "string", column="features", json_key="city"),
            StatsColumn("flag", "bool", column="features", json_key="flag"),
            StatsColumn("prediction", "float64"),
        ),
        end=T0 + timedelta(hours=200),
    )
    answer = engine.stats(request)
    kept = [r for r in rows if r["model"] == "churn" and r["model_version"] == 2 and r["predicted_at"] < T0 + timedelta(hours=200)]
    assert answer.rows == len(kept)
    served = [json.loads(r["features"]) for r in kept]
    conv = [f["conv"] for f in served if f["conv"] is not None]
    assert answer.feature("conv").nulls == len(kept) - len(conv)
    assert answer.feature("conv").mean == pytest.approx(float(np.mean(conv)), rel=1e-12)
    trips = [f["trips"] for f in served if "trips" in f]
    assert (answer.feature("trips").nulls, answer.feature("trips").max) == (len(kept) - len(trips), max(trips))
    assert dict(answer.feature("city").top) == dict(collections.Counter(f["city"] for f in served))
    assert dict(answer.feature("flag").top) == {
        str(k).lower(): v for k, v in collections.Counter(f["flag"] for f in served).items()
    }
    assert answer.feature("prediction").mean == pytest.approx(float(np.mean([r["prediction"] for r in kept])))


def test_a_column_that_is_not_there_or_of_another_type_is_one_clear_error(engine: OfflineEngine, source: tuple[Path, pa.Table], tmp_path: Path) -> None:
    path, _ = source
    view = _view(path)
    with pytest.raises(StoreError, match=r"source 'driver_source' has no column 'nope'"):
        engine.stats(StatsRequest(view, (StatsColumn("x", "float64", column="nope"),)))
    files = FileRows("baseline file t.parquet", str(path))
    with pytest.raises(StoreError, match=r"baseline file t.parquet: column 'city' .* is string, so it cannot be read as float64"):
        engine.stats(StatsRequest(files, (StatsColumn("city", "float64"),)))
    with pytest.raises(StoreError, match=r"cannot read the log at .*missing"):
        engine.stats(StatsRequest(FileRows("the log", str(tmp_path / "missing")), (StatsColumn("x", "float64"),)))


def test_statistics_are_finite_numbers(engine: OfflineEngine, source: tuple[Path, pa.Table]) -> None:
    path, _ = source
    view = _view(path)
    for f in engine.stats(StatsRequest(view, _columns(view))).features:
        for value in (f.mean, f.std, *(v for _, v in f.quantiles)):
            assert value is None or math.isfinite(value)


def test_most_frequent_values_of_a_column_with_many_distinct_values(engine: OfflineEngine, tmp_path: Path) -> None:
    """Tens of thousands of distinct strings (an engine may not count each): the top values
    and the requested categories still come with exact counts."""
    values = [f"user{i}" for i in range(25_000)] + ["hot1"] * 500 + ["hot2"] * 300 + ["hot3"] * 200 + [None] * 10
    path = tmp_path / "many.parquet"
    pq.write_table(
        pa.table(
            {
                "k": list(range(len(values))),
                "event_timestamp": pa.array([T0] * len(values), pa.timestamp("us", tz="UTC")),
                "who": pa.array(values, pa.string()),
            }
        ),
        path,
    )
    view = ViewSpec("many", SourceSpec("many", str(path), "parquet", "event_timestamp", None), ("k",), (FeatureSpec("who", "string"),))
    who = engine.stats(StatsRequest(view, (StatsColumn("who", "string", categories=("hot2", "user7", "nobody")),), top_k=3)).feature("who")
    assert who.top == (("hot1", 500), ("hot2", 300), ("hot3", 200))
    assert who.categories == (("hot2", 300), ("user7", 1), ("nobody", 0))
    assert who.nulls == 10 and abs(who.distinct - 25_003) <= 0.05 * 25_003
