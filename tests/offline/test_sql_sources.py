"""A SQL source in the DuckDB engine: retrieval, materialization and checks over a view on
a SQL source give what the same query, run by hand with duckdb on the same files and
written to a file, gives through a view on that file. A SQL source over a SQL source, and a
join of two sources, work the same way."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from fsctl import FeatureStore
from fsctl.errors import StoreError

QUERY = """\
SELECT o.customer_id, date_trunc('day', o.order_date) AS event_timestamp,
       sum(o.order_amount) AS daily_amount, count(*) AS daily_orders, max(c.segment) AS segment
FROM {{ source('orders') }} AS o JOIN {{ source('customers') }} AS c USING (customer_id)
GROUP BY ALL
"""
# The same query over the files, as a user would run it by hand.
BY_HAND = QUERY.replace("{{ source('orders') }}", "read_parquet('{orders}')").replace(
    "{{ source('customers') }}", "read_csv('{customers}', header = true)"
)
WEEKLY = """\
SELECT customer_id, event_timestamp, sum(daily_amount) OVER (
    PARTITION BY customer_id ORDER BY event_timestamp RANGE BETWEEN INTERVAL 6 DAY PRECEDING AND CURRENT ROW
) AS amount_7d
FROM {{ source('daily') }}
"""
SCHEMA = (
    "schema:\n  - {name: daily_amount, dtype: float64}\n  - {name: daily_orders, dtype: int64}\n"
    "  - {name: segment, dtype: string}\n"
)


def write_orders(root: Path) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        "COPY (SELECT (i % 7)::BIGINT AS customer_id, i::BIGINT AS order_id, (((i * 37) % 101) * 1.25)::DOUBLE "
        "AS order_amount, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 5 HOUR AS order_date "
        f"FROM range(300) t(i)) TO '{root / 'data' / 'orders.parquet'}' (FORMAT parquet)"
    )
    lines = ["customer_id,segment"] + [f"{c},{'gold' if c % 2 else 'silver'}" for c in range(7)]
    (root / "data" / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def store(make_repo) -> FeatureStore:
    defs = f"""\
kind: Entity
name: customer
join_keys: [customer_id]
---
kind: FileSource
name: orders
path: data/orders.parquet
timestamp_field: order_date
---
kind: FileSource                  # a dimension table, read only by the query: no event time of its own
name: customers
path: data/customers.csv
format: csv
timestamp_field: customer_id
---
kind: SqlSource
name: daily
query: |
{"".join(f"  {line}{chr(10)}" for line in QUERY.splitlines())}---
kind: SqlSource
name: weekly
query: |
{"".join(f"  {line}{chr(10)}" for line in WEEKLY.splitlines())}---
kind: FileSource
name: daily_by_hand
path: data/daily_by_hand.parquet
---
kind: FeatureView
name: from_sql
entities: [customer]
source: daily
ttl: 3d
checks:
  daily_amount: {{min: 0}}
{SCHEMA}---
kind: FeatureView
name: from_file
entities: [customer]
source: daily_by_hand
ttl: 3d
{SCHEMA}---
kind: FeatureView
name: rolling
entities: [customer]
source: weekly
schema:
  - {{name: amount_7d, dtype: float64}}
"""
    root = make_repo({"fsctl.yaml": "project: sqlsrc\nregistry: data/registry.json\n", "defs.yaml": defs}, data=False)
    write_orders(root)
    by_hand = BY_HAND.format(orders=root / "data" / "orders.parquet", customers=root / "data" / "customers.csv")
    duckdb.sql(f"COPY ({by_hand}) TO '{root / 'data' / 'daily_by_hand.parquet'}' (FORMAT parquet)")
    store = FeatureStore(root)
    store.apply()
    return store


ENTITIES = pa.table(
    {
        "customer_id": pa.array([c % 8 for c in range(60)], pa.int64()),
        "event_timestamp": pa.array(
            [datetime(2024, 1, 1, tzinfo=timezone.utc).replace(hour=(i * 7) % 24, day=1 + (i * 5) % 70 % 28) for i in range(60)],
            pa.timestamp("us", tz="UTC"),
        ),
        "label": list(range(60)),
    }
)
FEATURES = ("daily_amount", "daily_orders", "segment")


def retrieve(store: FeatureStore, view: str) -> list[dict[str, Any]]:
    with store.get_historical_features(ENTITIES, [f"{view}:{f}" for f in FEATURES]) as result:
        return result.to_arrow().to_pylist()


def test_retrieval_equals_the_query_run_by_hand(store: FeatureStore) -> None:
    from_sql, from_file = retrieve(store, "from_sql"), retrieve(store, "from_file")
    assert from_sql == from_file
    assert sum(row["daily_amount"] is not None for row in from_sql) > 20  # the join found values
    assert sum(row["daily_amount"] is None for row in from_sql) > 5  # and the TTL / unknown key left nulls


def test_materialize_and_checks_read_the_sql_source(store: FeatureStore) -> None:
    end = datetime(2024, 3, 1, tzinfo=timezone.utc)
    result = store.materialize(datetime(2024, 1, 1, tzinfo=timezone.utc), end)
    assert not result.failed
    rows = {"customer_id": list(range(8))}
    from_sql = store.get_online_features([f"from_sql:{f}" for f in FEATURES], entity_rows=rows, ignore_ttl=True)
    from_file = store.get_online_features([f"from_file:{f}" for f in FEATURES], entity_rows=rows, ignore_ttl=True)
    assert from_sql.to_dict() == from_file.to_dict()
    assert from_sql.to_dict()["segment"][:3] == ["silver", "gold", "silver"]
    report = store.check("from_sql", end)
    assert not report.failed


def test_a_sql_source_over_a_sql_source(store: FeatureStore) -> None:
    entities = pa.table({"customer_id": [3], "event_timestamp": pa.array([datetime(2024, 1, 20, 12)], pa.timestamp("us"))})
    with store.get_historical_features(entities, ["rolling:amount_7d"]) as result:
        [row] = result.to_arrow().to_pylist()
    orders = store.root / "data" / "orders.parquet"
    [(expected,)] = duckdb.sql(
        f"SELECT sum(order_amount) FROM read_parquet('{orders}') WHERE customer_id = 3 "
        "AND order_date >= TIMESTAMPTZ '2024-01-14 00:00:00+00' AND order_date < TIMESTAMPTZ '2024-01-21 00:00:00+00'"
    ).fetchall()
    assert row["amount_7d"] == pytest.approx(expected)


def test_a_query_that_fails_at_run_time_names_the_sql_source(store: FeatureStore) -> None:
    (store.root / "data" / "customers.csv").write_text("id,segment\n1,gold\n", encoding="utf-8")  # customer_id gone
    with pytest.raises(StoreError, match="the query of SQL source 'daily' does not run: Binder Error"):
        retrieve(store, "from_sql")
