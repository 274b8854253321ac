"""Online reads in-process (DESIGN.md section 2, ``online``): statuses present / missing /
expired, ``ignore_ttl``, full feature names, composite keys, the shapes entity rows come in,
input order and duplicates, one store read per view, and the registry cache that lets a
long-running reader see applies.

Each test applies a small repo to a local registry and reads from a real in-memory online
store filled through the OnlineStore API; the clock of the registry cache is a fake.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import StoreError, UsageError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.memory import MemoryOnlineStore
from fsctl.registry import RegistryReader
from fsctl.results.online import OnlineResponse
from fsctl.services.features import FeatureRequest
from fsctl.services.online import OnlineReader
from fsctl.services.project import Project
from fsctl.workspace import open_workspace
from tests.support.online_ports import apply_repo, target_view, write_records
from tests.support.source_data import fill_sources

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MakeRepo = Callable[..., Path]

CONFIG = "project: onl\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
DRIVER_FEATURES = (
    "  - {name: conv_rate, dtype: float64}\n"
    "  - {name: trips, dtype: int64}\n"
    "  - {name: note, dtype: string}\n"
    "  - {name: raw, dtype: bytes}\n"
    "  - {name: seen, dtype: timestamp}\n"
)


def definitions(driver_features: str = DRIVER_FEATURES) -> str:
    docs = [
        "kind: Entity\nname: driver\njoin_keys: [driver_id]\n",
        "kind: Entity\nname: customer\njoin_keys: [customer_id]\n",
        "kind: FileSource\nname: src\npath: data/none.parquet\n",
        f"kind: FeatureView\nname: driver_stats\nentities: [driver]\nsource: src\nttl: 1h\nschema:\n{driver_features}",
        "kind: FeatureView\nname: customer_profile\nentities: [customer]\nsource: src\nschema:\n"
        "  - {name: balance, dtype: float64}\n  - {name: trips, dtype: int64}\n",
        "kind: FeatureView\nname: pair_stats\nentities: [driver, customer]\nsource: src\nschema:\n"
        "  - {name: rides, dtype: int64}\n",
        "kind: FeatureView\nname: offline_only\nentities: [driver]\nsource: src\nonline: false\nschema:\n"
        "  - {name: x, dtype: int64}\n",
        "kind: FeatureService\nname: svc\nfeatures:\n  - {view: driver_stats, features: [conv_rate]}\n"
        "  - pair_stats\n",
        "kind: Model\nname: ranker\nowner: ranking@example.com\nversions:\n  - {version: 1, uri: 's3://m/1', feature_service: svc, description: Ranks drivers}\n"
        "aliases: {Production: 1}\n",
    ]
    return "---\n".join(docs)


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryOnlineStore):
    """The memory store, counting reads per view."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, int]] = []

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        self.reads.append((view.name, len(keys)))
        return super().read(view, keys)


def request(
    features: Any = None,
    service: str | None = None,
    model: str | None = None,
    full_feature_names: bool = False,
) -> FeatureRequest:
    return FeatureRequest.of(features, service, model, full_feature_names)


