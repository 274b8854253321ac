"""One contract for every online store: memory, sqlite, dynamodb (moto over HTTP), redis
(a real redis-server), postgres and mysql (a real Postgres and MariaDB, as the writer user
of README's grants).

Every store keeps one record per entity key and never replaces it with an older one; values
of every dtype come back as they went in; views and projects are isolated; reads keep the
input order. To add an implementation, add a ``StoreKind`` to ``KINDS``: ``make(request,
tmp_path)`` returns a fresh store whose tables no other test sees (each test also uses its
own project name). Failures that only make sense for one store (a path, an endpoint, a URL)
are at the end of the file.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import ConfigError, StoreError
from fsctl.online import OnlineRecord, OnlineStore, OnlineView
from fsctl.online.codec import decode_values, encode_key, encode_values, stored_records
from fsctl.online.dynamodb import DynamoDBOnlineStore, DynamoDBOnlineStoreConfig
from fsctl.online.memory import MemoryOnlineStore
from fsctl.online.mysql import MySQLOnlineStore, MySQLOnlineStoreConfig
from fsctl.online.postgres import PostgresOnlineStore, PostgresOnlineStoreConfig
from fsctl.online.redis_store import RedisOnlineStore, RedisOnlineStoreConfig
from fsctl.online.sqlite import SQLiteOnlineStore, SQLiteOnlineStoreConfig
from fsctl.workspace import ONLINE_STORES, open_workspace
from tests.support.s3 import free_port

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
UTC = timezone.utc
T0 = 1_700_000_000_000_000  # an event time, microseconds since the epoch

ALL_DTYPES = (
    ("i32", "int32"),
    ("i64", "int64"),
    ("f32", "float32"),
    ("f64", "float64"),
    ("s", "string"),
    ("b", "bool"),
    ("raw", "bytes"),
    ("ts", "timestamp"),
    ("li", "list<int64>"),
    ("ls", "list<string>"),
    ("lf", "list<float64>"),
    ("lts", "list<timestamp>"),
    ("lraw", "list<bytes>"),
)


@dataclass(frozen=True)
class StoreKind:
    id: str
    make: Callable[[pytest.FixtureRequest, Path], OnlineStore]


def _dynamodb(request: pytest.FixtureRequest, tmp: Path) -> DynamoDBOnlineStore:
    server = request.getfixturevalue("s3_server")
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    return DynamoDBOnlineStore(region="us-east-1", table_prefix=prefix, endpoint_url=server.endpoint)


def _redis(request: pytest.FixtureRequest, tmp: Path) -> RedisOnlineStore:
    return RedisOnlineStore(request.getfixturevalue("redis_server").url)


def _postgres(request: pytest.FixtureRequest, tmp: Path) -> PostgresOnlineStore:
    from tests.support import postgres_server as pg

    server = request.getfixturevalue("postgres_server")
    config = PostgresOnlineStoreConfig(
        host=server.host, port=server.port, database=server.database, schema=pg.SCHEMA,
        writer={"user": pg.WRITER[0], "password": pg.WRITER[1]},
    )  # fmt: skip
    return PostgresOnlineStore(config, config.login("writer", tmp))


def _mysql(request: pytest.FixtureRequest, tmp: Path) -> MySQLOnlineStore:
    from tests.support import mariadb_server as maria

    server = request.getfixturevalue("mariadb_server")
    config = MySQLOnlineStoreConfig(
        host=server.host, port=server.port, database=server.database,
        writer={"user": maria.WRITER[0], "password": maria.WRITER[1]},
    )  # fmt: skip
    return MySQLOnlineStore(config, config.login("writer", tmp))


KINDS = [
    StoreKind("memory", lambda request, tmp: MemoryOnlineStore()),
    StoreKind("sqlite", lambda request, tmp: SQLiteOnlineStore(tmp / "data" / "online.db")),
    StoreKind("dynamodb", _dynamodb),
    StoreKind("redis", _redis),
    StoreKind("postgres", _postgres),
    StoreKind("mysql", _mysql),
]


@pytest.fixture(params=KINDS, ids=[k.id for k in KINDS])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    made = request.param.make(request, tmp_path)
    yield made
    made.close()


@pytest.fixture
def project() -> str:
    """A project name no other test uses (the redis server and moto are shared)."""
    return f"p{uuid.uuid4().hex[:12]}"


def make_view(
    project: str,
    name: str = "stats",
    features: tuple[tuple[str, str], ...] = (("conv", "float64"), ("trips", "int64")),
    join_keys: tuple[str, ...] = ("driver_id",),
) -> OnlineView:
    return OnlineView(project=project, name=name, join_keys=join_keys, features=features)


def rec(key: Any, event_ts: int = T0, created_ts: int | None = None, **values: Any) -> OnlineRecord:
    return OnlineRecord(key if isinstance(key, tuple) else (key,), event_ts, created_ts, values)


def same_value(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (and a list compares element by element)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def assert_values(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert same_value(got[name], value), f"{name}: {got[name]!r} != {value!r}"


# -- tables ------------------------------------------------------------------------------


def test_create_is_idempotent_and_views_lists_created_views(store: OnlineStore, project: str) -> None:
    assert store.views(project) == set()
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(1, conv=0.5, trips=3)]))
    store.create(view)  # again: keeps the table and its records
    assert store.views(project) == {"stats"}
    assert store.read(view, [(1,)])[0] is not None
    store.create(make_view(project, "profile"))
    assert store.views(project) == {"stats", "profile"}


def test_drop_removes_records_and_is_idempotent(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(i, conv=1.0, trips=i) for i in range(50)]))
    store.drop(project, "stats")
    store.drop(project, "stats")
    store.drop(project, "never_created")
    assert store.views(project) == set()
    with pytest.raises(StoreError, match="fsctl apply"):
        store.read(view, [(1,)])
    store.create(view)
    assert store.read(view, [(i,) for i in range(50)]) == [None] * 50


def test_a_view_without_a_table_is_an_error_that_says_to_apply(store: OnlineStore, project: str) -> None:
    view = make_view(project, "missing")
    with pytest.raises(StoreError, match="fsctl apply"):
        store.read(view, [(1,)])
    with pytest.raises(StoreError, match="fsctl apply"):
        store.read(view, [(1,), (2,)])
    with pytest.raises(StoreError, match="fsctl apply"):
        store.write(view, stored_records(view, [rec(1, conv=1.0, trips=1)]))


def test_views_and_projects_are_isolated(store: OnlineStore, project: str) -> None:
    other_project = project + "_b"  # a prefix of each other's names: must still not mix
    stats, profile = make_view(project, "stats"), make_view(project, "profile")
    elsewhere = make_view(other_project, "stats")
    for view in (stats, profile, elsewhere):
        store.create(view)
    store.write(stats, stored_records(stats, [rec(1, conv=0.1, trips=1)]))
    store.write(profile, stored_records(profile, [rec(1, conv=0.2, trips=2)]))
    store.write(elsewhere, stored_records(elsewhere, [rec(1, conv=0.3, trips=3)]))
    assert [
        r.values["trips"] for r in (store.read(v, [(1,)])[0] for v in (stats, profile, elsewhere)) if r
    ] == [
        1,
        2,
        3,
    ]
    assert store.views(project) == {"stats", "profile"}
    assert store.views(other_project) == {"stats"}
    store.drop(project, "stats")
    assert store.read(elsewhere, [(1,)])[0] is not None
    assert store.read(profile, [(1,)])[0] is not None
    assert store.views(other_project) == {"stats"}


# -- values ------------------------------------------------------------------------------


def test_every_dtype_roundtrips(store: OnlineStore, project: str) -> None:
    view = make_view(project, features=ALL_DTYPES)
    store.create(view)
    ts = datetime(2024, 5, 17, 8, 30, 15, 123456, tzinfo=UTC)
    values = {
        "i32": -(2**31),
        "i64": 2**62 + 7,
        "f32": 1.5,
        "f64": 0.1 + 0.2,
        "s": 'café \U0001f680 "quoted" \x1f',
        "b": False,
        "raw": b"\x00\xffbinary\n",
        "ts": ts,
        "li": [1, -2, 2**40, None],
        "ls": ["a", "", None, "ü"],
        "lf": [1.25, float("inf"), float("-inf")],
        "lts": [ts, None, datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)],
        "lraw": [b"", b"\x01", None],
    }
    assert store.write(view, stored_records(view, [rec(7, T0, T0 + 1, **values)])) == 1
    got = store.read(view, [(7,)])[0]
    assert got is not None
    assert (got.key, got.event_ts, got.created_ts) == ((7,), T0, T0 + 1)
    assert_values(got.values, values)
    assert got.values["ts"].tzinfo is not None


def test_nulls_nan_and_missing_features(store: OnlineStore, project: str) -> None:
    view = make_view(project, features=ALL_DTYPES)
    store.create(view)
    nulls = {name: None for name, _ in ALL_DTYPES}
    nan = {"f32": float("nan"), "f64": float("nan"), "lf": [float("nan"), None, 2.0]}
    store.write(view, stored_records(view, [rec(1, **nulls), rec(2, **nan), rec(3, s="only this one")]))
    one, two, three = store.read(view, [(1,), (2,), (3,)])
    assert one is not None and two is not None and three is not None
    assert_values(one.values, nulls)
    assert_values(two.values, nan)
    assert three.values == {"s": "only this one"}  # features not written are absent


def test_timestamps_come_back_in_utc(store: OnlineStore, project: str) -> None:
    view = make_view(project, features=(("ts", "timestamp"),))
    store.create(view)
    plus_two = timezone(timedelta(hours=2))
    records = [
        rec(1, ts=datetime(2024, 1, 1, 12, 0, tzinfo=plus_two)),
        rec(2, ts=datetime(2024, 1, 1, 12, 0)),
    ]
    store.write(view, stored_records(view, records))
    first, second = (r.values["ts"] if r else None for r in store.read(view, [(1,), (2,)]))
    assert first == datetime(2024, 1, 1, 10, 0, tzinfo=UTC) and first.utcoffset() == timedelta(0)
    assert second == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)  # naive means UTC


def test_values_follow_the_view_schema_when_it_changes(store: OnlineStore, project: str) -> None:
    old = make_view(project, features=(("a", "int64"), ("gone", "string")))
    new = make_view(project, features=(("a", "int64"), ("added", "float64")))
    store.create(old)
    store.write(old, stored_records(old, [rec(1, a=5, gone="x")]))
    got = store.read(new, [(1,)])[0]
    assert got is not None and got.values == {"a": 5}


# -- keys ---------------------------------------------------------------------------------


def test_int_and_str_keys_name_the_same_record(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(1001, conv=0.5, trips=1)]))
    as_int, as_str = store.read(view, [(1001,), ("1001",)])
    assert as_int is not None and as_str is not None
    assert as_int.values == as_str.values == {"conv": 0.5, "trips": 1}
    assert as_str.key == ("1001",)  # the key as the caller gave it
    store.write(view, stored_records(view, [rec("1001", T0 + 1, conv=0.75, trips=2)]))
    got = store.read(view, [(1001,)])[0]
    assert got is not None and got.values["trips"] == 2


def test_composite_keys(store: OnlineStore, project: str) -> None:
    view = make_view(project, "pairs", join_keys=("driver_id", "city"))
    store.create(view)
    records = [
        rec((1, "paris"), trips=1),
        rec((1, "rome"), trips=2),
        rec((2, "paris"), trips=3),
        rec((12, "x"), trips=4),
    ]
    store.write(view, stored_records(view, records))
    keys = [(1, "rome"), (2, "paris"), (1, "paris"), ("1", "paris"), (1, "x"), (12, "x"), (1, "2x")]
    got = [r.values["trips"] if r else None for r in store.read(view, keys)]
    assert got == [2, 3, 1, 1, None, 4, None]


def test_missing_keys_read_as_none_in_input_order_with_duplicates(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(i, conv=i / 10, trips=i) for i in (1, 2, 3)]))
    keys = [(3,), (9,), (1,), (3,), (2,), (9,), (1,)]
    got = store.read(view, keys)
    assert [r.values["trips"] if r else None for r in got] == [3, None, 1, 3, 2, None, 1]
    assert [r.key for r in got if r] == [(3,), (1,), (3,), (2,), (1,)]
    assert store.read(view, [(404,)]) == [None]
    assert store.read(view, []) == []


# -- the never-older rule --------------------------------------------------------------

NEVER_OLDER = [
    # (stored event, stored created), (incoming event, incoming created), incoming kept?
    pytest.param((T0, None), (T0 - 1, None), False, id="older-event-rejected"),
    pytest.param((T0, 5), (T0 - 1, 9), False, id="older-event-newer-created-rejected"),
    pytest.param((T0, 5), (T0 + 1, None), True, id="newer-event-accepted"),
    pytest.param((T0, 5), (T0 + 1, 1), True, id="newer-event-older-created-accepted"),
    pytest.param((T0, 5), (T0, 4), False, id="equal-event-older-created-rejected"),
    pytest.param((T0, 5), (T0, 5), True, id="equal-event-equal-created-accepted"),
    pytest.param((T0, 5), (T0, 6), True, id="equal-event-newer-created-accepted"),
    pytest.param((T0, 5), (T0, None), False, id="null-created-loses-to-created"),
    pytest.param((T0, None), (T0, 0), True, id="created-beats-null-created"),
    pytest.param((T0, None), (T0, None), True, id="equal-event-both-null-accepted"),
    pytest.param((0, None), (-5, None), False, id="before-the-epoch"),
]


@pytest.mark.parametrize(("stored", "incoming", "kept"), NEVER_OLDER)
def test_a_write_never_replaces_a_newer_record(
    store: OnlineStore,
    project: str,
    stored: tuple[int, int | None],
    incoming: tuple[int, int | None],
    kept: bool,
) -> None:
    view = make_view(project)
    store.create(view)
    assert store.write(view, stored_records(view, [rec(1, *stored, conv=1.0, trips=1)])) == 1
    assert store.write(view, stored_records(view, [rec(1, *incoming, conv=2.0, trips=2)])) == int(kept)
    got = store.read(view, [(1,)])[0]
    assert got is not None
    expected = (*incoming, 2) if kept else (*stored, 1)
    assert (got.event_ts, got.created_ts, got.values["trips"]) == expected


def test_write_counts_what_it_stored(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    assert store.write(view, stored_records(view, [])) == 0
    assert store.write(view, stored_records(view, [rec(i, T0, conv=0.0, trips=i) for i in range(10)])) == 10
    batch = [rec(i, T0 + (1 if i % 2 else -1), conv=1.0, trips=100 + i) for i in range(10)]
    batch += [rec(i, T0, conv=1.0, trips=200 + i) for i in range(10, 13)]
    assert store.write(view, stored_records(view, batch)) == 5 + 3
    got = store.read(view, [(i,) for i in range(13)])
    assert [r.values["trips"] if r else None for r in got] == [
        0, 101, 2, 103, 4, 105, 6, 107, 8, 109, 210, 211, 212,
    ]  # fmt: skip
    # re-running a window stores the same records again
    assert store.write(view, stored_records(view, batch)) == 8


def test_large_batch_roundtrip(store: OnlineStore, project: str) -> None:
    # moto answers ~200 conditional puts a second in-process (real DynamoDB: thousands), so the
    # dynamodb run uses fewer records; 1,200 still spans many BatchGetItem calls and all threads.
    count = 1200 if isinstance(store, DynamoDBOnlineStore) else 5000
    view = make_view(project, features=(("conv", "float64"), ("trips", "int64"), ("name", "string")))
    store.create(view)
    records = [rec(i, T0 + i, None, conv=i / 7, trips=i, name=f"driver {i}") for i in range(count)]
    assert store.write(view, stored_records(view, records)) == count
    keys = [(i,) for i in reversed(range(count))] + [(count,)]
    got = store.read(view, keys)
    assert got[-1] is None
    assert all(
        r is not None and r.key == k and r.values["trips"] == k[0]
        for r, k in zip(got[:-1], keys, strict=False)
    )
    assert all(r is not None and r.event_ts == T0 + r.values["trips"] for r in got[:-1])


def test_sync_keeps_every_record_and_the_store_stays_usable(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(i, conv=0.5, trips=i) for i in range(20)]))
    store.sync()
    store.sync()  # idempotent, and fine with nothing new to sync
    store.write(view, stored_records(view, [rec(20, conv=0.5, trips=20)]))
    got = store.read(view, [(i,) for i in range(21)])
    assert [r.values["trips"] if r else None for r in got] == list(range(21))


def test_reads_from_threads(store: OnlineStore, project: str) -> None:
    view = make_view(project)
    store.create(view)
    store.write(view, stored_records(view, [rec(i, conv=0.5, trips=i) for i in range(100)]))
    errors: list[BaseException] = []

    def reader(offset: int) -> None:
        try:
            for i in range(offset, 100, 4):
                got = store.read(view, [(i,)])[0]
                assert got is not None and got.values["trips"] == i
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- how records are laid out (other tools and older fsctl versions read these) -----------


def test_sqlite_layout(tmp_path: Path) -> None:
    store = SQLiteOnlineStore(tmp_path / "online.db")
    view = make_view("proj")
    store.create(view)
    store.write(view, stored_records(view, [rec(1001, T0, None, conv=0.5, trips=3)]))
    store.close()
    with sqlite3.connect(tmp_path / "online.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [(row[1], row[2]) for row in conn.execute('PRAGMA table_info("proj__stats")')]
        assert columns == [
            ("key", "TEXT"),
            ("event_ts", "INTEGER"),
            ("created_ts", "INTEGER"),
            ("vals", "TEXT"),
        ]
        rows = conn.execute('SELECT key, event_ts, created_ts, vals FROM "proj__stats"').fetchall()
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'proj__stats'").fetchone()[0]
    assert rows == [("1001", T0, None, '{"conv":0.5,"trips":3}')]
    assert ddl.endswith("WITHOUT ROWID")  # one B-tree keyed by the key


def test_sqlite_tables_made_before_without_rowid_keep_working(tmp_path: Path) -> None:
    """Stores created by earlier versions have rowid tables; CREATE ... IF NOT EXISTS keeps
    them, and every write and read works the same on them."""
    path = tmp_path / "online.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            'CREATE TABLE "proj__stats" '
            "(key TEXT PRIMARY KEY, event_ts INTEGER NOT NULL, created_ts INTEGER, vals TEXT NOT NULL)"
        )
        conn.execute("""INSERT INTO "proj__stats" VALUES ('1', ?, NULL, '{"conv":0.5,"trips":1}')""", (T0,))
    store = SQLiteOnlineStore(path)
    view = make_view("proj")
    store.create(view)
    records = [rec(1, T0 - 1, None, conv=0.0, trips=0), rec(2, T0, None, conv=0.2, trips=2)]
    assert store.write(view, stored_records(view, records)) == 1
    assert [r.values["trips"] if r else None for r in store.read(view, [(1,), (2,), (3,)])] == [1, 2, None]
    store.sync()
    store.close()


def test_sqlite_sync_moves_committed_rows_into_the_database_file(tmp_path: Path) -> None:
    """A commit only appends to the WAL, which is not fsynced (synchronous = NORMAL); sync
    checkpoints it, so the rows are in the main file even if the WAL were lost."""
    path = tmp_path / "online.db"
    store = SQLiteOnlineStore(path)
    view = make_view("proj")
    store.create(view)
    store.write(view, stored_records(view, [rec(i, T0, None, conv=0.5, trips=i) for i in range(50)]))

    def rows_in_main_file_alone() -> int:
        copy = tmp_path / "copy.db"
        shutil.copyfile(path, copy)  # the main file only: no -wal beside it
        with sqlite3.connect(copy) as conn:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'proj__stats'").fetchone()[0]
            count = conn.execute('SELECT count(*) FROM "proj__stats"').fetchone()[0] if tables else 0
        copy.unlink()
        return int(count)

    assert rows_in_main_file_alone() == 0  # still only in the WAL
    store.sync()
    assert rows_in_main_file_alone() == 50
    store.close()


def test_sqlite_sync_fsyncs_the_wal_when_a_reader_holds_frames_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader on an older snapshot (fsctl serve mid-read) keeps a PASSIVE checkpoint from
    copying the newest frames; sync must then fsync the WAL itself."""
    import os

    path = tmp_path / "online.db"
    store = SQLiteOnlineStore(path)
    view = make_view("proj")
    store.create(view)
    store.write(view, stored_records(view, [rec(1, T0, None, conv=0.5, trips=1)]))
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute('SELECT count(*) FROM "proj__stats"').fetchone() == (1,)  # snapshot held
    store.write(view, stored_records(view, [rec(2, T0, None, conv=0.5, trips=2)]))
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    store.sync()
    assert synced == [f"{path}-wal"]
    reader.execute("COMMIT")
    reader.close()
    synced.clear()
    store.sync()  # nothing held back now: the checkpoint completes, no extra fsync
    assert synced == []
    assert [r.values["trips"] if r else None for r in store.read(view, [(1,), (2,)])] == [1, 2]
    store.close()


