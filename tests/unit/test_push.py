"""Pushing rows into the online store (``OnlineWriter``, behind ``fsctl serve``'s ``/push`` and
``/write-to-online-store``): a push source is a FileSource and writes to every online view on
it; rows are checked against the views' schemas before anything is written; the never-older
rule of materialize holds; each push is recorded in the state document.

A small repo is applied to a local registry; the online store and the state store are the
real in-memory ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import RegistryError, StoreError, UsageError
from fsctl.online.memory import MemoryOnlineStore
from fsctl.services.online import OnlineReader
from fsctl.services.push import OnlineWriter
from fsctl.state.memory import MemoryStateStore
from fsctl.workspace import Workspace, open_workspace
from tests.support.online_ports import apply_repo, target_view

UTC = timezone.utc
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MakeRepo = Callable[..., Path]

CONFIG = "project: pushy\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
DEFS = "---\n".join(
    [
        "kind: Entity\nname: driver\njoin_keys: [driver_id]\n",
        "kind: Entity\nname: rider\njoin_keys: [rider_id]\n",
        "kind: FileSource\nname: trips\npath: data/trips.parquet\ntimestamp_field: ts\ncreated_timestamp_field: loaded\n",
        "kind: FileSource\nname: other\npath: data/other.parquet\n",
        "kind: FeatureView\nname: driver_trips\nentities: [driver]\nsource: trips\nschema:\n"
        "  - {name: trips, dtype: int32}\n  - {name: rate, dtype: float64}\n  - {name: tags, dtype: list<string>}\n",
        "kind: FeatureView\nname: rider_trips\nentities: [rider]\nsource: trips\nschema:\n"
        "  - {name: rides, dtype: int64}\n  - {name: seen, dtype: timestamp}\n  - {name: raw, dtype: bytes}\n"
        "  - {name: vip, dtype: bool}\n  - {name: note, dtype: string}\n",
        "kind: FeatureView\nname: archive\nentities: [driver]\nsource: trips\nonline: false\nschema:\n"
        "  - {name: trips, dtype: int32}\n",
        "kind: FeatureView\nname: offline_stats\nentities: [driver]\nsource: other\nonline: false\nschema:\n"
        "  - {name: x, dtype: int64}\n",
        "kind: FileSource\nname: logs\npath: data/logs.parquet\ntimestamp_field: ts\n",
        "kind: FeatureView\nname: log_stats\nentities: [driver]\nsource: logs\nschema:\n"
        "  - {name: created, dtype: int64}\n  - {name: event_timestamp, dtype: string}\n",
    ]
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self, root: Path) -> None:
        apply_repo(root)
        self.store = MemoryOnlineStore()
        self.state = MemoryStateStore()
        self.ws: Workspace = open_workspace(root, online=self.store, state=self.state)
        for name in ("driver_trips", "rider_trips"):
            self.store.create(target_view(self.ws, name))
        self.clock = Clock()
        self.reader = OnlineReader(self.ws.project, self.ws.registry_reader(), self.store, clock=self.clock)
        self.writer = OnlineWriter(self.reader, self.state, now=lambda: T + timedelta(hours=1))

    def read(self, view: str, *keys: Any) -> list[Any]:
        return self.store.read(target_view(self.ws, view), [(k,) for k in keys])


def trips_parquet() -> bytes:
    """The source of both views, with an int64 driver_id and a string rider_id: plan reads
    these key dtypes from it, and pushed keys are checked against them."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "driver_id": pa.array([1], pa.int64()),
            "rider_id": pa.array(["r0"], pa.string()),
            "ts": pa.array([T], ts),
            "loaded": pa.array([T], ts),
            "trips": pa.array([1], pa.int32()),
            "rate": pa.array([0.5], pa.float64()),
            "tags": pa.array([["a"]], pa.list_(pa.string())),
            "rides": pa.array([1], pa.int64()),
            "seen": pa.array([T], ts),
            "raw": pa.array([b"a"], pa.binary()),
            "vip": pa.array([True], pa.bool_()),
            "note": pa.array(["a"], pa.string()),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.fixture
