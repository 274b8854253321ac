"""Small, deterministic sample data for new repos and the example repo.

``fsctl init`` calls :func:`write_sample_data` to give a fresh repo something to
materialize and query, and ``make example-data`` (re)generates ``example_repo/data``::

    python -m fsctl.services.sample_data example_repo/data [--anchor 2026-01-05T00:00:00Z]

Every timestamp is laid out relative to an *anchor*, the moment the data is "as of"
(default: now, floored to the hour, UTC), so data made today has recent values::

    drivers 1001-1005   hourly, 72 rows each, from anchor - 4d to anchor - 25h
    driver 1005         stops reporting after anchor - 61h: its values are past the 2d TTL
    customers 2001-2010 daily, 10 snapshots, from anchor - 10d to anchor - 1d
    entities.csv        labelled entity rows from anchor - 4d1h to the anchor
    orders.parquet      raw orders of customers 2001-2010 (example_repo only, written by
                        :func:`write_order_data`): 1-12 a day each, from anchor - 40d to anchor - 1h

No row lies after the anchor. The values do not depend on it (fixed seeds), and the files
are byte-identical for one anchor (with the same pyarrow). The anchor 2026-01-05T00:00Z
gives the data the tests were written against (drivers on 2026-01-01..03). To exercise the
point-in-time rules the data holds a few rows sharing an entity key and event time with
different ``created`` times (the later created row, written *before* the earlier one in
the file, must win; one duplicate has a null ``created`` and must lose), and a few nulls in
feature columns.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_DRIVERS = [1001, 1002, 1003, 1004, 1005]
_CUSTOMERS = list(range(2001, 2011))
_DRIVER_HOURS = 72
_DRIVERS_START = timedelta(days=4)  # first driver event, before the anchor
_STOPPED_DRIVER, _STOPPED_AT_HOUR = 1005, 36
_CUSTOMER_DAYS = 10
_CUSTOMERS_START = timedelta(days=10)  # first customer snapshot, before the anchor
# Entity rows of entities.csv, before the anchor: before the first driver event, then
# inside the driver data.
_ENTITY_TIMES = [
    timedelta(days=4, hours=1),
    timedelta(days=3, hours=11, minutes=30),
    timedelta(days=2, hours=18),
    timedelta(days=1, hours=5, minutes=15),
]


def default_anchor(now: datetime | None = None) -> datetime:
    """``now`` (default: the current time), in UTC, floored to the hour."""
    now = datetime.now(timezone.utc) if now is None else _utc(now)
    return now.replace(minute=0, second=0, microsecond=0)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


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


def _driver_rows(rng: random.Random, anchor: datetime) -> list[dict[str, Any]]:
    start = anchor - _DRIVERS_START
    rows = []
    for hour in range(_DRIVER_HOURS):
        event = start + timedelta(hours=hour)
        for driver in _DRIVERS:
            if driver == _STOPPED_DRIVER and hour >= _STOPPED_AT_HOUR:
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


def _customer_rows(rng: random.Random, anchor: datetime) -> list[dict[str, Any]]:
    start = anchor - _CUSTOMERS_START
    rows = []
    for day in range(_CUSTOMER_DAYS):
        event = start + timedelta(days=day)
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


def _entity_rows(anchor: datetime) -> str:
    """A small labelled entity file for ``fsctl historical``: rows before the first event,
    a driver whose values have aged out of the TTL, and a duplicated row (both come out)."""

    def iso(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = ["driver_id,customer_id,event_timestamp,churned"]
    times = [iso(anchor - before) for before in _ENTITY_TIMES]
    for i, driver in enumerate(_DRIVERS):
        for j, when in enumerate(times):
            lines.append(f"{driver},{_CUSTOMERS[(i + j) % len(_CUSTOMERS)]},{when},{(i * 7 + j) % 3 == 0:d}")
    lines.append(f"{_STOPPED_DRIVER},2002,{iso(anchor)},1")  # 1005 stopped reporting: its values are expired
    lines.append(lines[6])  # the same entity row twice comes out twice
    return "\n".join(lines) + "\n"


def write_sample_data(folder: Path, anchor: datetime | None = None) -> list[Path]:
    """Write ``driver_stats.parquet``, ``customer_profile.parquet`` and ``entities.csv`` into
    ``folder`` (created if missing), laid out before ``anchor`` (default:
    :func:`default_anchor`; a naive datetime is UTC), and return their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    anchor = default_anchor() if anchor is None else _utc(anchor)
    ts = pa.timestamp("us", tz="UTC")
    tables = {
        "driver_stats.parquet": (
            _driver_rows(random.Random(42), anchor),
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
            _customer_rows(random.Random(43), anchor),
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
    entities.write_text(_entity_rows(anchor), encoding="utf-8")
    written.append(entities)
    return written


_ORDER_DAYS = 40


def _order_rows(rng: random.Random, anchor: datetime) -> list[dict[str, Any]]:
    """Raw orders, as an order system writes them: each customer orders 0-9 times a day (some
    customers more often than others), at random minutes, over the last 40 days."""
    start = (anchor - timedelta(days=_ORDER_DAYS)).replace(hour=0)
    rows: list[dict[str, Any]] = []
    for day in range(_ORDER_DAYS + 1):
        for index, customer in enumerate(_CUSTOMERS):
            for _ in range(rng.randint(1, 6 + index % 7)):
                when = start + timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
                if when < anchor - _ORDER_DAYS * timedelta(days=1) or when > anchor - timedelta(hours=1):
                    continue
                rows.append(
                    {
                        "customer_id": customer,
                        "order_amount": round(rng.lognormvariate(3.0, 0.6), 2),
                        "order_date": when,
                    }
                )
    rows.sort(key=lambda r: r["order_date"])
    return [{"order_id": 500_001 + i, **row} for i, row in enumerate(rows)]


def write_order_data(folder: Path, anchor: datetime | None = None) -> Path:
    """Write ``orders.parquet`` (raw orders: ``order_id``, ``customer_id``, ``order_amount``,
    ``order_date``) into ``folder``, laid out before ``anchor`` as :func:`write_sample_data`
    does; the example repo's SQL source computes daily features from it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    anchor = default_anchor() if anchor is None else _utc(anchor)
    schema = pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("order_amount", pa.float64()),
            ("order_date", pa.timestamp("us", tz="UTC")),
        ]
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orders.parquet"
    pq.write_table(pa.Table.from_pylist(_order_rows(random.Random(44), anchor), schema=schema), path, compression="snappy")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m fsctl.services.sample_data FOLDER [--anchor TIME]`` (``make example-data``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m fsctl.services.sample_data",
        description="Write fsctl's sample data (driver_stats.parquet, customer_profile.parquet, entities.csv, orders.parquet).",
    )
    parser.add_argument("folder", type=Path, help="where to write the files (created if missing)")

    def iso_time(text: str) -> datetime:
        try:
            return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an ISO 8601 time, e.g. 2026-01-05T00:00:00Z") from None

    parser.add_argument(
        "--anchor",
        type=iso_time,
        help="ISO 8601 time the data is as of (no offset: UTC); default: now, floored to the hour",
    )
    args = parser.parse_args(argv)
    anchor = default_anchor() if args.anchor is None else _utc(args.anchor)
    written = [*write_sample_data(args.folder, anchor), write_order_data(args.folder, anchor)]
    names = ", ".join(path.name for path in written)
    print(f"Wrote sample data as of {anchor.strftime('%Y-%m-%dT%H:%M:%SZ')} to {args.folder}: {names}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
