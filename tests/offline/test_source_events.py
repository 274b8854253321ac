"""``OfflineEngine.events`` (what ``fsctl status`` asks the engine): the newest event time of
a view's source and its rows in a half-open window, for every way a source can hold event
times (zoned and naive parquet timestamps, dates, ISO-8601 text with offsets in CSV), each
checked against the answer computed in Python from the same rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.errors import StoreError
from fsctl.offline import OfflineEngine
from fsctl.offline.requests import EventsRequest, FeatureSpec, SourceSpec, ViewSpec, Window
from tests.support.spark import ENGINE_PARAMS, make_engine

UTC = timezone.utc
PLUS_5 = timezone(timedelta(hours=5))
TIMES = [
    datetime(2026, 1, 1, 10, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 30, tzinfo=PLUS_5),  # 2026-01-01T22:30Z
    datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1969, 12, 31, 23, tzinfo=UTC),  # before the epoch
    None,  # a row without an event time counts nowhere
]
WINDOWS = [
    Window(None, datetime(2030, 1, 1, tzinfo=UTC)),
    Window(datetime(2026, 1, 1, 22, 30, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)),  # start inclusive
    Window(datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 22, 30, tzinfo=UTC)),  # end exclusive
    Window(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)),
]


def spec(path: Path, fmt: str = "parquet") -> ViewSpec:
    return ViewSpec("v", SourceSpec("src", str(path), fmt, "ts", None), ("k",), (FeatureSpec("x", "int64"),))


def expected(times: list[datetime | None], window: Window) -> int:
    lower = window.start or datetime.min.replace(tzinfo=UTC)
    return sum(1 for t in times if t is not None and lower <= t < window.end)


def write(tmp: Path, kind: str) -> tuple[Path, str, list[datetime | None]]:
    """A source of TIMES stored as ``kind``, its format, and the UTC times it holds."""
    utc = [t.astimezone(UTC) if t else None for t in TIMES]
    columns: dict[str, Any] = {"k": list(range(len(TIMES))), "x": list(range(len(TIMES)))}
    if kind == "csv":
        path = tmp / "rows.csv"
        lines = ["k,x,ts"] + [f"{i},{i},{t.isoformat() if t else ''}" for i, t in enumerate(TIMES)]
        path.write_text("\n".join(lines) + "\n")
        return path, "csv", utc
    if kind == "zoned":
        columns["ts"] = pa.array(utc, pa.timestamp("us", tz="UTC"))
    elif kind == "naive":
        columns["ts"] = pa.array([t.replace(tzinfo=None) if t else None for t in utc], pa.timestamp("us"))
    elif kind == "nanos":
        columns["ts"] = pa.array([t.replace(tzinfo=None) if t else None for t in utc], pa.timestamp("ns"))
    elif kind == "date":
        columns["ts"] = pa.array([t.date() if t else None for t in utc], pa.date32())
        utc = [datetime.combine(t.date(), datetime.min.time(), UTC) if t else None for t in utc]
    path = tmp / "rows.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=2)  # several row groups: statistics per group
    return path, "parquet", utc


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Any:
    """Every offline engine; each must give the answers below."""
    e = make_engine(request)
    yield e
    e.close()


@pytest.mark.parametrize("kind", ["zoned", "naive", "nanos", "date", "csv"])
def test_newest_event_and_window_rows(tmp_path: Path, engine: OfflineEngine, kind: str) -> None:
    path, fmt, times = write(tmp_path, kind)
    newest = max(t for t in times if t is not None)
    answer = engine.events(EventsRequest(spec(path, fmt)))
    assert answer.newest_event == newest and answer.newest_event.tzinfo == UTC
    assert answer.window_rows is None  # no window asked
    for window in WINDOWS:
        got = engine.events(EventsRequest(spec(path, fmt), window))
        assert (got.newest_event, got.window_rows) == (newest, expected(times, window)), window


def test_an_empty_source_has_no_newest_event(tmp_path: Path, engine: OfflineEngine) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"k": pa.array([], pa.int64()), "x": pa.array([], pa.int64()),
                             "ts": pa.array([], pa.timestamp("us", tz="UTC"))}), path)  # fmt: skip
    answer = engine.events(EventsRequest(spec(path), WINDOWS[0]))
    assert (answer.newest_event, answer.window_rows) == (None, 0)


def test_a_directory_of_files_is_one_source(tmp_path: Path, engine: OfflineEngine) -> None:
    for day in (1, 2, 3):
        t = datetime(2026, 1, day, tzinfo=UTC)
        pq.write_table(pa.table({"k": [1], "x": [1], "ts": pa.array([t], pa.timestamp("us", tz="UTC"))}),
                       tmp_path / f"part-{day}.parquet")  # fmt: skip
    answer = engine.events(EventsRequest(spec(tmp_path), Window(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 9, tzinfo=UTC))))
    assert (answer.newest_event, answer.window_rows) == (datetime(2026, 1, 3, tzinfo=UTC), 2)


def test_an_unreadable_source_is_a_store_error_naming_it(tmp_path: Path, engine: OfflineEngine) -> None:
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet")
    with pytest.raises(StoreError, match="source 'src'"):
        engine.events(EventsRequest(spec(path)))
    with pytest.raises(StoreError, match="source 'src'"):
        engine.events(EventsRequest(spec(tmp_path / "missing.parquet")))


def test_a_column_that_is_not_a_time_is_a_store_error(tmp_path: Path, engine: OfflineEngine) -> None:
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"k": [1], "x": [1], "ts": [date(2026, 1, 1).toordinal()]}), path)
    with pytest.raises(StoreError, match="not a timestamp"):
        engine.events(EventsRequest(spec(path)))