def world(make_repo: MakeRepo) -> World:
    return World(make_repo({"fsctl.yaml": CONFIG, "defs.yaml": DEFS, "data/trips.parquet": trips_parquet()}))


def driver_rows(**change: list[Any]) -> dict[str, list[Any]]:
    return {
        "driver_id": [1, 2],
        "trips": [10, None],
        "rate": [0.5, 1],
        "tags": [["a", None], []],
        "event_timestamp": ["2026-03-01T12:00:00Z", "2026-03-01T11:00:00"],
        **change,
    }


def test_write_to_one_view_stores_records_and_records_the_push(world: World) -> None:
    result = world.writer.write("driver_trips", driver_rows(), client="10.0.0.1:5555")
    assert result.to_dict() == {
        "views": [
            {"view": "driver_trips", "rows": 2, "keys": 2, "keys_written": 2, "keys_kept_newer": 0,
             "newest_event": "2026-03-01T12:00:00Z"}
        ]
    }
    first, second = world.read("driver_trips", 1, 2)
    assert first is not None and second is not None
    assert first.values == {"trips": 10, "rate": 0.5, "tags": ["a", None]}
    assert second.values == {"trips": None, "rate": 1.0, "tags": []}
    assert second.event_ts == int((T - timedelta(hours=1)).timestamp() * 1_000_000)  # naive = UTC
    (record,) = world.state.read().pushes
    assert (record.view, record.via, record.rows, record.keys_written, record.client) == (
        "driver_trips", "write-to-online-store", 2, 2, "10.0.0.1:5555"
    )
    assert record.pushed_at == T + timedelta(hours=1) and record.newest_event == T
    assert record.store == world.ws.project.online_store == "sqlite:data/online.db"
    assert world.state.read().project == "pushy" and world.state.read().views == {}  # no watermark moves


def test_pushed_keys_are_converted_to_the_keys_dtype(world: World) -> None:
    world.writer.write("driver_trips", driver_rows(driver_id=["1", " 2"]))  # int64 keys written as text
    first, second = world.read("driver_trips", 1, 2)
    assert first is not None and first.values["trips"] == 10 and second is not None


def test_a_push_to_a_source_writes_every_online_view_on_it(world: World) -> None:
    rows = {
        "driver_id": [1], "trips": [3], "rate": [0.1], "tags": [None],
        "rider_id": ["r1"], "rides": [7], "seen": [1_767_225_600], "raw": ["AAE="], "vip": [True], "note": ["hi"],
        "ts": [1_772_366_400.5],  # epoch seconds: 2026-03-01T12:00:00.5Z
        "loaded": ["2026-03-01T12:05:00+01:00"],
    }
    result = world.writer.push("trips", rows, client="c")
    assert [v.view for v in result.views] == ["driver_trips", "rider_trips"]  # never the offline 'archive'
    (rider,) = world.read("rider_trips", "r1")
    assert rider is not None
    assert rider.values == {
        "rides": 7, "seen": datetime(2026, 1, 1, tzinfo=UTC), "raw": b"\x00\x01", "vip": True, "note": "hi"
    }
    assert rider.event_ts == 1_772_366_400_500_000
    assert rider.created_ts == int(datetime(2026, 3, 1, 11, 5, tzinfo=UTC).timestamp() * 1_000_000)
    assert [p.via for p in world.state.read().pushes] == ["push:trips", "push:trips"]


