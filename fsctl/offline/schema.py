"""Which column types can serve which declared dtype: one rule for validation (a parquet
footer read by the loader) and for every engine (a source opened for a query). Column
types are pyarrow types, the common currency of parquet, DuckDB and Spark."""

from __future__ import annotations

from typing import Any


def dtype_accepts(dtype: str, arrow_type: Any) -> bool:
    """Can a column of ``arrow_type`` serve a feature declared as ``dtype``? Integers widen, and
    integers serve floats; anything else must match its kind."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if dtype.startswith("list<"):
        return (pa.types.is_list(t) or pa.types.is_large_list(t)) and dtype_accepts(dtype[5:-1], t.value_type)
    checks = {
        "int32": lambda: pa.types.is_integer(t) and t.bit_width <= 32,
        "int64": lambda: pa.types.is_integer(t),
        "float32": lambda: pa.types.is_floating(t) or pa.types.is_integer(t),
        "float64": lambda: pa.types.is_floating(t) or pa.types.is_integer(t),
        "string": lambda: pa.types.is_string(t) or pa.types.is_large_string(t),
        "bool": lambda: pa.types.is_boolean(t),
        "bytes": lambda: pa.types.is_binary(t) or pa.types.is_large_binary(t),
        "timestamp": lambda: pa.types.is_timestamp(t) or pa.types.is_date(t),
    }
    return bool(checks[dtype]())
