"""Point-in-time retrieval, one hand-written case per rule of DESIGN.md section 3, plus inputs,
outputs and the errors a user can meet.

Most cases use one driver view: source rows ``(driver_id, event_timestamp, created, conv)``
at hours past ``T0``, applied to a registry beside the repo, then read back with
``FeatureStore.get_historical_features``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fsctl import FeatureStore
from fsctl.errors import StoreError, UsageError

T0 = datetime(2024, 1, 1)
US = timedelta(microseconds=1)

ENTITIES = (
    "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n"
    "kind: Entity\nname: customer\njoin_keys: [customer_id]\n---\n"
    "kind: Entity\nname: trip\njoin_keys: [driver_id, city]\n"
)


def at(hours: float, micros: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, microseconds=micros)


def source_yaml(name: str = "stats_src", path: str = "data/stats.parquet", **extra: str) -> str:
    doc = f"kind: FileSource\nname: {name}\npath: {path}\ntimestamp_field: event_timestamp\n"
    doc += "".join(
        f"{key}: {value}\n" for key, value in {"created_timestamp_field": "created", **extra}.items() if value
    )
    return doc


def view_yaml(
    name: str = "stats",
    source: str = "stats_src",
    entities: str = "driver",
    ttl: str | None = "2h",
    schema: str = "{name: conv, dtype: float64}",
) -> str:
    doc = f"kind: FeatureView\nname: {name}\nentities: [{entities}]\nsource: {source}\n"
    if ttl is not None:
        doc += f"ttl: {ttl}\n"
    return doc + "schema:\n" + "".join(f"  - {field}\n" for field in schema.split(";"))


def parquet(table: pa.Table | dict[str, list[Any]]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table if isinstance(table, pa.Table) else pa.table(table), sink)
    return sink.getvalue().to_pybytes()


def rows(*items: tuple[Any, ...]) -> pa.Table:
    """Source rows ``(driver_id, event_timestamp, created, conv)``."""
    columns = list(zip(*items, strict=True)) if items else [[], [], [], []]
    return pa.table(
        {
            "driver_id": pa.array(columns[0], pa.int64()),
            "event_timestamp": pa.array(columns[1], pa.timestamp("us")),
            "created": pa.array(columns[2], pa.timestamp("us")),
            "conv": pa.array(columns[3], pa.float64()),
        }
    )


def entities(*items: tuple[int, datetime], **extra: list[Any]) -> pa.Table:
    return pa.table(
        {
            "driver_id": pa.array([i[0] for i in items], pa.int64()),
            "event_timestamp": pa.array([i[1] for i in items], pa.timestamp("us")),
            **extra,
        }
    )


@pytest.fixture
def store(make_repo: Callable[..., Path], offline_yaml: str) -> Callable[..., FeatureStore]:
    """``store(*yaml docs, data={path: table or bytes or text})`` -> an applied FeatureStore on
    each offline engine (see conftest)."""
    count = 0

    def build(*docs: str, data: dict[str, Any] | None = None) -> FeatureStore:
        nonlocal count
        count += 1
        files: dict[str, str | bytes] = {
            "fsctl.yaml": "project: demo\nregistry: data/registry.json\n" + offline_yaml,
            "defs.yaml": "---\n".join([ENTITIES, *docs]),
        }
        for path, content in (data or {}).items():
            files[path] = parquet(content) if isinstance(content, (pa.Table, dict)) else content
        fs = FeatureStore(make_repo(files, name=f"repo{count}"))
        fs.apply()
        return fs

    return build


def one_view(store: Callable[..., FeatureStore], data: pa.Table, ttl: str | None = "2h") -> FeatureStore:
    return store(source_yaml(), view_yaml(ttl=ttl), data={"data/stats.parquet": data})


def conv(fs: FeatureStore, entity_rows: Any, **kwargs: Any) -> list[Any]:
    with fs.get_historical_features(entity_rows, ["stats:conv"], **kwargs) as result:
        return result.to_arrow().column("conv").to_pylist()


def utc_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with event_timestamp as an aware UTC datetime, whatever type the input had."""
    ts = table.column("event_timestamp")
    if pa.types.is_timestamp(ts.type) and ts.type.tz is None:
        ts = pc.assume_timezone(ts, "UTC")
    ts = ts.cast(pa.timestamp("us", tz="UTC"))
    return table.set_column(table.column_names.index("event_timestamp"), "event_timestamp", ts).to_pylist()


