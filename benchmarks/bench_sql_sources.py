"""SQL sources and Delta tables (issue 17): what computing features in the repo costs at
retrieval time, against raw DuckDB in the same run.

Generates N raw orders (N/50 customers over 60 days) and M entity rows, then times (median
of --repeat runs, in this process, after one warm-up):

* fsctl, SQL source: ``get_historical_features`` of a view on a SQL source that aggregates
  the orders per customer and day (count, sum, avg), written to parquet;
* raw DuckDB: the same aggregation and a bare ASOF LEFT JOIN of the entity rows to it, in
  one statement, written to parquet (no TTL, no tie-break, no input order): the reference;
* fsctl, precomputed: the same retrieval from a view on the aggregation written to a
  parquet file beforehand (what a job outside the repo would have produced);
* fsctl, Delta: the same retrieval from that aggregation written as a Delta table
  (read through deltalake as an Arrow dataset), against the precomputed parquet.

    python benchmarks/bench_sql_sources.py --orders 5000000 --entities 500000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

QUERY = """SELECT customer_id, date_trunc('day', order_date) + INTERVAL 1 DAY AS event_timestamp,
       count(order_id) AS daily_orders, sum(order_amount) AS daily_amount, avg(order_amount) AS daily_avg
FROM {{ source('orders') }} GROUP BY ALL"""
SCHEMA = (
    "schema:\n  - {name: daily_orders, dtype: int64}\n  - {name: daily_amount, dtype: float64}\n"
    "  - {name: daily_avg, dtype: float64}\n"
)


def generate(folder: Path, n: int, m: int) -> None:
    import duckdb
    from deltalake import write_deltalake

    con = duckdb.connect()
    customers = max(n // 50, 1)
    (folder / "data").mkdir(parents=True)
    con.execute(f"""COPY (SELECT (hash(i) % {customers})::BIGINT AS customer_id, i::BIGINT AS order_id,
        ((hash(i * 3) % 10000) / 100.0)::DOUBLE AS order_amount,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds((hash(i * 7) % (60 * 86400))::BIGINT * 1000000) AS order_date
        FROM range({n}) t(i)) TO '{folder}/data/orders.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT (hash(i * 11) % {customers})::BIGINT AS customer_id,
        TIMESTAMP '2026-01-02' + to_microseconds((hash(i * 13) % (60 * 86400))::BIGINT * 1000000) AS event_timestamp
        FROM range({m}) t(i)) TO '{folder}/data/entities.parquet' (FORMAT parquet)""")
    by_hand = QUERY.replace("{{ source('orders') }}", f"read_parquet('{folder}/data/orders.parquet')")
    con.execute(f"COPY ({by_hand}) TO '{folder}/data/daily.parquet' (FORMAT parquet)")
    write_deltalake(str(folder / "data" / "daily_delta"), con.sql(f"SELECT * FROM '{folder}/data/daily.parquet'").arrow())
    indented = "".join(f"  {line}\n" for line in QUERY.splitlines())
    defs = (
        "kind: Entity\nname: customer\njoin_keys: [customer_id]\n---\n"
        "kind: FileSource\nname: orders\npath: data/orders.parquet\ntimestamp_field: order_date\n---\n"
        f"kind: SqlSource\nname: daily_sql\nquery: |\n{indented}---\n"
        "kind: FileSource\nname: daily_file\npath: data/daily.parquet\n---\n"
        "kind: FileSource\nname: daily_delta\npath: data/daily_delta\nformat: delta\n---\n"
    )
    for view in ("sql", "file", "delta"):
        defs += f"kind: FeatureView\nname: v_{view}\nentities: [customer]\nsource: daily_{view}\nttl: 3d\n{SCHEMA}---\n"
    (folder / "fsctl.yaml").write_text("project: bench\nregistry: data/registry.json\n", encoding="utf-8")
    (folder / "defs.yaml").write_text(defs.rstrip("-\n") + "\n", encoding="utf-8")


def fsctl_run(store: Any, folder: Path, view: str) -> None:
    features = [f"v_{view}:{f}" for f in ("daily_orders", "daily_amount", "daily_avg")]
    with store.get_historical_features(str(folder / "data" / "entities.parquet"), features) as result:
        result.write(folder / f"out_{view}.parquet")


def raw_run(folder: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    daily = QUERY.replace("{{ source('orders') }}", f"read_parquet('{folder}/data/orders.parquet')")
    con.execute(f"""COPY (SELECT e.*, d.daily_orders, d.daily_amount, d.daily_avg
        FROM read_parquet('{folder}/data/entities.parquet') e ASOF LEFT JOIN ({daily}) d
        ON e.customer_id = d.customer_id AND e.event_timestamp >= d.event_timestamp::TIMESTAMP)
        TO '{folder}/out_raw.parquet' (FORMAT parquet)""")


def timed(fn: Any, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from fsctl import FeatureStore

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.orders, args.entities)
        store = FeatureStore(folder)
        store.apply()
        raw = timed(lambda: raw_run(folder), args.repeat)
        sql = timed(lambda: fsctl_run(store, folder, "sql"), args.repeat)
        file = timed(lambda: fsctl_run(store, folder, "file"), args.repeat)
        delta = timed(lambda: fsctl_run(store, folder, "delta"), args.repeat)
        store.close()
    print(f"{args.orders:,} orders, {args.entities:,} entity rows (median of {args.repeat})\n")
    print(f"{'run':<36} {'seconds':>8} {'ratio':>22}")
    print(f"{'raw DuckDB: aggregate + ASOF join':<36} {raw:>8.3f} {'1.00x (reference)':>22}")
    print(f"{'fsctl, SQL source':<36} {sql:>8.3f} {sql / raw:>15.2f}x raw")
    print(f"{'fsctl, precomputed parquet':<36} {file:>8.3f} {file / raw:>15.2f}x raw")
    print(f"{'fsctl, precomputed Delta table':<36} {delta:>8.3f} {delta / file:>11.2f}x parquet")


if __name__ == "__main__":
    main()
