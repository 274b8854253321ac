"""A brute-force reference for time-window aggregations (README "Time-window aggregations"),
in plain Python: for an as-of time ``a`` (microseconds), the source rows of the key with
``a - window < event <= a``, nulls skipped, ``last`` by (event time, created time; a null
created time loses), an empty window 0 for the counts and None for the others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

US = 1_000_000


def align(t_us: int, slide: int) -> int:
    """``t_us`` aligned down to a multiple of ``slide`` seconds since the epoch (0: itself)."""
    return t_us - t_us % (slide * US) if slide else t_us


def aggregate(
    rows: Sequence[dict[str, Any]], function: str, column: str, window: int, at_us: int
) -> Any:
    """``function`` of ``column`` over ``rows`` (each with ``t`` and ``c``, microseconds or
    None for ``c``) with ``at_us - window < t <= at_us``."""
    inside = [r for r in rows if at_us - window * US < r["t"] <= at_us and r[column] is not None]
    values = [r[column] for r in inside]
    if function == "count":
        return len(values)
    if function == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if function == "sum":
        return sum(values)
    if function == "avg":
        return sum(values) / len(values)
    if function == "min":
        return min(values)
    if function == "max":
        return max(values)
    if function == "last":
        latest = max(inside, key=lambda r: (r["t"], -1 if r["c"] is None else r["c"]))
        return latest[column]
    raise ValueError(function)