class World:
    """An applied repo, its memory online store and a reader with a fake clock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        apply_repo(root)  # with the configured ports: the repo's SQLite store gets its tables
        self.store = CountingStore()
        self.workspace = open_workspace(root, online=self.store)
        self.project: Project = self.workspace.project
        self.registry: RegistryReader = self.workspace.registry_reader()
        self.clock = Clock()
        self.reader = OnlineReader(
            self.project, self.registry, self.store, cache_seconds=10, clock=self.clock
        )
        for view in ("driver_stats", "customer_profile", "pair_stats"):
            self.store.create(self.view(view))

    def view(self, name: str) -> OnlineView:
        return target_view(self.workspace, name)

    def write(self, view: str, key: tuple[Any, ...], event: datetime, **values: Any) -> None:
        write_records(self.store, self.view(view), [OnlineRecord(key, us(event), None, values)])

    def get(
        self,
        features: Any = None,
        *,
        service: str | None = None,
        model: str | None = None,
        full_feature_names: bool = False,
        entity_rows: Any,
        **kwargs: Any,
    ) -> OnlineResponse:
        kwargs.setdefault("now", NOW)
        return self.reader.get(request(features, service, model, full_feature_names), entity_rows, **kwargs)


@pytest.fixture
def world(make_repo: MakeRepo) -> World:
    root = make_repo({"fsctl.yaml": CONFIG, "defs.yaml": definitions()})
    w = World(root)
    seen = datetime(2026, 2, 1, tzinfo=UTC)
    w.write(
        "driver_stats",
        (1001,),
        NOW - timedelta(minutes=5),
        conv_rate=0.25,
        trips=7,
        note="ok",
        raw=b"\x00\x01",
        seen=seen,
    )
    w.write("driver_stats", (1002,), NOW - timedelta(hours=2), conv_rate=0.5, trips=3, note=None)
    w.write("customer_profile", (2001,), NOW - timedelta(days=400), balance=float("nan"), trips=9)
    w.write("pair_stats", (1001, 2001), NOW - timedelta(minutes=1), rides=4)
    return w


def feature(response: OnlineResponse, row: int, name: str) -> dict[str, Any]:
    return dict(response.rows[row]["features"][name])


# -- statuses ---------------------------------------------------------------------------


def test_present_values_come_back_as_stored(world: World) -> None:
    refs = [f"driver_stats:{f}" for f in ("conv_rate", "trips", "note", "raw", "seen")]
    response = world.get(refs, entity_rows={"driver_id": [1001]})
    event = NOW - timedelta(minutes=5)
    assert response.rows == [
        {
            "entity": {"driver_id": 1001},
            "features": {
                "conv_rate": {"value": 0.25, "status": "present", "event_timestamp": event},
                "trips": {"value": 7, "status": "present", "event_timestamp": event},
                "note": {"value": "ok", "status": "present", "event_timestamp": event},
                "raw": {"value": b"\x00\x01", "status": "present", "event_timestamp": event},
                "seen": {
                    "value": datetime(2026, 2, 1, tzinfo=UTC),
                    "status": "present",
                    "event_timestamp": event,
                },
            },
        }
    ]
    assert response.to_json_dict()["rows"][0]["features"]["raw"]["value"] == "AAE="
    assert response.to_json_dict()["rows"][0]["features"]["seen"]["value"] == "2026-02-01T00:00:00Z"
    assert response.to_json_dict()["rows"][0]["features"]["trips"]["event_timestamp"] == "2026-03-01T11:55:00Z"


def test_missing_record_and_missing_feature(world: World) -> None:
    # 1002 was written without raw/seen (a feature added after it was materialized); 9999 has no record.
    refs = ["driver_stats:raw", "driver_stats:note"]
    response = world.get(refs, entity_rows={"driver_id": [1002, 9999]}, ignore_ttl=True)
    assert feature(response, 0, "raw") == {"value": None, "status": "missing", "event_timestamp": None}
    # note was stored as null: not missing (the record is 2h old, past the 1h TTL).
    assert feature(response, 0, "note") == {
        "value": None,
        "status": "expired",
        "event_timestamp": NOW - timedelta(hours=2),
    }
    for name in ("raw", "note"):
        assert feature(response, 1, name) == {"value": None, "status": "missing", "event_timestamp": None}


def test_a_stored_null_is_present(world: World) -> None:
    world.write("driver_stats", (1003,), NOW, conv_rate=None, trips=1)
    response = world.get(["driver_stats:conv_rate"], entity_rows={"driver_id": [1003]})
    assert feature(response, 0, "conv_rate") == {"value": None, "status": "present", "event_timestamp": NOW}


def test_expired_values_are_null_unless_the_ttl_is_ignored(world: World) -> None:
    rows = {"driver_id": [1002]}
    expired = world.get(["driver_stats:conv_rate"], entity_rows=rows)
    assert feature(expired, 0, "conv_rate") == {
        "value": None,
        "status": "expired",
        "event_timestamp": NOW - timedelta(hours=2),
    }
    old = world.get(["driver_stats:conv_rate"], entity_rows=rows, ignore_ttl=True)
    assert feature(old, 0, "conv_rate") == {
        "value": 0.5,
        "status": "expired",
        "event_timestamp": NOW - timedelta(hours=2),
    }
    assert old.to_dict() == {"driver_id": [1002], "conv_rate": [0.5]}
    assert expired.to_dict() == {"driver_id": [1002], "conv_rate": [None]}
    # the text note says how the read was made, whatever the values are
    from fsctl.render.online import expired_note

    assert (expired.ignore_ttl, old.ignore_ttl) == (False, True)
    assert "add --ignore-ttl to see them" in (expired_note(expired) or "")
    assert "shown because of --ignore-ttl" in (expired_note(old) or "")


def test_feasts_to_dict_and_to_df_shapes_beside_fsctls_own(world: World) -> None:
    rows = {"driver_id": [1001, 9999], "customer_id": [2001, 2001]}
    response = world.get(["driver_stats:trips", "pair_stats:rides"], entity_rows=rows)
    fresh = (NOW - timedelta(minutes=5)).timestamp()
    rides = (NOW - timedelta(minutes=1)).timestamp()
    # Feast's shape: join keys first, then features, each a column of values.
    assert response.to_dict() == {"driver_id": [1001, 9999], "customer_id": [2001, 2001], "trips": [7, None], "rides": [4, None]}
    assert response.to_dict(include_event_timestamps=True) == {
        "driver_id": [1001, 9999],
        "driver_id__ts": [0, 0],
        "customer_id": [2001, 2001],
        "customer_id__ts": [0, 0],
        "trips": [7, None],
        "trips__ts": [int(fresh), 0],
        "rides": [4, None],
        "rides__ts": [int(rides), 0],
    }
    frame = response.to_df()
    assert list(frame.columns) == ["driver_id", "customer_id", "trips", "rides"]
    assert frame["driver_id"].tolist() == [1001, 9999] and frame["trips"].iloc[0] == 7
    assert list(response.to_df(include_event_timestamps=True).columns)[:2] == ["driver_id", "driver_id__ts"]
    # fsctl's shape keeps each value's status; the keys follow the caller's order.
    response = world.get(["driver_stats:trips", "pair_stats:rides"], entity_rows={"customer_id": rows["customer_id"], "driver_id": rows["driver_id"]})
    assert list(response.to_dict()) == ["customer_id", "driver_id", "trips", "rides"]
    second = response.to_json_dict()["rows"][1]
    assert second["entity"] == {"customer_id": 2001, "driver_id": 9999}
    assert second["features"]["trips"] == {"value": None, "status": "missing", "event_timestamp": None}


def test_to_df_without_pandas_names_the_extra(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    response = world.get(["driver_stats:trips"], entity_rows={"driver_id": [1001]})
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an environment without pandas sees
    with pytest.raises(UsageError, match="needs pandas") as caught:
        response.to_df()
    assert "pip install 'fsctl[dataframes]'" in str(caught.value)


def test_the_ttl_bound_is_inclusive_and_measured_from_now(world: World) -> None:
    world.write("driver_stats", (1004,), NOW - timedelta(hours=1), conv_rate=0.1)
    rows = {"driver_id": [1004]}
    assert (
        feature(world.get(["driver_stats:conv_rate"], entity_rows=rows), 0, "conv_rate")["status"]
        == "present"
    )
    later = NOW + timedelta(microseconds=1)
    assert (
        feature(world.get(["driver_stats:conv_rate"], entity_rows=rows, now=later), 0, "conv_rate")["status"]
        == "expired"
    )
    # Without a TTL nothing expires: customer_profile's record is 400 days old.
    response = world.get(["customer_profile:trips"], entity_rows={"customer_id": [2001]})
    assert feature(response, 0, "trips")["status"] == "present"


def test_json_output_is_safe(world: World) -> None:
    response = world.get(["customer_profile:balance"], entity_rows={"customer_id": [2001]})
    assert math.isnan(response.rows[0]["features"]["balance"]["value"])
    assert response.to_json_dict() == {
        "rows": [
            {
                "entity": {"customer_id": 2001},
                "features": {
                    "balance": {
                        "value": None,
                        "status": "present",
                        "event_timestamp": (NOW - timedelta(days=400)).isoformat().replace("+00:00", "Z"),
                    }
                },
            }
        ]
    }


# -- names, keys and entity rows ---------------------------------------------------------


def test_full_feature_names_and_name_clashes(world: World) -> None:
    refs = ["driver_stats:trips", "customer_profile:trips"]
    rows = {"driver_id": [1001], "customer_id": [2001]}
    with pytest.raises(UsageError, match="'trips' is used twice") as caught:
        world.get(refs, entity_rows=rows)
    assert "full feature names" in str(caught.value)
    response = world.get(refs, entity_rows=rows, full_feature_names=True)
    assert response.names == ("driver_stats__trips", "customer_profile__trips")
    assert response.to_dict() == {
        "driver_id": [1001],
        "customer_id": [2001],
        "driver_stats__trips": [7],
        "customer_profile__trips": [9],
    }


def test_composite_keys(world: World) -> None:
    rows = [{"driver_id": 1001, "customer_id": 2001}, {"driver_id": 1001, "customer_id": 2002}]
    response = world.get(["pair_stats:rides"], entity_rows=rows)
    assert [r["entity"] for r in response.rows] == rows
    assert [feature(response, i, "rides")["status"] for i in range(2)] == ["present", "missing"]
    assert response.to_dict()["rides"] == [4, None]
    # Keys given as strings (from a command line or a CSV read as text) find the same record.
    response = world.get(["pair_stats:rides"], entity_rows={"driver_id": ["1001"], "customer_id": ["2001"]})
    assert response.to_dict()["rides"] == [4]


def test_a_missing_join_key_names_the_key_and_the_view(world: World) -> None:
    with pytest.raises(UsageError, match="no value for join key 'customer_id' of feature view 'pair_stats'"):
        world.get(["pair_stats:rides"], entity_rows={"driver_id": [1001]})
    with pytest.raises(UsageError, match="entity row 2: no value for join key 'customer_id'"):
        world.get(["pair_stats:rides"], entity_rows=[{"driver_id": 1, "customer_id": 2}, {"driver_id": 1}])
    with pytest.raises(UsageError, match="different lengths: driver_id has 2, customer_id has 1"):
        world.get(["pair_stats:rides"], entity_rows={"driver_id": [1, 2], "customer_id": [3]})


def test_entity_rows_in_every_shape_give_the_same_answer(world: World) -> None:
    import pyarrow as pa

    refs = ["driver_stats:trips"]
    expected = {"driver_id": [1001, 1002], "trips": [7, None]}
    assert world.get(refs, entity_rows={"driver_id": [1001, 1002]}).to_dict() == expected
    assert world.get(refs, entity_rows=[{"driver_id": 1001}, {"driver_id": 1002}]).to_dict() == expected
    assert world.get(refs, entity_rows={"driver_id": (1001, 1002)}).to_dict() == expected
    assert world.get(refs, entity_rows=pa.table({"driver_id": [1001, 1002]})).to_dict() == expected
    assert world.get(refs, entity_rows={"driver_id": 1001}).to_dict() == {
        "driver_id": [1001],
        "trips": [7],
    }
    # Extra columns (labels, timestamps) are ignored.
    assert world.get(refs, entity_rows={"driver_id": [1001], "label": [1]}).to_dict() == {
        "driver_id": [1001],
        "trips": [7],
    }
    assert len(world.get(refs, entity_rows={"driver_id": []})) == 0
    with pytest.raises(UsageError, match="dict of lists or a list of dicts"):
        world.get(refs, entity_rows=42)


def test_rows_keep_input_order_and_duplicates_with_one_read_per_view(world: World) -> None:
    keys = [1002, 1001, 9999, 1001, 1002]
    world.store.reads.clear()
    response = world.get(
        ["driver_stats:trips", "pair_stats:rides", "driver_stats:conv_rate"],
        entity_rows={"driver_id": keys, "customer_id": [2001] * 5},
        ignore_ttl=True,
    )
    assert world.store.reads == [("driver_stats", 5), ("pair_stats", 5)]
    assert response.names == ("trips", "rides", "conv_rate")
    assert [r["entity"]["driver_id"] for r in response.rows] == keys
    assert response.to_dict() == {
        "driver_id": keys,
        "customer_id": [2001] * 5,
        "trips": [3, 7, None, 7, 3],
        "rides": [None, 4, None, 4, None],
        "conv_rate": [0.5, 0.25, None, 0.25, 0.5],
    }


# -- services, models and refusals --------------------------------------------------------


def test_feature_service_and_model_alias(world: World) -> None:
    rows = {"driver_id": [1001], "customer_id": [2001]}
    by_service = world.get(service="svc", entity_rows=rows)
    assert by_service.to_dict() == {
        "driver_id": [1001],
        "customer_id": [2001],
        "conv_rate": [0.25],
        "rides": [4],
    }
    by_model = world.get(model="ranker@Production", entity_rows=rows)
    assert by_model.to_dict() == by_service.to_dict()
    assert by_model.refs == ("driver_stats:conv_rate", "pair_stats:rides")


def test_unknown_names_and_offline_views_are_refused(world: World) -> None:
    rows = {"driver_id": [1001]}
    with pytest.raises(UsageError, match="feature service 'sv' is not in the registry") as caught:
        world.get(service="sv", entity_rows=rows)
    assert "did you mean 'svc'" in str(caught.value)
    with pytest.raises(UsageError, match="has no feature 'conv'"):
        world.get(["driver_stats:conv"], entity_rows=rows)
    with pytest.raises(UsageError, match="'offline_only' is not online"):
        world.get(["offline_only:x"], entity_rows=rows)
    with pytest.raises(UsageError, match="one way"):
        world.get(["driver_stats:trips"], service="svc", entity_rows=rows)
    with pytest.raises(UsageError, match="no alias 'Staging'"):
        world.get(model="ranker@Staging", entity_rows=rows)


def test_a_view_without_an_online_table_is_a_store_error(world: World) -> None:
    world.store.drop("onl", "pair_stats")
    with pytest.raises(StoreError, match="has no online table"):
        world.get(["pair_stats:rides"], entity_rows={"driver_id": [1], "customer_id": [2]})


# -- the registry cache ---------------------------------------------------------------------


def test_plans_are_cached_and_the_registry_is_re_read_after_the_interval(world: World) -> None:
    rows = {"driver_id": [1001]}
    assert world.reader.registry_version == 1
    first = world.reader.plan(request(["driver_stats:trips"]))
    assert world.reader.plan(request(["driver_stats:trips"])) is first

    (world.root / "defs.yaml").write_text(
        definitions(DRIVER_FEATURES + "  - {name: speed, dtype: float64}\n"), encoding="utf-8"
    )
    for data in (world.root / "data").glob("*.parquet"):  # the source gains the column too
        data.unlink()
    fill_sources(world.root)
    assert apply_repo(world.root).version_after == 2
    world.write("driver_stats", (1001,), NOW, speed=42.0)

    world.clock.now += 9.9  # still within the interval: the old definitions
    assert world.reader.registry_version == 1
    with pytest.raises(UsageError, match="has no feature 'speed'"):
        world.get(["driver_stats:speed"], entity_rows=rows)

    world.clock.now += 0.2
    assert world.get(["driver_stats:speed"], entity_rows=rows).to_dict()["speed"] == [42.0]
    assert world.reader.registry_version == 2
    assert world.reader.plan(request(["driver_stats:trips"])) is not first


def test_an_unreadable_registry_keeps_the_last_good_version(world: World) -> None:
    rows = {"driver_id": [1001]}
    assert world.get(["driver_stats:trips"], entity_rows=rows).to_dict()["trips"] == [7]
    (world.root / "data" / "registry.json").write_text("{not json", encoding="utf-8")
    world.clock.now += 11
    assert world.get(["driver_stats:trips"], entity_rows=rows).to_dict()["trips"] == [7]
    assert world.reader.registry_error is not None
    assert "registry_error" in world.reader.health()


def test_cache_seconds_come_from_the_environment(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSCTL_REGISTRY_CACHE_SECONDS", "2.5")
    assert OnlineReader(world.project, world.registry, world.store).cache_seconds == 2.5
    monkeypatch.setenv("FSCTL_REGISTRY_CACHE_SECONDS", "soon")
    with pytest.raises(UsageError, match="FSCTL_REGISTRY_CACHE_SECONDS"):
        OnlineReader(world.project, world.registry, world.store)


def test_feature_store_reads_the_configured_store(world: World) -> None:
    from fsctl import FeatureStore

    with open_workspace(world.root) as ws:  # the configured (SQLite) store
        write_records(
            ws.online_store(),
            world.view("driver_stats"),
            [OnlineRecord((7,), us(datetime.now(UTC)), None, {"trips": 70})],
        )
    fs = FeatureStore(world.root)
    first = fs.get_online_features(["driver_stats:trips"], entity_rows=[{"driver_id": 7}])
    assert first.to_dict() == {"driver_id": [7], "trips": [70]}
    again = fs.get_online_features(["driver_stats:trips"], entity_rows={"driver_id": ["7", 8]})
    # "7" is converted to the key's dtype (int64, read from the source by plan), as Feast does
    assert again.to_dict() == {"driver_id": [7, 8], "trips": [70, None]}
    assert [r["features"]["trips"]["status"] for r in again.rows] == ["present", "missing"]


def test_concurrent_reads_while_the_registry_refreshes(world: World) -> None:
    import threading

    world.reader.cache_seconds = 0  # every read is due a refresh; only one thread does it at a time
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(100):
                response = world.get(["driver_stats:trips"], entity_rows={"driver_id": [1001, 9999]})
                assert response.to_dict()["trips"] == [7, None]
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert world.reader.refresh() == 1


def test_a_batch_mixes_every_status_per_feature(world: World) -> None:
    # 1001 fresh, 1002 two hours old (ttl 1h), 9999 absent; 1002 has no value for raw.
    rows = {"driver_id": [1001, 1002, 9999]}
    for ignore_ttl in (False, True):
        response = world.get(
            ["driver_stats:trips", "driver_stats:raw"], entity_rows=rows, ignore_ttl=ignore_ttl
        )
        assert response.statuses == [["present", "expired", "missing"], ["present", "missing", "missing"]]
        assert response.values == [[7, 3 if ignore_ttl else None, None], [b"\x00\x01", None, None]]
        old = us(NOW - timedelta(hours=2))
        assert response.event_ts == [
            [us(NOW - timedelta(minutes=5)), old, None],
            [us(NOW - timedelta(minutes=5)), None, None],
        ]
