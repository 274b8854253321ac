"""The small repo both store-switch test modules use (issue 11, item 3): one view with a 1d
TTL over a parquet source whose rows are placed so that a store loaded from END minus the
TTL (END = 50h) holds keys 1, 2 and 3, while one loaded only from another store's watermark
(48h) would hold key 3 alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)

DEFS = """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: FileSource
name: stats_src
path: data/stats.parquet
timestamp_field: event_timestamp
---
kind: FeatureView
name: stats
entities: [driver]
source: stats_src
ttl: 1d
schema:
  - {name: conv_rate, dtype: float64}
"""
ROWS = [(1, 2), (1, 30), (2, 40), (3, 49), (4, 51)]  # (driver_id, event hour after T0)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def write_source(root: Path) -> None:
    """``data/stats.parquet`` under ``root`` with ROWS (conv_rate = hour / 100)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "driver_id": pa.array([k for k, _ in ROWS], pa.int64()),
            "event_timestamp": pa.array([h(t) for _, t in ROWS], pa.timestamp("us", tz="UTC")),
            "conv_rate": pa.array([t / 100 for _, t in ROWS], pa.float64()),
        }
    )
    pq.write_table(table, root / "data/stats.parquet")
