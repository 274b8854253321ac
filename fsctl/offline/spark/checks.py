"""A view's data checks over a window, on Spark (:meth:`fsctl.offline.base.OfflineEngine.check`).

The same answers as the DuckDB engine (:mod:`fsctl.offline.duckdb.checks`): every source row
with an event time in ``[start, end)`` counts, not only the latest per key. One aggregate
job answers every feature check: the row count, per check a ``count_if`` of the rows at
fault and the smallest ``(event time, keys)`` among them as the example; ``unique`` groups
the window's rows by keys and event time in a second job. Feature values are cast to
their declared dtypes first, as materialization writes them.
"""

from __future__ import annotations

from typing import Any

from fsctl.offline.base import CheckOutcome, CheckResult
from fsctl.offline.requests import CheckRequest, FeatureCheck, ViewSpec
from fsctl.offline.spark.frames import (
    check_features,
    from_micros,
    literal,
    open_frame,
    quote,
    read_error,
    spark_errors,
    spark_type,
    window_sql,
)

_FLOATS = ("float32", "float64")
_CASTABLE = ("int32", "int64", "float32", "float64", "string", "bool")


def _number(value: float) -> str:
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _value_literal(value: bool | int | float | str, dtype: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = literal(value)
    else:
        text = literal(repr(value))
    return f"CAST({text} AS {spark_type(dtype)})"


def _conditions(check: FeatureCheck, column: str, dtype: str) -> list[tuple[str, Any, str]]:
    """``(check, limit, SQL true for a row at fault)`` for each check of one feature."""
    nan = f" OR isnan({column})" if dtype in _FLOATS else ""
    out: list[tuple[str, Any, str]] = []
    if check.min is not None:
        out.append(("min", check.min, f"({column} < {_number(check.min)}{nan})"))
    if check.max is not None:
        out.append(("max", check.max, f"({column} > {_number(check.max)}{nan})"))
    if check.max_null_fraction is not None:
        out.append(("max_null_fraction", check.max_null_fraction, f"({column} IS NULL)"))
    if check.allowed is not None:
        values = ", ".join(_value_literal(v, dtype) for v in check.allowed)
        out.append(("allowed", list(check.allowed), f"({column} NOT IN ({values}))"))
    return out


def _example(view: ViewSpec, found: Any) -> tuple[dict[str, Any] | None, Any]:
    """The join keys and event time of an example row (a struct of ``__t`` and ``k0..``)."""
    if found is None:
        return None, None
    key = {name: found[f"k{i}"] for i, name in enumerate(view.join_keys)}
    return key, from_micros(found["__t"]) if found["__t"] is not None else None


def run_checks(spark: Any, request: CheckRequest) -> CheckResult:
    view, source = request.view, request.view.source
    frame = open_frame(spark, source)
    check_features(frame, view, [c.feature for c in request.features])
    t_us = frame.timestamp_us(source.timestamp_field, view, "timestamp_field")
    key_columns = [source.column_for(k) for k in view.join_keys]
    for name, column in zip(view.join_keys, key_columns, strict=True):
        frame.need(column, view, f"join key '{name}'")

    columns = [f"{quote(c)} AS k{i}" for i, c in enumerate(key_columns)] + [f"{t_us} AS __t"]
    checks: list[tuple[FeatureCheck, str, Any, str]] = []
    for i, check in enumerate(request.features):
        dtype = view.dtype(check.feature)
        raw = quote(source.column_for(check.feature))
        value = f"CAST({raw} AS {spark_type(dtype)})" if dtype in _CASTABLE else raw
        columns.append(f"{value} AS f{i}")
        checks.extend((check, name, limit, cond) for name, limit, cond in _conditions(check, f"f{i}", dtype))

    keys = ", ".join(f"'k{i}', k{i}" for i in range(len(key_columns)))
    example = f"named_struct('__t', __t, {keys})"
    aggregates = ["count(*)"]
    for _, _, _, cond in checks:
        aggregates += [f"count_if({cond})", f"min(CASE WHEN {cond} THEN {example} END)"]
    rows_df = frame.df.selectExpr(*columns).where(window_sql("__t", request.window))
    try:
        row = rows_df.selectExpr(*aggregates).collect()[0]
        duplicates = None
        if request.unique:
            group = [f"k{i}" for i in range(len(key_columns))] + ["__t"]
            duplicates = (
                rows_df.groupBy(*group)
                .count()
                .where("count > 1")
                .selectExpr("coalesce(sum(count), 0) AS n", f"min({example}) AS e")
                .collect()[0]
            )
    except spark_errors() as exc:
        raise read_error(frame, exc) from None

    rows = int(row[0])
    outcomes: list[CheckOutcome] = []
    for n, (check, name, limit, _) in enumerate(checks):
        key, when = _example(view, row[2 + 2 * n])
        outcomes.append(CheckOutcome(name, check.feature, limit, int(row[1 + 2 * n] or 0), rows, key, when))
    if duplicates is not None:
        key, when = _example(view, duplicates["e"])
        outcomes.append(CheckOutcome("unique", None, True, int(duplicates["n"]), rows, key, when))
    if request.min_rows is not None:
        outcomes.append(
            CheckOutcome("min_rows", None, request.min_rows, max(0, request.min_rows - rows), rows)
        )
    return CheckResult(view=view.name, rows=rows, outcomes=tuple(outcomes))
