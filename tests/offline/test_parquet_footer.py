"""The parquet footer reader (fsctl.offline.parquet_footer) gives every column the type
pyarrow gives it, for every type fsctl can meet, without importing pyarrow."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.offline.parquet_footer import parse_footer, read_schema
from fsctl.offline.schema import from_arrow, from_duckdb

TYPES = {
    "i8": pa.int8(), "i16": pa.int16(), "i32": pa.int32(), "i64": pa.int64(),
    "u8": pa.uint8(), "u16": pa.uint16(), "u32": pa.uint32(), "u64": pa.uint64(),
    "f16": pa.float16(), "f32": pa.float32(), "f64": pa.float64(),
    "s": pa.string(), "ls": pa.large_string(), "b": pa.bool_(), "by": pa.binary(), "lby": pa.large_binary(),
    "fixed": pa.binary(4), "ts_s": pa.timestamp("s"), "ts_ms": pa.timestamp("ms", tz="UTC"),
    "ts_us": pa.timestamp("us"), "ts_ns": pa.timestamp("ns", tz="Europe/Paris"),
    "d32": pa.date32(), "t": pa.time64("us"), "dec": pa.decimal128(10, 2),
    "l_i64": pa.list_(pa.int64()), "l_s": pa.list_(pa.string()), "l_ts": pa.list_(pa.timestamp("us")),
    "ll": pa.large_list(pa.float32()), "nested": pa.list_(pa.list_(pa.int32())),
    "st": pa.struct([("a", pa.int64())]), "m": pa.map_(pa.string(), pa.int64()),
    "dict": pa.dictionary(pa.int32(), pa.string()),
}  # fmt: skip


def _write(path: Path, **options: object) -> None:
    table = pa.table({name: pa.nulls(3, kind) for name, kind in TYPES.items()})
    pq.write_table(table, path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [{}, {"version": "1.0"}, {"use_compliant_nested_type": False}, {"use_deprecated_int96_timestamps": True}],
    ids=["default", "format-1.0", "legacy-lists", "int96"],
)
def test_the_footer_gives_the_types_pyarrow_reads(tmp_path: Path, options: dict[str, object]) -> None:
    path = tmp_path / "types.parquet"
    _write(path, **options)
    expected = {f.name: from_arrow(f.type) for f in pq.read_schema(path)}
    assert parse_footer(path) == expected
    assert list(parse_footer(path)) == list(TYPES)  # column order kept


def test_real_values_and_many_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "values.parquet"
    table = pa.table(
        {
            "driver_id": list(range(1000)),
            "event_timestamp": [datetime(2026, 1, 1, tzinfo=timezone.utc)] * 1000,
            "day": [date(2026, 1, 1)] * 1000,
            "amount": [Decimal("1.25")] * 1000,
            "name": ["é" * (i % 50) for i in range(1000)],
        }
    )
    pq.write_table(table, path, row_group_size=10)
    assert parse_footer(path) == {f.name: from_arrow(f.type) for f in pq.read_schema(path)}


def test_a_file_that_is_not_parquet_is_a_value_error_and_read_schema_falls_back(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all, no magic")
    with pytest.raises(ValueError, match="PAR1"):
        parse_footer(bad)
    with pytest.raises(Exception, match=r"(?i)parquet"):  # pyarrow's own error, for the loader to report
        read_schema(bad)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(b"PAR1" + b"\x15" * 20 + (10).to_bytes(4, "little") + b"PAR1")
    with pytest.raises(ValueError):
        parse_footer(truncated)


def test_reading_a_footer_does_not_import_pyarrow(tmp_path: Path) -> None:
    path = tmp_path / "types.parquet"
    _write(path)
    code = (
        "import sys; from pathlib import Path; from fsctl.offline.parquet_footer import read_schema; "
        f"read_schema(Path({str(path)!r})); print('pyarrow' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_duckdb_type_names_map_as_duckdb_hands_them_to_arrow() -> None:
    import duckdb

    con = duckdb.connect()
    rel = con.sql(
        "SELECT 1::TINYINT a, 1::UBIGINT b, 1::HUGEINT c, 1.5::FLOAT d, 'x' e, true f, 'x'::BLOB g, "
        "now()::TIMESTAMP h, now() i, current_date j, [1, 2] k, ['x'] l, 1.5::DECIMAL(10, 2) m, "
        "'a'::ENUM('a', 'b') n, {'x': 1} o, now()::TIMESTAMP_NS p"
    )
    arrow = rel.to_arrow_table().schema
    assert {n: from_duckdb(str(t)) for n, t in zip(rel.columns, rel.types, strict=True)} == {
        f.name: from_arrow(f.type) for f in arrow
    } | {"m": from_duckdb("DECIMAL(10,2)"), "o": from_duckdb("STRUCT(x INTEGER)")}
