"""The sample data of ``fsctl init`` and ``make example-data``: laid out before an anchor
time, deterministic for one anchor, and the same values whatever the anchor."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fsctl.services.sample_data import default_anchor, write_sample_data
from tests.support.example import ANCHOR

UTC = timezone.utc
FILES = ("driver_stats.parquet", "customer_profile.parquet", "entities.csv")


def rows(folder: Path, name: str) -> list[dict[str, Any]]:
    return list(pq.read_table(folder / name).to_pylist())


def times(table: list[dict[str, Any]], **match: Any) -> list[datetime]:
    return [r["event_timestamp"] for r in table if all(r[k] == v for k, v in match.items())]


def entity_times(folder: Path) -> list[datetime]:
    with (folder / "entities.csv").open(newline="", encoding="utf-8") as handle:
        return [datetime.fromisoformat(r["event_timestamp"].replace("Z", "+00:00")) for r in csv.DictReader(handle)]


@pytest.mark.parametrize("anchor", [ANCHOR, datetime(2031, 7, 15, 9, tzinfo=UTC), datetime(2026, 12, 7, 13, 30, tzinfo=UTC)])
def test_the_data_is_laid_out_before_the_anchor(tmp_path: Path, anchor: datetime) -> None:
    written = write_sample_data(tmp_path, anchor)
    assert [p.name for p in written] == list(FILES)
    drivers = rows(tmp_path, "driver_stats.parquet")
    for driver in (1001, 1002, 1003, 1004):  # hourly, 72 hours, the last a day before the anchor
        hours = sorted(set(times(drivers, driver_id=driver)))
        assert hours == [anchor - timedelta(hours=96 - h) for h in range(72)], driver
    stopped = sorted(set(times(drivers, driver_id=1005)))  # stops reporting: past the 2d TTL at the anchor
    assert (stopped[0], stopped[-1], len(stopped)) == (anchor - timedelta(days=4), anchor - timedelta(hours=61), 36)
    assert len(drivers) == 4 * 72 + 36 + 4  # 4 rows repeat a key and event time
    customers = rows(tmp_path, "customer_profile.parquet")
    days = sorted(set(times(customers)))
    assert days == [anchor - timedelta(days=10 - d) for d in range(10)]
    assert len(customers) == 10 * 10 + 3
    entities = entity_times(tmp_path)
    assert (min(entities), max(entities), len(entities)) == (anchor - timedelta(days=4, hours=1), anchor, 22)
    # nothing in the future of the anchor, created times included
    assert max(r["created"] for r in drivers + customers if r["created"] is not None) < anchor


def test_the_anchor_only_shifts_the_times(tmp_path: Path) -> None:
    later = ANCHOR + timedelta(days=340, hours=14)
    write_sample_data(tmp_path / "a", ANCHOR)
    write_sample_data(tmp_path / "b", later)
    shift = later - ANCHOR
    for name in FILES[:2]:
        before, after = rows(tmp_path / "a", name), rows(tmp_path / "b", name)
        moved = [
            {k: v + shift if isinstance(v, datetime) else v for k, v in r.items()} for r in before
        ]
        assert moved == after, name
        assert sum(r["created"] is None for r in after) == 1  # the duplicate that must lose
        assert any(v is None for r in after for k, v in r.items() if k != "created")  # the nulls
    assert [t + shift for t in entity_times(tmp_path / "a")] == entity_times(tmp_path / "b")
    labels_a = (tmp_path / "a" / "entities.csv").read_text().splitlines()
    labels_b = (tmp_path / "b" / "entities.csv").read_text().splitlines()
    assert [line.split(",")[:2] + line.split(",")[3:] for line in labels_a] == [
        line.split(",")[:2] + line.split(",")[3:] for line in labels_b
    ]


def test_one_anchor_gives_identical_files(tmp_path: Path) -> None:
    anchor = datetime(2027, 3, 1, 8, tzinfo=UTC)
    write_sample_data(tmp_path / "a", anchor)
    write_sample_data(tmp_path / "b", anchor.replace(tzinfo=None))  # naive: UTC
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_tests_anchor_keeps_the_dates_the_tests_were_written_against(tmp_path: Path) -> None:
    write_sample_data(tmp_path, ANCHOR)
    drivers = rows(tmp_path, "driver_stats.parquet")
    assert min(times(drivers)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert max(times(drivers)) == datetime(2026, 1, 3, 23, tzinfo=UTC)
    assert max(times(drivers, driver_id=1005)) == datetime(2026, 1, 2, 11, tzinfo=UTC)
    assert (tmp_path / "entities.csv").read_text().splitlines()[1:3] == [
        "1001,2001,2025-12-31T23:00:00Z,1",
        "1001,2002,2026-01-01T12:30:00Z,0",
    ]


def test_the_default_anchor_is_now_floored_to_the_hour(tmp_path: Path) -> None:
    assert default_anchor(datetime(2026, 12, 7, 14, 52, 3, 7, tzinfo=UTC)) == datetime(2026, 12, 7, 14, tzinfo=UTC)
    berlin = timezone(timedelta(hours=1))
    assert default_anchor(datetime(2026, 12, 7, 15, 5, tzinfo=berlin)) == datetime(2026, 12, 7, 14, tzinfo=UTC)
    before = default_anchor()
    write_sample_data(tmp_path)
    after = default_anchor()
    last = max(times(rows(tmp_path, "driver_stats.parquet")))
    assert last + timedelta(hours=25) in {before, after}