# ---------------------------------------------------------------- the join rules


def test_an_event_exactly_at_the_entity_time_matches(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1), (1, at(1), at(1), 0.2)))
    assert conv(fs, entities((1, at(1)), (1, at(1, -1)))) == [0.2, 0.1]


def test_the_ttl_lower_bound_is_inclusive_and_one_microsecond_more_misses(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)), ttl="2h")
    assert conv(fs, entities((1, at(2)), (1, at(2, 1)))) == [0.1, None]


@pytest.mark.parametrize("ttl", [None, "0"])
def test_no_ttl_means_no_lower_bound(store, ttl):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)), ttl=ttl)
    assert conv(fs, entities((1, at(24 * 365 * 30)), (1, at(0, -1)))) == [0.1, None]


def test_an_event_time_tie_goes_to_the_latest_created_time(store):
    fs = one_view(store, rows((1, at(1), at(1.5), 0.2), (1, at(1), at(3), 0.3), (1, at(1), at(2), 0.1)))
    assert conv(fs, entities((1, at(1)))) == [0.3]


def test_a_null_created_time_loses_a_tie(store):
    fs = one_view(store, rows((1, at(1), None, 0.9), (1, at(1), at(0), 0.2), (1, at(1), None, 0.8)))
    assert conv(fs, entities((1, at(1)))) == [0.2]


def test_an_all_null_created_tie_still_returns_one_of_the_rows(store):
    fs = one_view(store, rows((1, at(1), None, 0.7), (1, at(1), None, 0.8), (1, at(0), at(0), 0.1)))
    assert conv(fs, entities((1, at(1)))) in ([0.7], [0.8])


def test_no_matching_row_gives_nulls(store):
    fs = one_view(store, rows((1, at(1), at(1), 0.1)))
    assert conv(fs, entities((2, at(1)), (1, at(4)))) == [None, None]


def test_an_entity_row_before_any_event_gives_nulls(store):
    fs = one_view(store, rows((1, at(1), at(1), 0.1)), ttl=None)
    assert conv(fs, entities((1, at(1, -1)), (1, at(-1000)))) == [None, None]


def test_duplicate_entity_rows_each_come_out_once_in_input_order_with_all_columns(store):
    # Feast #6787: duplicate entity rows were collapsed and extra columns such as labels lost.
    fs = one_view(store, rows((1, at(0), at(0), 0.1), (2, at(0), at(0), 0.2)))
    entity_rows = entities(
        (2, at(1)),
        (1, at(1)),
        (2, at(1)),
        (2, at(1)),
        (1, at(-1)),
        label=[1, 0, 1, 1, 0],
        note=["a", "b", "a", "c", None],
    )
    with fs.get_historical_features(entity_rows, ["stats:conv"]) as result:
        table = result.to_arrow()
    assert table.column_names == ["driver_id", "event_timestamp", "label", "note", "conv"]
    assert table.to_pylist() == [
        {"driver_id": 2, "event_timestamp": at(1), "label": 1, "note": "a", "conv": 0.2},
        {"driver_id": 1, "event_timestamp": at(1), "label": 0, "note": "b", "conv": 0.1},
        {"driver_id": 2, "event_timestamp": at(1), "label": 1, "note": "a", "conv": 0.2},
        {"driver_id": 2, "event_timestamp": at(1), "label": 1, "note": "c", "conv": 0.2},
        {"driver_id": 1, "event_timestamp": at(-1), "label": 0, "note": None, "conv": None},
    ]


def test_composite_join_keys_match_on_every_key(store):
    data = pa.table(
        {
            "driver_id": [1, 1, 2],
            "city": ["oslo", "rome", "oslo"],
            "event_timestamp": pa.array([at(0)] * 3, pa.timestamp("us")),
            "created": pa.array([at(0)] * 3, pa.timestamp("us")),
            "fare": [10.0, 20.0, 30.0],
        }
    )
    fs = store(
        source_yaml("trips_src", "data/trips.parquet"),
        view_yaml("trips", "trips_src", "trip", schema="{name: fare, dtype: float64}"),
        data={"data/trips.parquet": data},
    )
    entity_rows = entities(
        (1, at(1)), (1, at(1)), (2, at(1)), (2, at(1)), city=["rome", "oslo", "oslo", "rome"]
    )
    with fs.get_historical_features(entity_rows, ["trips:fare"]) as result:
        assert result.to_arrow().column("fare").to_pylist() == [20.0, 10.0, 30.0, None]


