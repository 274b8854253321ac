"""Dtypes for Python definitions: ``Field(name="conv_rate", dtype=Float64)``.

They are the same strings a YAML file uses; ``Array(Int64)`` is ``"list<int64>"``.
"""

Int32 = "int32"
Int64 = "int64"
Float32 = "float32"
Float64 = "float64"
String = "string"
Bool = "bool"
Bytes = "bytes"
Timestamp = "timestamp"


def Array(dtype: str) -> str:  # noqa: N802 - reads like a type, as in Feast
    """A list of a scalar dtype: ``Array(Float32)`` is ``"list<float32>"``."""
    return f"list<{dtype}>"


__all__ = ["Array", "Bool", "Bytes", "Float32", "Float64", "Int32", "Int64", "String", "Timestamp"]