def test_dynamodb_layout(s3_server: Any, monkeypatch: pytest.MonkeyPatch, project: str) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    store = DynamoDBOnlineStore(table_prefix="lay_", endpoint_url=s3_server.endpoint)
    view = make_view(project)
    store.create(view)
    records = [rec(1001, T0, None, conv=0.5, trips=3), rec(7, T0, 9, conv=None, trips=1)]
    store.write(view, stored_records(view, records))
    table = f"lay_{project}__stats"
    description = store.client.describe_table(TableName=table)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "k", "KeyType": "HASH"}]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    items = {i["k"]["S"]: i for i in store.client.scan(TableName=table)["Items"]}
    assert items["1001"] == {
        "k": {"S": "1001"},
        "event_ts": {"N": str(T0)},
        "vals": {"S": '{"conv":0.5,"trips":3}'},
    }
    assert items["7"]["created_ts"] == {"N": "9"}


def test_redis_layout(redis_server: Any, project: str) -> None:
    import redis

    store = RedisOnlineStore(redis_server.url)
    view = make_view(project)
    store.create(view)
    records = [rec(1001, T0, None, conv=0.5, trips=3), rec((7,), T0, 9, conv=None, trips=1)]
    store.write(view, stored_records(view, records))
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.smembers(f"fsctl:{project}:__views__") == {"stats"}
    assert client.hgetall(f"fsctl:{project}:stats:1001") == {"e": str(T0), "v": '{"conv":0.5,"trips":3}'}
    assert client.hgetall(f"fsctl:{project}:stats:7")["c"] == "9"
    newer = [rec(7, T0 + 1, None, conv=None, trips=2)]  # a newer record with no created time
    store.write(view, stored_records(view, newer))
    assert "c" not in client.hgetall(f"fsctl:{project}:stats:7")
    client.close()