def test_composite_keys_that_would_collide_as_strings_stay_apart(store):
    # Feast's Spark store joins on the keys concatenated into one string: ("a_b", "c") and
    # ("a", "b_c") would both be "a_b_c".
    data = pa.table(
        {
            "driver_id": [1, 1],
            "city": ["a_b", "a"],
            "zone": ["c", "b_c"],
            "event_timestamp": pa.array([at(0)] * 2, pa.timestamp("us")),
            "created": pa.array([at(0)] * 2, pa.timestamp("us")),
            "fare": [1.0, 2.0],
        }
    )
    fs = store(
        "kind: Entity\nname: place\njoin_keys: [city, zone]\n",
        source_yaml("trips_src", "data/trips.parquet"),
        view_yaml("trips", "trips_src", "place", schema="{name: fare, dtype: float64}"),
        data={"data/trips.parquet": data},
    )
    entity_rows = pa.table(
        {
            "city": ["a", "a_b", "a_b", "a"],
            "zone": ["b_c", "c", "b_c", "c"],
            "event_timestamp": pa.array([at(1)] * 4, pa.timestamp("us")),
        }
    )
    with fs.get_historical_features(entity_rows, ["trips:fare"]) as result:
        assert result.to_arrow().column("fare").to_pylist() == [2.0, 1.0, None, None]


def test_a_null_created_time_alone_still_matches(store):
    fs = one_view(store, rows((1, at(1), None, 0.5), (2, at(0), at(0), 0.1), (2, at(1), None, 0.2)))
    assert conv(fs, entities((1, at(1)), (1, at(1, -1)), (2, at(1)))) == [0.5, None, 0.2]


def test_two_views_with_different_entities_in_one_request(store):
    customers = pa.table(
        {
            "customer_id": [7, 8],
            "event_timestamp": pa.array([at(0), at(0)], pa.timestamp("us")),
            "created": pa.array([at(0), at(0)], pa.timestamp("us")),
            "balance": [70.0, 80.0],
        }
    )
    fs = store(
        source_yaml(),
        view_yaml(),
        source_yaml("cust_src", "data/cust.parquet"),
        view_yaml("cust", "cust_src", "customer", ttl=None, schema="{name: balance, dtype: float64}"),
        data={
            "data/stats.parquet": rows((1, at(0), at(0), 0.1), (2, at(0), at(0), 0.2)),
            "data/cust.parquet": customers,
        },
    )
    entity_rows = entities((1, at(1)), (2, at(3)), customer_id=[8, 7])
    with fs.get_historical_features(entity_rows, ["cust:balance", "stats:conv"]) as result:
        table = result.to_arrow()
        stats = result.stats()
    assert table.column_names == ["driver_id", "event_timestamp", "customer_id", "balance", "conv"]
    assert table.select(["balance", "conv"]).to_pylist() == [
        {"balance": 80.0, "conv": 0.1},
        {"balance": 70.0, "conv": None},  # the driver row is 3h old, beyond the 2h TTL
    ]
    assert stats.rows == 2 and stats.matched == {"cust": 1.0, "stats": 0.5}


def test_two_views_on_one_source_with_their_own_features_and_ttls(store):
    data = rows((1, at(0), at(0), 0.1), (1, at(3), None, 0.2)).append_column("trips", pa.array([5, 6], pa.int32()))
    fs = store(
        source_yaml(),
        view_yaml(ttl="2h"),
        view_yaml("activity", ttl=None, schema="{name: trips, dtype: int32}"),
        data={"data/stats.parquet": data},
    )
    with fs.get_historical_features(entities((1, at(2)), (1, at(5, 1))), ["activity:trips", "stats:conv"]) as result:
        table = result.to_arrow()
    assert table.select(["trips", "conv"]).to_pylist() == [{"trips": 5, "conv": 0.1}, {"trips": 6, "conv": None}]
    assert table.schema.field("trips").type == pa.int32()


