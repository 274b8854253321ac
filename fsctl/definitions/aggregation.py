"""Time-window aggregations: features computed from the rows of an event source, declared on
a FeatureView (issue 17)::

    kind: FeatureView
    name: customer_orders_agg
    entities: [customer]
    source: orders
    slide: 1h                      # optional: values change only at multiples of 1h
    inputs:                        # the source columns the aggregations read, with dtypes
      - {name: order_amount, dtype: float64}
    aggregations:
      - {column: order_amount, function: sum, window: 7d, name: amount_sum_7d}

An :class:`Aggregation` is one output feature: ``function`` of ``column`` over the source
rows of the same entity key with event times in ``(t - window, t]``. The view's ``schema``
is derived from its aggregations (names and :func:`output_dtype`), so every reader of a
view's features (services, online stores, the server) sees plain features. The README
section "Time-window aggregations" states the semantics exactly (bounds, ties, nulls, empty
windows, ``slide``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import field_validator

from fsctl.definitions.base import StrictModel
from fsctl.definitions.fields import Duration, FeatureName

__all__ = ["FUNCTIONS", "Aggregation", "check_aggregations", "output_dtype"]

FUNCTIONS = ("sum", "count", "avg", "min", "max", "count_distinct", "last")
Function = Literal["sum", "count", "avg", "min", "max", "count_distinct", "last"]

_INTS = ("int32", "int64")
_FLOATS = ("float32", "float64")
# Which input dtypes each function accepts (None: any dtype but a list).
_ACCEPTS: dict[str, tuple[str, ...] | None] = {
    "sum": _INTS + _FLOATS,
    "avg": _INTS + _FLOATS,
    "min": _INTS + _FLOATS + ("string", "timestamp", "bool"),
    "max": _INTS + _FLOATS + ("string", "timestamp", "bool"),
    "count": None,
    "count_distinct": None,
    "last": None,
}


class Aggregation(StrictModel):
    """One aggregated feature: ``function`` of source column ``column`` over ``window``,
    named ``name``."""

    KIND: ClassVar[str] = "Aggregation"
    column: FeatureName
    function: Function
    window: Duration
    name: FeatureName
    description: str = ""

    @field_validator("window")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("a window must be longer than 0 (e.g. 7d)")
        return value


def output_dtype(function: str, input_dtype: str) -> str:
    """The dtype of an aggregation's values: count and count_distinct int64, avg float64, sum
    int64 over integers and float64 over floats, min/max/last the input column's dtype."""
    if function in ("count", "count_distinct"):
        return "int64"
    if function == "avg":
        return "float64"
    if function == "sum":
        return "int64" if input_dtype in _INTS else "float64"
    return input_dtype


def check_aggregations(
    aggregations: list[Aggregation], inputs: dict[str, str], slide: int | None, ttl: int
) -> list[dict[str, Any]]:
    """The derived schema (``[{name, dtype}]``) of a view with these aggregations, its input
    column dtypes, ``slide`` and ``ttl``; raise ValueError naming the first problem."""
    if ttl:
        raise ValueError(
            "ttl does not apply to a view with aggregations (each window bounds the age of the rows it reads): "
            "remove ttl"
        )
    seen: set[str] = set()
    schema = []
    for n, agg in enumerate(aggregations):
        where = f"aggregation {n + 1} ('{agg.name}')"
        if agg.name in seen:
            raise ValueError(f"{where}: the name '{agg.name}' is used more than once; give each aggregation its own name")
        seen.add(agg.name)
        dtype = inputs.get(agg.column)
        if dtype is None:
            listed = ", ".join(sorted(inputs)) or "none"
            raise ValueError(
                f"{where}: column '{agg.column}' is not in the view's inputs (listed: {listed}); "
                f"add {{name: {agg.column}, dtype: ...}} to inputs"
            )
        accepted = _ACCEPTS[agg.function]
        if dtype.startswith("list<") or (accepted is not None and dtype not in accepted):
            raise ValueError(f"{where}: {agg.function} does not apply to column '{agg.column}' of dtype {dtype}")
        if slide and agg.window % slide:
            raise ValueError(
                f"{where}: slide ({slide}s) does not divide the window ({agg.window}s); pick a slide that does"
            )
        schema.append({"name": agg.name, "dtype": output_dtype(agg.function, dtype)})
    return schema