# -- the codec ------------------------------------------------------------------------------


def test_encode_key_is_canonical() -> None:
    assert encode_key((1001,)) == encode_key(("1001",)) == "1001"
    assert encode_key((True,)) == "true" and encode_key((False,)) == "false"
    assert encode_key((b"\x01\xab",)) == "01ab"
    assert encode_key((datetime(2024, 1, 1, tzinfo=UTC),)) == "2024-01-01T00:00:00+00:00"
    assert encode_key((datetime(2024, 1, 1),)) == encode_key((datetime(2024, 1, 1, tzinfo=UTC),))
    assert encode_key((1, "a")) == "1\x1fa"
    assert encode_key((1, "a")) != encode_key((1, "a", None))


def test_values_text_is_compact_json_and_ignores_unknown_names() -> None:
    view = make_view("p", features=(("ts", "timestamp"), ("raw", "bytes"), ("f", "float64")))
    text = encode_values(view, {"ts": datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "raw": b"hi", "f": 1.0})
    assert text == '{"ts":1000000,"raw":"aGk=","f":1.0}'
    assert decode_values(view, '{"ts":null,"other":1}') == {"ts": None}


def test_a_value_that_does_not_fit_its_dtype_is_a_store_error_naming_the_feature() -> None:
    view = make_view("p", "stats", features=(("raw", "bytes"), ("when", "timestamp")))
    with pytest.raises(StoreError, match=r"view 'stats'.*feature 'when' \(timestamp\)"):
        encode_values(view, {"raw": b"ok", "when": "not a time"})