def test_field_mapping_for_a_feature_and_a_join_key(store):
    data = pa.table(
        {
            "drv": [1, 2],
            "event_timestamp": pa.array([at(0), at(0)], pa.timestamp("us")),
            "created": pa.array([at(0), at(0)], pa.timestamp("us")),
            "conversion_rate": [0.1, 0.2],
        }
    )
    fs = store(
        source_yaml(field_mapping="{drv: driver_id, conversion_rate: conv}"),
        view_yaml(),
        data={"data/stats.parquet": data},
    )
    assert conv(fs, entities((2, at(1)), (1, at(1)), (3, at(1)))) == [0.2, 0.1, None]


@pytest.mark.parametrize("offline_engine", ["duckdb"])  # not about the engine
def test_full_feature_names_are_view__feature(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    with fs.get_historical_features(entities((1, at(1))), ["stats:conv"], full_feature_names=True) as result:
        assert result.to_arrow().to_pylist() == [
            {"driver_id": 1, "event_timestamp": at(1), "stats__conv": 0.1}
        ]


@pytest.mark.parametrize("offline_engine", ["duckdb"])  # not about the engine
def test_a_feature_name_collision_without_full_names_is_a_clear_error(store):
    fs = store(
        source_yaml(),
        view_yaml(),
        view_yaml("stats_again"),
        data={"data/stats.parquet": rows((1, at(0), at(0), 0.1))},
    )
    with pytest.raises(UsageError) as caught:
        fs.get_historical_features(entities((1, at(1))), ["stats:conv", "stats_again:conv"])
    assert "'conv'" in caught.value.message and "twice" in caught.value.message
    assert "full feature names" in str(caught.value.hint)
    with fs.get_historical_features(
        entities((1, at(1))), ["stats:conv", "stats_again:conv"], full_feature_names=True
    ) as result:
        assert result.to_arrow().select(["stats__conv", "stats_again__conv"]).to_pylist() == [
            {"stats__conv": 0.1, "stats_again__conv": 0.1}
        ]


# ---------------------------------------------------------------- time zones, formats, inputs, outputs


def test_zoned_and_naive_entity_times_give_the_same_answer(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1), (1, at(1), at(1), 0.2)))
    naive = [at(0.5), at(1), at(1, -1), at(3, 1)]
    plus_two = timezone(timedelta(hours=2))
    zoned = [t.replace(tzinfo=timezone.utc).astimezone(plus_two) for t in naive]
    zoned_rows = pa.table(
        {"driver_id": [1] * 4, "event_timestamp": pa.array(zoned, pa.timestamp("us", tz="+02:00"))}
    )
    assert conv(fs, entities(*[(1, t) for t in naive])) == [0.1, 0.2, 0.1, None]
    assert conv(fs, zoned_rows) == [0.1, 0.2, 0.1, None]


def test_a_zoned_source_is_read_in_utc(store):
    plus_two = timezone(timedelta(hours=2))

    def zoned(t: datetime) -> datetime:
        return t.replace(tzinfo=timezone.utc).astimezone(plus_two)

    data = pa.table(
        {
            "driver_id": [1, 1],
            "event_timestamp": pa.array([zoned(at(0)), zoned(at(1))], pa.timestamp("us", tz="+02:00")),
            "created": pa.array([zoned(at(0)), zoned(at(1))], pa.timestamp("us", tz="+02:00")),
            "conv": [0.1, 0.2],
        }
    )
    fs = one_view(store, data)
    assert conv(fs, entities((1, at(1)), (1, at(1, -1)), (1, at(3, 1)))) == [0.2, 0.1, None]


CSV_SOURCE = (
    "driver_id,event_timestamp,created,conv\n"
    "1,2024-01-01T00:00:00Z,2024-01-01T00:05:00Z,0.1\n"
    "1,2024-01-01T03:00:00+02:00,2024-01-01T01:05:00Z,0.2\n"  # 01:00 UTC
    "2,2024-01-01T00:00:00Z,,0.3\n"
    "2,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z,0.4\n"
)