def test_the_never_older_rule_and_the_latest_row_per_key(world: World) -> None:
    world.writer.write("driver_trips", driver_rows(trips=[10, 20]))
    older = driver_rows(trips=[1, 2], event_timestamp=["2026-03-01T11:59:00Z", "2026-03-01T10:00:00Z"])
    result = world.writer.write("driver_trips", older)
    assert (result.views[0].keys_written, result.views[0].keys_kept_newer) == (0, 2)
    assert [r.values["trips"] for r in world.read("driver_trips", 1, 2) if r] == [10, 20]
    # Several rows of one key (1 and "1" are one key): the latest event, then created, wins.
    rows = {
        "driver_id": [1, "1", 1], "trips": [100, 300, 200], "rate": [0, 0, 0], "tags": [[], [], []],
        "event_timestamp": ["2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-01T23:00:00Z"],
        "created": [None, "2026-03-02T00:00:00Z", None],
    }
    result = world.writer.write("driver_trips", rows)
    assert (result.views[0].rows, result.views[0].keys, result.views[0].keys_written) == (3, 1, 1)
    assert world.read("driver_trips", 1)[0].values["trips"] == 300


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trips": ["7", 1]}, "df column 'trips' (feature view 'driver_trips'), row 1: must be an integer, not a string ('7')"),
        ({"trips": [True, 1]}, "column 'trips' (feature view 'driver_trips'), row 1: must be an integer, not a boolean"),
        ({"trips": [1, 2**31]}, "row 2: 2147483648 is out of the range of int32"),
        ({"rate": [0.5, "x"]}, "column 'rate' (feature view 'driver_trips'), row 2: must be a number, not a string"),
        ({"tags": [["a"], "b"]}, "column 'tags' (feature view 'driver_trips'), row 2: must be an array, not a string"),
        ({"tags": [["a"], [1]]}, "column 'tags' (feature view 'driver_trips'), row 2: must be a string, not a number"),
        ({"driver_id": [1, None]}, "column 'driver_id' (feature view 'driver_trips'), row 2: a join key must be a string or an integer, not null"),
        ({"driver_id": [1, 2.5]}, "column 'driver_id' (feature view 'driver_trips'), row 2: the join key is int64, and 2.5 is not an integer"),
        ({"driver_id": [1, "abc"]}, "column 'driver_id' (feature view 'driver_trips'), row 2: the join key is int64, and 'abc' is not an integer"),
        ({"event_timestamp": [None, "2026-03-01T00:00:00Z"]}, "column 'event_timestamp' (feature view 'driver_trips'), row 1: the event time must not be null"),
        ({"event_timestamp": ["yesterday", "2026-03-01T00:00:00Z"]}, "row 1: 'yesterday' is not an ISO-8601 time"),
        ({"event_timestamp": [True, 1]}, "row 1: a time must be an ISO-8601 string or seconds since the epoch, not a boolean"),
        ({"created": ["2026-03-01", 1e300]}, "column 'created' (feature view 'driver_trips'), row 2: 1e+300 is not a time"),
        ({"rate": [1, 2, 3]}, "df columns have different lengths"),
        ({"speed": [1, 2]}, "df column 'speed' is not a join key, feature or timestamp of feature view 'driver_trips'"),
        ({"rate": None}, "df has no column 'rate' (float64 feature of feature view 'driver_trips')"),
        ({"driver_id": None}, "df has no column 'driver_id' (join key of feature view 'driver_trips')"),
        ({"event_timestamp": None}, "df has no event time column 'ts' or 'event_timestamp' (feature view 'driver_trips')"),
    ],
)
def test_bad_rows_name_the_column_view_and_row_and_write_nothing(
    world: World, change: dict[str, Any], message: str
) -> None:
    rows = {k: v for k, v in driver_rows(**{k: v for k, v in change.items() if v is not None}).items()}
    for name, value in change.items():
        if value is None:
            del rows[name]
    with pytest.raises(UsageError) as caught:
        world.writer.write("driver_trips", rows)
    assert message in str(caught.value)
    assert "feature view 'driver_trips'" in str(caught.value)
    assert world.read("driver_trips", 1, 2) == [None, None]
    assert world.state.read().pushes == []


def test_one_bad_view_of_a_source_writes_no_view(world: World) -> None:
    rows = {
        "driver_id": [1], "trips": [3], "rate": [0.1], "tags": [None],
        "rider_id": ["r1"], "rides": [7], "seen": [None], "raw": ["not base64!"], "vip": [True], "note": [None],
        "ts": ["2026-03-01T12:00:00Z"],
    }
    with pytest.raises(UsageError, match="push source 'trips': df column 'raw' \\(feature view 'rider_trips'\\), row 1: 'not base64!' is not base64"):
        world.writer.push("trips", rows)
    assert world.read("driver_trips", 1) == [None]