# -- store-specific faults ---------------------------------------------------------------


def test_sqlite_path_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    store = SQLiteOnlineStore(blocker / "online.db")
    with pytest.raises(StoreError) as err:
        store.create(make_view("p"))
    assert str(blocker / "online.db") in str(err.value) and "writable" in str(err.value)


def test_sqlite_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "online.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"online\.db"):
        SQLiteOnlineStore(path).views("p")


def test_sqlite_reads_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "online.db"
    store = SQLiteOnlineStore(path)
    view = make_view("p")
    store.create(view)
    store.write(view, stored_records(view, [rec(1, conv=0.5, trips=1)]))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute('UPDATE "p__stats" SET event_ts = event_ts + 1')
    try:
        got = store.read(view, [(1,)])[0]  # WAL: readers see the last commit, never "locked"
        assert got is not None and got.event_ts == T0
    finally:
        writer.execute("COMMIT")
        writer.close()
    got = store.read(view, [(1,)])[0]
    assert got is not None and got.event_ts == T0 + 1


def test_dynamodb_endpoint_that_is_down_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = DynamoDBOnlineStore(region="us-east-1", table_prefix="x_", endpoint_url=endpoint)
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        store.read(make_view("p"), [(1,)])
    assert time.monotonic() - started < 15
    assert endpoint in str(err.value) and "x_p__stats" in str(err.value)
    with pytest.raises(StoreError, match="cannot be reached"):
        store.create(make_view("p"))