def test_a_csv_source_and_a_csv_entity_file_with_iso_strings(store, tmp_path):
    fs = store(
        source_yaml(path="data/stats.csv", format="csv"), view_yaml(), data={"data/stats.csv": CSV_SOURCE}
    )
    entity_file = tmp_path / "entities.csv"
    entity_file.write_text(
        "driver_id,event_timestamp,label\n"
        "1,2024-01-01T00:59:59.999999Z,a\n"
        "1,2024-01-01T03:00:00+02:00,b\n"
        "2,2024-01-01T00:00:00,c\n"
        "2,2024-01-01T02:00:00.000001Z,d\n"
    )
    with fs.get_historical_features(entity_file, ["stats:conv"]) as result:
        assert result.to_arrow().select(["driver_id", "label", "conv"]).to_pylist() == [
            {"driver_id": 1, "label": "a", "conv": 0.1},
            {"driver_id": 1, "label": "b", "conv": 0.2},
            {"driver_id": 2, "label": "c", "conv": 0.4},
            {"driver_id": 2, "label": "d", "conv": None},
        ]


@pytest.mark.parametrize(
    "path", ["data/parts", "data/parts/", "data/parts/*.parquet", "data/parts/day=*/*.parquet"]
)
def test_directory_and_glob_sources_read_every_file(store, path):
    days = {
        "data/parts/day=1/a.parquet": rows((1, at(0), at(0), 0.1), (2, at(0), at(0), 0.2)),
        "data/parts/day=2/b.parquet": rows((1, at(1), at(1), 0.3)),
        "data/parts/day=2/c.parquet": rows((2, at(1), at(1), 0.4), (1, at(1), at(0), 0.9)),
    }
    flat = {f"data/parts/{p.rsplit('/', 1)[1]}": t for p, t in days.items()}
    layout = days if "day=" in path or not path.endswith("*.parquet") else flat
    fs = store(source_yaml(path=path), view_yaml(), data=layout)
    assert conv(fs, entities((1, at(1)), (2, at(1)), (1, at(0.5)), (2, at(0.5)))) == [0.3, 0.4, 0.1, 0.2]


ENTITY_TIMES = [at(1), at(0.5), at(1, -1), at(3, 1), at(1)]


def test_every_entity_input_type_gives_the_same_result(store, tmp_path):
    fs = one_view(store, rows((1, at(0), at(0), 0.1), (1, at(1), at(1), 0.2), (2, at(1), at(1), 0.3)))
    table = entities(*zip([1, 1, 2, 1, 2], ENTITY_TIMES, strict=True), label=[0, 1, 0, 1, 1])
    pq.write_table(table, tmp_path / "entities.parquet")
    (tmp_path / "entities.csv").write_text(
        "driver_id,event_timestamp,label\n"
        + "".join(
            f"{k},{t.isoformat()}Z,{label}\n" for k, t, label in zip(*table.to_pydict().values(), strict=True)
        )
    )
    inputs = {
        "arrow": table,
        "pandas": table.to_pandas(),
        "polars": pl.from_arrow(table),
        "parquet path": tmp_path / "entities.parquet",
        "parquet str": str(tmp_path / "entities.parquet"),
        "csv path": tmp_path / "entities.csv",
    }
    results = {}
    for name, entity_rows in inputs.items():
        with fs.get_historical_features(entity_rows, ["stats:conv"]) as result:
            results[name] = utc_rows(result.to_arrow())
    expected = [
        {"driver_id": k, "event_timestamp": t.replace(tzinfo=timezone.utc), "label": label, "conv": c}
        for k, t, label, c in zip(
            [1, 1, 2, 1, 2], ENTITY_TIMES, [0, 1, 0, 1, 1], [0.2, 0.1, None, None, 0.3], strict=True
        )
    ]
    for name, got in results.items():
        assert got == expected, name