def test_names_that_cannot_take_a_push(world: World) -> None:
    with pytest.raises(UsageError, match="source 'trip' is not in the registry") as caught:
        world.writer.push("trip", driver_rows())
    assert "did you mean 'trips'" in str(caught.value)
    with pytest.raises(UsageError, match="no online feature view reads source 'other'"):
        world.writer.push("other", driver_rows())
    with pytest.raises(UsageError, match="feature view 'archive' is not online"):
        world.writer.write("archive", driver_rows())
    with pytest.raises(UsageError, match="feature view 'driver_trip' is not in the registry"):
        world.writer.write("driver_trip", driver_rows())


def test_no_rows_write_nothing_but_are_recorded(world: World) -> None:
    rows = {k: [] for k in driver_rows()}
    result = world.writer.write("driver_trips", rows)
    assert result.views[0].to_dict()["keys_written"] == 0 and result.views[0].newest_event is None
    assert len(world.state.read().pushes) == 1


def test_the_python_api_pushes_frames_as_feast_does(world: World) -> None:
    import pandas as pd
    import pyarrow as pa

    from fsctl import FeatureStore

    store = FeatureStore(world.ws.root, online=world.store, state=world.state)
    frame = pd.DataFrame(
        {
            "driver_id": [1, 2],
            "trips": [5, 6],
            "rate": [0.5, float("nan")],
            "tags": [["x"], None],
            "ts": pd.to_datetime(["2026-03-01T12:00:00Z", "2026-03-01T12:30:00Z"]),
        }
    )
    result = store.push("trips", frame[["driver_id", "trips", "rate", "tags", "ts"]].assign(
        rider_id=["r1", "r2"], rides=[1, 2], seen=[None, None], raw=[b"\x00", None], vip=[True, False], note=["a", "b"]
    ))
    assert [v.keys_written for v in result.views] == [2, 2]
    online = store.get_online_features(["driver_trips:trips", "driver_trips:rate"], entity_rows={"driver_id": [1, 2]})
    assert online.to_dict()["trips"] == [5, 6] and online.to_dict()["rate"][0] == 0.5
    table = pa.table({"driver_id": [3], "trips": [7], "rate": [1.0], "tags": [[]], "event_timestamp": [T]})
    assert store.write_to_online_store("driver_trips", table).views[0].keys_written == 1
    older = {**table.to_pydict(), "event_timestamp": [T - timedelta(hours=1)]}
    assert store.write_to_online_store("driver_trips", older).views[0].keys_kept_newer == 1
    with pytest.raises(UsageError, match="fsctl writes pushed rows to the online store only"):
        store.push("trips", table, to="offline")
    with pytest.raises(UsageError, match="df must be a pandas or polars DataFrame, a pyarrow Table or a dict of columns"):
        store.write_to_online_store("driver_trips", [1, 2])
    assert [p.client for p in world.state.read().pushes][-1] == "python"


def test_the_python_api_pushes_dicts_of_numpy_arrays_and_pandas_series(world: World) -> None:
    import numpy as np
    import pandas as pd

    from fsctl import FeatureStore

    store = FeatureStore(world.ws.root, online=world.store, state=world.state)
    arrays = {
        "driver_id": np.array([1, 2], dtype=np.int64),
        "trips": np.array([5, 6], dtype=np.int32),
        "rate": np.array([0.5, 1.5]),
        "tags": [["x"], []],
        "event_timestamp": np.array(["2026-03-01T12:00:00", "2026-03-01T12:30:00"], dtype="datetime64[us]"),
    }
    assert store.write_to_online_store("driver_trips", arrays).views[0].keys_written == 2
    series = {
        "driver_id": pd.Series([3]),
        "trips": pd.Series([7], dtype="int32"),
        "rate": pd.Series([2.5]),
        "tags": pd.Series([["y"]]),
        "ts": pd.Series(pd.to_datetime(["2026-03-01T12:00:00Z"])),
    }
    assert store.write_to_online_store("driver_trips", series).views[0].keys_written == 1
    online = store.get_online_features(["driver_trips:trips", "driver_trips:rate"], entity_rows={"driver_id": [1, 2, 3]})
    assert online.to_dict() == {"driver_id": [1, 2, 3], "trips": [5, 6, 7], "rate": [0.5, 1.5, 2.5]}
    (second,) = world.read("driver_trips", 2)
    assert second is not None and second.event_ts == int(datetime(2026, 3, 1, 12, 30, tzinfo=UTC).timestamp() * 1e6)
    with pytest.raises(UsageError, match="df column 'trips' is a single int"):
        store.write_to_online_store("driver_trips", {**series, "trips": 7})


