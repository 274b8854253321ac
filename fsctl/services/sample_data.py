"""Small, deterministic sample data for new repos and the example repo.

``fsctl init`` calls :func:`write_sample_data` to give a fresh repo something to
materialize and query, and the same function (re)generates ``example_repo/data``::

    python -c "from pathlib import Path; from fsctl.services.sample_data import \
write_sample_data; write_sample_data(Path('example_repo/data'))"

The files are byte-identical on every run: a fixed seed, fixed timestamps (January
2026, UTC) and fixed parquet options. To exercise the point-in-time rules they hold
a few rows sharing an entity key and event time with different ``created`` times
(the later created row, written *before* the earlier one in the file, must win; one
duplicate has a null ``created`` and must lose), and a few nulls in feature columns.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_DRIVERS = [1001, 1002, 1003, 1004, 1005]
_CUSTOMERS = list(range(2001, 2011))


def _with_duplicates(rows: list[dict[str, Any]], picks: list[int], change: Any) -> list[dict[str, Any]]:
    """Insert, just before each picked row, a copy with the same key and event time,
    a later (or, for the last pick, null) ``created`` and different feature values."""
    picked = set(picks)
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if i in picked:
            dup = dict(row, **change(row))
            dup["created"] = None if i == picks[-1] else row["created"] + timedelta(hours=1)
            out.append(dup)
        out.append(row)
    return out


def _driver_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for hour in range(72):  # 2026-01-01 00:00 .. 2026-01-03 23:00
        event = _START + timedelta(hours=hour)
        for driver in _DRIVERS:
            if driver == 1005 and hour >= 36:
                continue  # driver 1005 stops reporting: its values age out of the 2d TTL
            rows.append(
                {
                    "driver_id": driver,
                    "event_timestamp": event,
                    "created": event + timedelta(minutes=rng.randint(1, 30)),
                    "conv_rate": round(rng.uniform(0.0, 1.0), 4),
                    "acc_rate": round(rng.uniform(0.5, 1.0), 4),
                    "avg_daily_trips": rng.randint(0, 1000),
                }
            )
    for i, column in ((17, "conv_rate"), (101, "acc_rate"), (202, "avg_daily_trips"), (290, "conv_rate")):
        rows[i][column] = None
    return _with_duplicates(
        rows,
        [40, 150, 251, 300],
        lambda r: {"conv_rate": 0.999, "avg_daily_trips": (r["avg_daily_trips"] or 0) + 1},
    )


def _customer_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for day in range(10):  # 2026-01-01 .. 2026-01-10, daily
        event = _START + timedelta(days=day)
        for customer in _CUSTOMERS:
            rows.append(
                {
                    "customer_id": customer,
                    "event_timestamp": event,
                    "created": event + timedelta(minutes=rng.randint(5, 90)),
                    "current_balance": round(rng.uniform(0.0, 500.0), 2),
                    "avg_passenger_count": round(rng.uniform(1.0, 4.0), 2),
                    "lifetime_trip_count": 10 * day + rng.randint(0, 50),
                }
            )
    for i, column in ((13, "current_balance"), (47, "avg_passenger_count"), (76, "lifetime_trip_count")):
        rows[i][column] = None
    return _with_duplicates(rows, [22, 58, 91], lambda r: {"current_balance": 0.0})


def _entity_rows() -> str:
    """A small labelled entity file for ``fsctl historical``: rows before the first event,
    a driver whose values have aged out of the TTL, and a duplicated row (both come out)."""
    lines = ["driver_id,customer_id,event_timestamp,churned"]
    times = ["2025-12-31T23:00:00Z", "2026-01-01T12:30:00Z", "2026-01-02T06:00:00Z", "2026-01-03T18:45:00Z"]
    for i, driver in enumerate(_DRIVERS):
        for j, when in enumerate(times):
            lines.append(f"{driver},{_CUSTOMERS[(i + j) % len(_CUSTOMERS)]},{when},{(i * 7 + j) % 3 == 0:d}")
    lines.append("1005,2002,2026-01-05T00:00:00Z,1")  # 1005 stopped reporting: its values are expired
    lines.append(lines[6])  # the same entity row twice comes out twice
    return "\n".join(lines) + "\n"


def write_sample_data(folder: Path) -> list[Path]:
    """Write ``driver_stats.parquet``, ``customer_profile.parquet`` and ``entities.csv`` into
    ``folder`` (created if missing) and return their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    tables = {
        "driver_stats.parquet": (
            _driver_rows(random.Random(42)),
            pa.schema(
                [
                    ("driver_id", pa.int64()),
                    ("event_timestamp", ts),
                    ("created", ts),
                    ("conv_rate", pa.float64()),
                    ("acc_rate", pa.float64()),
                    ("avg_daily_trips", pa.int64()),
                ]
            ),
        ),
        "customer_profile.parquet": (
            _customer_rows(random.Random(43)),
            pa.schema(
                [
                    ("customer_id", pa.int64()),
                    ("event_timestamp", ts),
                    ("created", ts),
                    ("current_balance", pa.float64()),
                    ("avg_passenger_count", pa.float64()),
                    ("lifetime_trip_count", pa.int64()),
                ]
            ),
        ),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (rows, schema) in tables.items():
        path = folder / name
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="snappy")
        written.append(path)
    entities = folder / "entities.csv"
    entities.write_text(_entity_rows(), encoding="utf-8")
    written.append(entities)
    return written