def test_every_output_form_agrees(store, tmp_path):
    data = pa.table(
        {
            "driver_id": [1, 1, 2],
            "event_timestamp": pa.array([at(0), at(1), at(1)], pa.timestamp("us")),
            "created": pa.array([at(0), at(1), at(1)], pa.timestamp("us")),
            "conv": [0.1, None, 0.3],
            "trips": [10, 11, None],
            "name": ["a", "b", "c"],
        }
    )
    fs = store(
        source_yaml(),
        view_yaml(
            schema="{name: conv, dtype: float64};{name: trips, dtype: int64};{name: name, dtype: string}"
        ),
        data={"data/stats.parquet": data},
    )
    entity_rows = entities(*zip([1, 1, 2, 1, 3], ENTITY_TIMES, strict=True), label=[1, 0, 1, 0, 1])
    with fs.get_historical_features(entity_rows, ["stats:trips", "stats:conv", "stats:name"]) as result:
        table = result.to_arrow()
        frames = result.to_pandas(), result.to_polars()
        batches = pa.Table.from_batches(list(result.to_batches(batch_size=2)))
        written_parquet = pq.read_table(result.write(tmp_path / "out" / "train.parquet"))
        written_csv = pacsv.read_csv(
            result.write(tmp_path / "out" / "train.csv"),
            convert_options=pacsv.ConvertOptions(column_types=table.schema, strings_can_be_null=True),
        )
        assert len(result) == 5
    assert table.to_pylist() == [
        {"driver_id": 1, "event_timestamp": at(1), "label": 1, "trips": 11, "conv": None, "name": "b"},
        {"driver_id": 1, "event_timestamp": at(0.5), "label": 0, "trips": 10, "conv": 0.1, "name": "a"},
        {"driver_id": 2, "event_timestamp": at(1, -1), "label": 1, "trips": None, "conv": None, "name": None},
        {"driver_id": 1, "event_timestamp": at(3, 1), "label": 0, "trips": None, "conv": None, "name": None},
        {"driver_id": 3, "event_timestamp": at(1), "label": 1, "trips": None, "conv": None, "name": None},
    ]
    pd.testing.assert_frame_equal(frames[0], table.to_pandas())
    assert frames[1].equals(pl.from_arrow(table))
    assert batches.equals(table)
    for written in (written_parquet, written_csv):  # (the parquet file marks entity columns not null)
        assert written.schema.types == table.schema.types and written.to_pylist() == table.to_pylist()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train.csv", "train.parquet"]


# ---------------------------------------------------------------- data errors