def test_dynamodb_table_that_does_not_exist_says_to_apply(
    s3_server: Any, monkeypatch: pytest.MonkeyPatch, project: str
) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    store = DynamoDBOnlineStore(table_prefix="none_", endpoint_url=s3_server.endpoint)
    with pytest.raises(StoreError) as err:
        store.read(make_view(project), [(1,)])
    assert f"none_{project}__stats" in str(err.value) and "fsctl apply" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_redis_server_that_is_down_names_the_url() -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    store = RedisOnlineStore(url)
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        store.views("p")
    assert time.monotonic() - started < 10
    message = str(err.value)
    assert url.replace("secret", "***") in message and "secret" not in message


def test_the_workspace_builds_each_kind_from_fsctl_yaml(tmp_path: Path) -> None:
    def online_store(section: str, root: Path = tmp_path) -> OnlineStore:
        root.mkdir(parents=True, exist_ok=True)
        (root / "fsctl.yaml").write_text(f"project: demo\nonline_store: {section}\n")
        with open_workspace(root) as ws:
            return ws.online_store()

    sqlite_store = online_store("{type: sqlite, path: data/online.db}")
    assert (
        isinstance(sqlite_store, SQLiteOnlineStore) and sqlite_store.path == tmp_path / "data" / "online.db"
    )
    absolute = online_store(f"{{type: sqlite, path: '{tmp_path / 'abs.db'}'}}", tmp_path / "elsewhere")
    assert isinstance(absolute, SQLiteOnlineStore) and absolute.path == tmp_path / "abs.db"
    dynamo = online_store("{type: dynamodb, region: eu-west-1, table_prefix: fs_, endpoint_url: null}")
    assert isinstance(dynamo, DynamoDBOnlineStore) and dynamo.table("p", "v") == "fs_p__v"
    assert dynamo.region == "eu-west-1"
    redis_store = online_store("{type: redis, url: 'redis://h:1/2'}")
    assert isinstance(redis_store, RedisOnlineStore) and redis_store.location == "redis://h:1/2"
    with pytest.raises(ConfigError, match="unknown online store type 'cassandra'"):
        online_store("{type: cassandra}")