class FailingState(MemoryStateStore):
    """A state store whose writes fail (as an unreachable bucket's would)."""

    def write(self, new: Any, expected: Any) -> Any:
        raise StoreError("the state store memory://state cannot be written: connection refused")


def test_a_push_written_but_not_recorded_is_answered_with_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    writer = OnlineWriter(world.reader, FailingState())
    result = writer.write("driver_trips", driver_rows())
    assert [v.keys_written for v in result.views] == [2]
    assert result.warning is not None and result.warning.startswith(
        "the rows were written, but the push could not be recorded in the state document (StoreError: "
    )
    assert result.to_dict()["warning"] == result.warning
    assert [r.values["trips"] for r in world.read("driver_trips", 1, 2) if r] == [10, None]  # stored
    assert "feature view 'driver_trips': the rows were written" in caplog.text
    assert "warning" not in world.writer.write("driver_trips", driver_rows()).to_dict()


def test_writes_share_the_readers_registry_cache_and_keep_the_last_good_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsctl.services.catalog import Catalog

    views = []
    read_view = Catalog.view
    monkeypatch.setattr(Catalog, "view", lambda self, name: views.append(name) or read_view(self, name))
    world.writer.write("driver_trips", driver_rows())
    world.writer.push("trips", {**driver_rows(), "rider_id": ["r1", "r2"], "rides": [1, 2], "seen": [None, None],
                                "raw": [None, None], "vip": [None, None], "note": [None, None]})
    built = len(views)
    world.writer.write("driver_trips", driver_rows())
    world.writer.push("trips", {**driver_rows(), "rider_id": ["r1", "r2"], "rides": [1, 2], "seen": [None, None],
                                "raw": [None, None], "vip": [None, None], "note": [None, None]})
    assert len(views) == built  # targets are built once per registry version
    assert world.reader.current().version == world.reader.registry_version  # one cache

    def broken() -> Any:
        raise RegistryError("the registry cannot be read: connection refused")

    monkeypatch.setattr(world.reader.registry, "read", broken)
    world.clock.now += 3600  # the cache is due for a refresh, which fails
    assert world.writer.write("driver_trips", driver_rows()).views[0].rows == 2  # the last good version
    assert world.reader.registry_error is not None
    assert world.writer.write("driver_trips", driver_rows(), refresh=True).views[0].rows == 2


def test_time_fallback_names_that_are_features_are_features(world: World) -> None:
    target = target_view(world.ws, "log_stats")
    world.store.create(target)
    rows = {"driver_id": [1], "created": [5], "event_timestamp": ["not a time"], "ts": ["2026-03-01T12:00:00Z"]}
    world.writer.write("log_stats", rows)
    (record,) = world.store.read(target, [(1,)])
    assert record is not None
    assert record.values == {"created": 5, "event_timestamp": "not a time"}
    assert record.created_ts is None and record.event_ts == int(T.timestamp() * 1_000_000)
    with pytest.raises(UsageError, match="df has no event time column 'ts' \\(feature view 'log_stats'\\)"):
        world.writer.write("log_stats", {"driver_id": [1], "created": [5], "event_timestamp": ["2026-03-01"]})