def test_a_declared_dtype_the_column_cannot_serve_names_view_column_and_both_types(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    wrong = rows((1, at(0), at(0), 0.1)).set_column(3, "conv", pa.array(["0.1"]))
    pq.write_table(wrong, fs.root / "data" / "stats.parquet")
    with pytest.raises(StoreError) as caught:
        fs.get_historical_features(entities((1, at(1))), ["stats:conv"])
    message = caught.value.message
    assert "view 'stats'" in message and "'conv'" in message and "float64" in message and "string" in message


def test_a_missing_feature_column_names_view_source_and_column(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    pq.write_table(rows((1, at(0), at(0), 0.1)).drop(["conv"]), fs.root / "data" / "stats.parquet")
    with pytest.raises(StoreError) as caught:
        fs.get_historical_features(entities((1, at(1))), ["stats:conv"])
    message = caught.value.message
    assert "view 'stats'" in message and "source 'stats_src'" in message and "column 'conv'" in message
    assert "stats.parquet" in message


def test_a_missing_source_file_is_a_store_error_naming_the_path(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    (fs.root / "data" / "stats.parquet").unlink()
    with pytest.raises(StoreError) as caught:
        fs.get_historical_features(entities((1, at(1))), ["stats:conv"])
    assert "stats_src" in caught.value.message and "stats.parquet" in caught.value.message


BAD_ENTITIES = {
    "no join key column": (
        pa.table({"driver": [1], "event_timestamp": pa.array([at(1)], pa.timestamp("us"))}),
        ["'driver_id'", "driver, event_timestamp"],
    ),
    "no event_timestamp": (
        pa.table({"driver_id": [1], "ts": pa.array([at(1)], pa.timestamp("us"))}),
        ["'event_timestamp'", "driver_id, ts"],
    ),
    "unparseable time": (
        pa.table(
            {"driver_id": [1, 1, 1], "event_timestamp": ["2024-01-01T00:00:00Z", "2024-01-01", "yesterday"]}
        ),
        ["row 3", "'yesterday'", "event_timestamp"],
    ),
    "null time": (
        pa.table({"driver_id": [1, 1], "event_timestamp": pa.array([at(1), None], pa.timestamp("us"))}),
        ["row 2", "event_timestamp", "null"],
    ),
    "null join key": (
        pa.table({"driver_id": [1, 2, None], "event_timestamp": pa.array([at(1)] * 3, pa.timestamp("us"))}),
        ["row 3", "null join key 'driver_id'"],
    ),
    "join key type": (
        pa.table({"driver_id": ["1"], "event_timestamp": pa.array([at(1)], pa.timestamp("us"))}),
        ["join key 'driver_id'", ("VARCHAR", "string"), ("BIGINT", "int64"), "stats_src", "view 'stats'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_ENTITIES))
def test_bad_entity_rows_are_a_usage_error_naming_the_problem(store, case):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    entity_rows, fragments = BAD_ENTITIES[case]
    with pytest.raises(UsageError) as caught:
        fs.get_historical_features(entity_rows, ["stats:conv"])
    for fragment in fragments:  # a tuple: the type names of DuckDB or of Spark
        alternatives = fragment if isinstance(fragment, tuple) else (fragment,)
        assert any(f in caught.value.message for f in alternatives), (fragment, caught.value.message)


def test_a_bad_entity_file_is_a_usage_error(store, tmp_path):
    fs = one_view(store, rows((1, at(0), at(0), 0.1)))
    with pytest.raises(UsageError, match="does not exist"):
        fs.get_historical_features(tmp_path / "nope.parquet", ["stats:conv"])
    (tmp_path / "rows.xlsx").write_text("x")
    with pytest.raises(UsageError, match=r"unknown extension '\.xlsx'"):
        fs.get_historical_features(tmp_path / "rows.xlsx", ["stats:conv"])
    with pytest.raises(UsageError, match="pyarrow Table, a pandas or polars DataFrame"):
        fs.get_historical_features([{"driver_id": 1}], ["stats:conv"])


# ---------------------------------------------------------------- naming what to retrieve

SERVICES_AND_MODEL = (
    "kind: FeatureService\nname: svc_one\nfeatures: [{view: stats, features: [conv]}]\n---\n"
    "kind: FeatureService\nname: svc_two\nfeatures: [stats]\n---\n"
    "kind: Model\nname: churn\nowner: ml@example.com\nversions:\n"  # Production needs an owner and a description
    "  - {version: 1, uri: 's3://m/1', feature_service: svc_one, description: First}\n"
    "  - {version: 2, uri: 's3://m/2', feature_service: svc_two}\n"
    "aliases: {Production: 1, Challenger: 2}\n"
)
TWO_FEATURES = "{name: conv, dtype: float64};{name: trips, dtype: int64}"


def model_store(store: Callable[..., FeatureStore]) -> FeatureStore:
    data = rows((1, at(0), at(0), 0.1)).append_column("trips", pa.array([5], pa.int64()))
    return store(
        source_yaml(), view_yaml(schema=TWO_FEATURES), SERVICES_AND_MODEL, data={"data/stats.parquet": data}
    )


@pytest.mark.parametrize("offline_engine", ["duckdb"])  # not about the engine
@pytest.mark.parametrize(
    ("how", "columns"),
    [
        ({"service": "svc_two"}, ["conv", "trips"]),
        ({"model": "churn@Production"}, ["conv"]),
        ({"model": "churn@Challenger"}, ["conv", "trips"]),
        ({"model": "churn/1"}, ["conv"]),
        ({"model": "churn/2"}, ["conv", "trips"]),
        ({"features": ["stats:trips", "stats:conv"]}, ["trips", "conv"]),
    ],
)
def test_services_and_models_pick_their_features(store, how, columns):
    fs = model_store(store)
    with fs.get_historical_features(entities((1, at(1))), **how) as result:
        table = result.to_arrow()
    assert table.column_names == ["driver_id", "event_timestamp", *columns]
    assert table.select(columns).to_pylist() == [{c: {"conv": 0.1, "trips": 5}[c] for c in columns}]


@pytest.mark.parametrize("offline_engine", ["duckdb"])  # not about the engine
@pytest.mark.parametrize(
    ("how", "message", "hint"),
    [
        ({"features": ["stat:conv"]}, "feature view 'stat' is not in the registry", "did you mean 'stats'?"),
        ({"features": ["stats:cnv"]}, "view 'stats' has no feature 'cnv'", "did you mean 'conv'?"),
        ({"features": ["stats:zzz"]}, "view 'stats' has no feature 'zzz'", "its features: conv, trips"),
        (
            {"features": ["stats"]},
            "feature reference 'stats' is not view:feature",
            "driver_hourly_stats:conv_rate",
        ),
        ({"service": "svc_three"}, "feature service 'svc_three' is not in the registry", "did you mean"),
        (
            {"model": "churn@Staging"},
            "model 'churn' has no alias 'Staging'",
            "its aliases: Challenger, Production",
        ),
        ({"model": "churn/7"}, "model 'churn' has no version 7", "its versions: 1, 2"),
        ({"model": "churn"}, "model reference 'churn' names no version", "NAME@ALIAS"),
        ({"model": "chrn@Production"}, "model 'chrn' is not in the registry", "did you mean 'churn'?"),
    ],
)
def test_unknown_names_are_usage_errors_with_a_hint(store, how, message, hint):
    fs = model_store(store)
    with pytest.raises(UsageError) as caught:
        fs.get_historical_features(entities((1, at(1))), **how)
    assert message in caught.value.message
    assert caught.value.hint and hint in caught.value.hint


@pytest.mark.parametrize("offline_engine", ["duckdb"])  # not about the engine
def test_features_service_and_model_are_exclusive(store):
    fs = model_store(store)
    for how in (
        {},
        {"features": ["stats:conv"], "service": "svc_one"},
        {"service": "svc_one", "model": "churn/1"},
    ):
        with pytest.raises(UsageError, match="one way"):
            fs.get_historical_features(entities((1, at(1))), **how)


# ---------------------------------------------------------------- the leakage guard


def test_the_leakage_guard_skips_rows_created_after_the_entity_time(store):
    fs = one_view(
        store,
        rows(
            (1, at(0), at(0.1), 0.1),
            (1, at(1), at(1.5), 0.2),  # known only half an hour after its event time
            (1, at(1), None, 0.3),  # never known to have been created
        ),
    )
    entity_rows = entities((1, at(1)), (1, at(1.25)), (1, at(1.5)))
    assert conv(fs, entity_rows) == [0.2, 0.2, 0.2]
    assert conv(fs, entity_rows, leakage_guard=True) == [0.1, 0.1, 0.2]


def test_the_leakage_guard_keeps_the_ttl(store):
    fs = one_view(store, rows((1, at(0), at(0), 0.1), (1, at(2), at(3), 0.2)), ttl="2h")
    assert conv(fs, entities((1, at(2)), (1, at(2, 1))), leakage_guard=True) == [0.1, None]


def test_the_leakage_guard_needs_created_times(store):
    fs = store(
        source_yaml(created_timestamp_field=""),
        view_yaml(),
        data={"data/stats.parquet": rows((1, at(0), at(0), 0.1))},
    )
    assert conv(fs, entities((1, at(1)))) == [0.1]
    with pytest.raises(UsageError) as caught:
        fs.get_historical_features(entities((1, at(1))), ["stats:conv"], leakage_guard=True)
    assert "leakage guard" in caught.value.message
    assert "source 'stats_src'" in caught.value.message and "created_timestamp_field" in caught.value.message


# ---------------------------------------------------------------- order at scale


def test_many_shuffled_entity_rows_come_back_in_input_order(store):
    rng = random.Random(6787)
    drivers = 2_000
    source = rows(*((d, at(h), at(h), d + h / 100) for d in range(drivers) for h in range(0, 24, 3)))
    fs = one_view(store, source, ttl="3h")
    n = 200_000
    keys = [rng.randrange(drivers + 50) for _ in range(n)]
    hours = [rng.randrange(-2, 26) for _ in range(n)]
    entity_rows = entities(*((k, at(h)) for k, h in zip(keys, hours, strict=True)), position=list(range(n)))
    order = list(range(n))
    rng.shuffle(order)
    entity_rows = entity_rows.take(order)
    with fs.get_historical_features(entity_rows, ["stats:conv"]) as result:
        got = result.to_arrow()
    assert got.column("position").to_pylist() == order
    assert got.column("driver_id").equals(entity_rows.column("driver_id"))

    def expect(k: int, h: int) -> float | None:
        latest = min(h // 3 * 3, 21)  # events every 3 hours from 0 to 21, a 3h TTL
        return None if k >= drivers or h < 0 or h - latest > 3 else k + latest / 100

    expected = [expect(keys[i], hours[i]) for i in order]
    assert got.column("conv").to_pylist() == expected