def test_the_adapter_table_builds_each_kind_from_its_config(tmp_path: Path) -> None:
    def build(kind: str, config: object, root: Path = tmp_path) -> OnlineStore:
        adapter = ONLINE_STORES[kind]
        assert isinstance(config, adapter.attribute(adapter.config))
        store: OnlineStore = adapter.attribute(adapter.factory)(config, root)
        return store

    sqlite_store = build("sqlite", SQLiteOnlineStoreConfig(path="data/online.db"))
    assert (
        isinstance(sqlite_store, SQLiteOnlineStore) and sqlite_store.path == tmp_path / "data" / "online.db"
    )
    absolute = build("sqlite", SQLiteOnlineStoreConfig(path=str(tmp_path / "abs.db")), Path("/elsewhere"))
    assert isinstance(absolute, SQLiteOnlineStore) and absolute.path == tmp_path / "abs.db"
    dynamo = build(
        "dynamodb",
        DynamoDBOnlineStoreConfig(type="dynamodb", region="eu-west-1", table_prefix="fs_", endpoint_url=None),
    )
    assert isinstance(dynamo, DynamoDBOnlineStore) and dynamo.table("p", "v") == "fs_p__v"
    assert dynamo.region == "eu-west-1"
    redis_store = build("redis", RedisOnlineStoreConfig(type="redis", url="redis://h:1/2"))
    assert isinstance(redis_store, RedisOnlineStore) and redis_store.location == "redis://h:1/2"
    assert set(ONLINE_STORES) == {"sqlite", "dynamodb", "redis", "postgres", "mysql"}
