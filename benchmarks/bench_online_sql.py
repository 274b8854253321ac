"""The online stores side by side: SQLite (the reference), Redis, Postgres and MariaDB (the
mysql store), through the ``OnlineStore`` interface, in one run.

For each store: write N records (what materialize hands the store after the offline
engine; the same records for every store, in batches as materialize sends them), read one
entity (p50 / p99 of many single-key reads) and 1,000 entities (p50 / p99), plus the raw
driver's point select of one key on its own connection, so the store's own overhead shows.
Figures are also given as ratios to SQLite's.

The servers are the tests' (``tests/support``): real ``redis-server``, Postgres and MariaDB
started on loopback ports in temporary folders, fsync off (Postgres ``fsync=off``, MariaDB
``innodb_flush_log_at_trx_commit=0``, Redis without persistence), so the comparison is of
the stores and their protocols, not of disks; SQLite commits without fsync too (WAL,
``synchronous=NORMAL``). The stores log in as README's ``fsctl_writer`` / ``fsctl_reader``.

    python benchmarks/bench_online_sql.py [--rows 1000000] [--reads 5000] [--stores sqlite,redis,postgres,mysql]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fsctl.online.base import OnlineStore, OnlineView  # noqa: E402
from fsctl.online.format import StoredRecord  # noqa: E402

VIEW = OnlineView("bench", "driver_stats", ("driver_id",), (("conv_rate", "float64"), ("trips", "int64")))
WRITE_BATCH = 100_000  # records per OnlineStore.write, as materialize sends them
T0 = 1_700_000_000_000_000


def records(n: int) -> list[StoredRecord]:
    return [(str(i), T0 + i, None, f'{{"conv_rate":{i % 1000 / 1000},"trips":{i % 97}}}') for i in range(n)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Bench:
    """One store: how to build its writer and reader, a raw point select, and cleanup."""

    def __init__(
        self, name: str, writer: Callable[[], OnlineStore], reader: Callable[[], OnlineStore],
        raw: Callable[[], Callable[[str], Any]], stop: Callable[[], None],
    ) -> None:  # fmt: skip
        self.name, self.writer, self.reader, self.raw, self.stop = name, writer, reader, raw, stop


def sqlite_bench(tmp: Path) -> Bench:
    import sqlite3

    from fsctl.online.sqlite import SQLiteOnlineStore

    path = tmp / "online.db"

    def raw() -> Callable[[str], Any]:
        db = sqlite3.connect(path)
        sql = 'SELECT event_ts, created_ts, vals FROM "bench__driver_stats" WHERE key = ?'
        return lambda key: db.execute(sql, (key,)).fetchone()

    return Bench("sqlite", lambda: SQLiteOnlineStore(path), lambda: SQLiteOnlineStore(path), raw, lambda: None)


def redis_bench(tmp: Path) -> Bench:
    import redis

    from fsctl.online.redis_store import RedisOnlineStore
    from tests.support.redis_server import start_server

    server = start_server(tmp / "redis")

    def raw() -> Callable[[str], Any]:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        return lambda key: client.hmget(f"fsctl:bench:driver_stats:{key}", "e", "c", "v")

    store = lambda: RedisOnlineStore(server.url)  # noqa: E731
    return Bench("redis", store, store, raw, server.stop)


def postgres_bench(tmp: Path) -> Bench:
    from fsctl.online.postgres import create_reader, create_store
    from tests.support import postgres_server as pg

    server = pg.start_with_users()
    config = _config("postgres", server, pg, schema=pg.SCHEMA)

    def raw() -> Callable[[str], Any]:
        conn = server.connect(*pg.READER)
        sql = f"SELECT event_us, created_us, vals FROM {pg.SCHEMA}.fsctl_bench__driver_stats WHERE entity_key = %s"
        return lambda key: conn.execute(sql, (key.encode(),)).fetchone()

    return Bench("postgres", lambda: create_store(config, tmp), lambda: create_reader(config, tmp), raw, server.stop)


def mysql_bench(tmp: Path) -> Bench:
    from fsctl.online.mysql import create_reader, create_store
    from tests.support import mariadb_server as maria

    server = maria.start_with_users()
    config = _config("mysql", server, maria)

    def raw() -> Callable[[str], Any]:
        cursor = server.connect(*maria.READER).cursor()
        sql = "SELECT event_us, created_us, vals FROM fsctl_bench__driver_stats WHERE entity_key = %s"

        def select(key: str) -> Any:
            cursor.execute(sql, (key,))
            return cursor.fetchone()

        return select

    return Bench("mysql", lambda: create_store(config, tmp), lambda: create_reader(config, tmp), raw, server.stop)


def _config(kind: str, server: Any, support: Any, **fields: Any) -> Any:
    from fsctl.online.mysql import MySQLOnlineStoreConfig
    from fsctl.online.postgres import PostgresOnlineStoreConfig

    cls = PostgresOnlineStoreConfig if kind == "postgres" else MySQLOnlineStoreConfig
    return cls(
        host=server.host, port=server.port, database=server.database,
        writer={"user": support.WRITER[0], "password": support.WRITER[1]},
        reader={"user": support.READER[0], "password": support.READER[1]}, **fields,
    )  # fmt: skip


BENCHES = {"sqlite": sqlite_bench, "redis": redis_bench, "postgres": postgres_bench, "mysql": mysql_bench}


def measure(bench: Bench, rows: list[StoredRecord], reads: int) -> dict[str, float]:
    writer = bench.writer()
    writer.create(VIEW)
    started = time.perf_counter()
    for start in range(0, len(rows), WRITE_BATCH):
        writer.write(VIEW, rows[start : start + WRITE_BATCH])
    writer.sync()
    write_s = time.perf_counter() - started
    writer.close()

    reader = bench.reader()
    n = len(rows)
    rng = random.Random(1)
    for key in rng.choices(range(n), k=200):  # warm up: connections, prepared statements
        reader.read(VIEW, [(key,)])
    single = []
    for key in rng.choices(range(n), k=reads):
        t = time.perf_counter()
        reader.read(VIEW, [(key,)])
        single.append(time.perf_counter() - t)
    batch = []
    for _ in range(max(20, reads // 50)):
        keys = [(k,) for k in rng.sample(range(n), 1000)]
        t = time.perf_counter()
        got = reader.read(VIEW, keys)
        batch.append(time.perf_counter() - t)
    assert all(r is not None for r in got)
    reader.close()
    select = bench.raw()
    raw = []
    for key in rng.choices(range(n), k=reads):
        text = str(key)
        t = time.perf_counter()
        select(text)
        raw.append(time.perf_counter() - t)
    s50, s99 = percentiles(single)
    b50, b99 = percentiles(batch)
    r50, _ = percentiles(raw)
    return {"write": write_s, "s50": s50, "s99": s99, "b50": b50, "b99": b99, "raw50": r50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--stores", default="sqlite,redis,postgres,mysql")
    args = parser.parse_args()
    names = args.stores.split(",")
    if names[0] != "sqlite":
        names = ["sqlite", *[n for n in names if n != "sqlite"]]  # the reference comes first
    rows = records(args.rows)
    results: dict[str, dict[str, float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="fsctl-bench-online-"))
    try:
        for name in names:
            bench = BENCHES[name](tmp / name)
            try:
                print(f"{name}: writing {args.rows:,} records, then reading ...", file=sys.stderr, flush=True)
                results[name] = measure(bench, rows, args.reads)
            finally:
                bench.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref = results["sqlite"]
    print(f"\nOnline stores, {args.rows:,} records; reads: {args.reads:,} single, 1,000-key batches")
    print(
        f"{'store':<9} {'write s':>8} {'x':>6} {'1 key p50 ms':>13} {'x':>6} {'p99':>7} {'raw p50':>8} "
        f"{'1000 keys p50 ms':>17} {'x':>6} {'p99':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<9} {r['write']:>8.2f} {r['write'] / ref['write']:>5.2f}x "
            f"{r['s50'] * 1e3:>13.3f} {r['s50'] / ref['s50']:>5.2f}x {r['s99'] * 1e3:>7.3f} {r['raw50'] * 1e3:>8.3f} "
            f"{r['b50'] * 1e3:>17.2f} {r['b50'] / ref['b50']:>5.2f}x {r['b99'] * 1e3:>7.2f}"
        )


if __name__ == "__main__":
    main()
