"""The one stored online record format (fsctl.online.format), produced two ways: by each
offline engine in SQL (``latest``, what materialize writes: DuckDB and Spark) and by the Python codec
(``stored_records``, what every other writer uses). For every dtype, key type and null
they must give the same records, and both must decode to the same values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.offline import OfflineEngine
from fsctl.offline.requests import FeatureSpec, LatestRequest, SourceSpec, ViewSpec, Window
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import decode_values, stored_records
from fsctl.online.format import NULL_PART, encode_key
from tests.support.spark import ENGINE_PARAMS, make_engine

UTC = timezone.utc
T1 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
T2 = datetime(1969, 7, 20, 20, 17, tzinfo=UTC)  # before the epoch

# feature -> (dtype, arrow type, one value per key)
FEATURES: dict[str, tuple[str, Any, list[Any]]] = {
    "i32": ("int32", pa.int32(), [1, -2, None]),
    "i64": ("int64", pa.int64(), [2**40, 0, None]),
    "f32": ("float32", pa.float32(), [1.5, 0.375, None]),  # exact in float32
    "f64": ("float64", pa.float64(), [float("nan"), float("inf"), -0.1]),
    "s": ("string", pa.string(), ["a", 'ü"x\\y\n', None]),
    "b": ("bool", pa.bool_(), [True, False, None]),
    "by": ("bytes", pa.binary(), [b"\x00\xff", b"", None]),
    "ts": ("timestamp", pa.timestamp("us", tz="UTC"), [T1, T2, None]),
    "li": ("list<int64>", pa.list_(pa.int64()), [[1, 2], [], None]),
    "lf": ("list<float64>", pa.list_(pa.float64()), [[0.5, None], [1e300], None]),
    "ls": ("list<string>", pa.list_(pa.string()), [["x", None], [], None]),
    "lts": ("list<timestamp>", pa.list_(pa.timestamp("us", tz="UTC")), [[T1, None], [T2], None]),
    "lby": ("list<bytes>", pa.list_(pa.binary()), [[b"a", None], [], None]),
}
EVENTS = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)]
CREATED = [datetime(2026, 1, 1, 5, tzinfo=UTC), None, datetime(2026, 1, 1, 6, tzinfo=UTC)]

# key column(s) -> arrow types and one key per row: integers, strings, bools and a composite
# key are encoded in SQL; dates are not (their SQL text differs), so they go through Python.
KEYS: dict[str, list[tuple[str, Any, list[Any]]]] = {
    "int": [("k", pa.int64(), [1001, -5, 0])],
    "string": [("k", pa.string(), ["a", "b\x1fc", "ü"])],
    "bool": [("k", pa.bool_(), [True, False, None])],
    "composite": [("k1", pa.int32(), [1, 1, 2]), ("k2", pa.string(), ["x", None, "x"])],
    "date": [("k", pa.date32(), [date(2026, 1, 1), date(1960, 2, 29), date(2000, 1, 1)])],
}


def _source(tmp: Path, keys: list[tuple[str, Any, list[Any]]]) -> Path:
    columns: dict[str, Any] = {name: pa.array(values, kind) for name, kind, values in keys}
    columns["event_timestamp"] = pa.array(EVENTS, pa.timestamp("us", tz="UTC"))
    columns["created"] = pa.array(CREATED, pa.timestamp("us", tz="UTC"))
    for name, (_, kind, values) in FEATURES.items():
        columns[name] = pa.array(values, kind)
    path = tmp / "rows.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest) -> Iterator[OfflineEngine]:
    """Every offline engine: each encodes the records itself and must match the codec."""
    made = make_engine(request)
    yield made
    made.close()


@pytest.mark.parametrize("key_kind", list(KEYS))
def test_sql_and_python_encode_the_same_records(tmp_path: Path, key_kind: str, engine: OfflineEngine) -> None:
    keys = KEYS[key_kind]
    path = _source(tmp_path, keys)
    view = ViewSpec(
        name="v",
        source=SourceSpec("src", str(path), "parquet", "event_timestamp", "created"),
        join_keys=tuple(name for name, _, _ in keys),
        features=tuple(FeatureSpec(name, dtype) for name, (dtype, _, _) in FEATURES.items()),
    )
    rows = engine.latest(LatestRequest(view, Window(None, datetime(2027, 1, 1, tzinfo=UTC))))
    assert (rows.keys, rows.rows_read) == (3, 3)
    from_sql = sorted(r for batch in rows.batches(2) for r in batch)

    online = OnlineView("p", "v", view.join_keys, tuple((n, d) for n, (d, _, _) in FEATURES.items()))
    python = [
        OnlineRecord(
            tuple(values[i] for _, _, values in keys),
            _micros(EVENTS[i]) or 0,
            _micros(CREATED[i]),
            {name: values[i] for name, (_, _, values) in FEATURES.items()},
        )
        for i in range(3)
    ]
    from_python = sorted(stored_records(online, python))

    assert [r[:3] for r in from_sql] == [r[:3] for r in from_python]
    for sql_record, py_record in zip(from_sql, from_python, strict=True):
        # the same JSON (NaN aside, which never equals itself), and the same values decoded
        assert _nan_equal(json.loads(sql_record[3]), json.loads(py_record[3]))
        assert _nan_equal(decode_values(online, sql_record[3]), decode_values(online, py_record[3]))


def _nan_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True, default=repr)


def test_key_rule() -> None:
    assert encode_key((1001,)) == encode_key(("1001",)) == "1001"
    assert encode_key((1, "x")) == "1\x1fx"
    assert encode_key((None, True)) == f"{NULL_PART}\x1ftrue"
    assert encode_key((datetime(2026, 1, 1),)) == "2026-01-01T00:00:00+00:00"
