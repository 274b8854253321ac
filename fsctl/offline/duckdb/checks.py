"""A view's data checks over a window, in DuckDB (:meth:`fsctl.offline.base.OfflineEngine.check`).

Every source row with an event time in ``[start, end)`` counts, not only the latest row per
key: a bad value that a later row hides is still a bad value in the source. One aggregate
query answers every check of the window: the row count, per feature check a ``count_if`` of
the rows at fault and, with a ``FILTER`` on the same condition, the smallest
``(event time, keys)`` among them as the example; ``unique`` groups the window's rows by
keys and event time in a subquery over the same (materialized) rows. Feature values are
cast to their declared dtypes first, as materialization writes them.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from fsctl.offline.base import CheckOutcome, CheckResult
from fsctl.offline.duckdb.latest import read_error, window_sql
from fsctl.offline.duckdb.sources import check_features, duckdb_type, literal, open_source, quote
from fsctl.offline.requests import CheckRequest, FeatureCheck, ViewSpec

_FLOATS = ("float32", "float64")
_CASTABLE = ("int32", "int64", "float32", "float64", "string", "bool")


def _number(value: float) -> str:
    return repr(float(value))  # 0.0, 1.5, 1e+20: DuckDB reads each as a number


def _value_literal(value: bool | int | float | str, dtype: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = literal(value)
    else:
        text = repr(value)
    return f"CAST({text} AS {duckdb_type(dtype)})"


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


def _example(view: ViewSpec, found: dict[str, Any] | None) -> tuple[dict[str, Any] | None, Any]:
    """The join keys and event time of an example row (a struct of ``__t`` and ``k0..``)."""
    if not found:
        return None, None
    key = {name: found[f"k{i}"] for i, name in enumerate(view.join_keys)}
    when = found["__t"]
    return key, when.replace(tzinfo=timezone.utc) if when is not None else None


def run_checks(con: Any, request: CheckRequest) -> CheckResult:
    import duckdb

    view, source = request.view, request.view.source
    table = open_source(con, source, f"__fsctl_chk_{view.name}")
    check_features(table, view, [c.feature for c in request.features])
    t_sql = table.timestamp(source.timestamp_field, view, "timestamp_field")
    key_columns = [source.column_for(k) for k in view.join_keys]
    for name, column in zip(view.join_keys, key_columns, strict=True):
        table.need(column, view, f"join key '{name}'")

    columns = [f"{quote(c)} AS k{i}" for i, c in enumerate(key_columns)] + [f"{t_sql} AS __t"]
    checks: list[tuple[FeatureCheck, str, Any, str]] = []  # (feature check, check, limit, condition)
    for i, check in enumerate(request.features):
        dtype = view.dtype(check.feature)
        raw = quote(source.column_for(check.feature))
        value = f"CAST({raw} AS {duckdb_type(dtype)})" if dtype in _CASTABLE else raw
        columns.append(f"{value} AS f{i}")
        checks.extend((check, name, limit, cond) for name, limit, cond in _conditions(check, f"f{i}", dtype))

    example = "struct_pack(__t := __t, " + ", ".join(f"k{i} := k{i}" for i in range(len(key_columns))) + ")"
    aggregates = ["count(*)"]
    for _, _, _, cond in checks:
        aggregates += [f"coalesce(count_if({cond}), 0)", f"min({example}) FILTER (WHERE {cond})"]
    if request.unique:
        keys = ", ".join(f"k{i}" for i in range(len(key_columns)))
        aggregates.append(
            f"(SELECT struct_pack(n := coalesce(sum(c), 0), e := min({example})) FROM "
            f"(SELECT {keys}, __t, count(*) AS c FROM __w GROUP BY ALL HAVING count(*) > 1))"
        )
    sql = (
        f"WITH __w AS MATERIALIZED (SELECT {', '.join(columns)} FROM {table.from_sql} "
        f"WHERE {window_sql(t_sql, request.window)}) SELECT {', '.join(aggregates)} FROM __w"
    )
    try:
        row = con.execute(sql).fetchall()[0]
    except duckdb.Error as exc:
        raise read_error(table, exc) from None

    rows = int(row[0])
    outcomes: list[CheckOutcome] = []
    for n, (check, name, limit, _) in enumerate(checks):
        failed = int(row[1 + 2 * n])
        key, when = _example(view, row[2 + 2 * n])
        outcomes.append(CheckOutcome(name, check.feature, limit, failed, rows, key, when))
    if request.unique:
        found = row[-1]
        key, when = _example(view, found["e"])
        outcomes.append(CheckOutcome("unique", None, True, int(found["n"]), rows, key, when))
    if request.min_rows is not None:
        outcomes.append(CheckOutcome("min_rows", None, request.min_rows, max(0, request.min_rows - rows), rows))
    return CheckResult(view=view.name, rows=rows, outcomes=tuple(outcomes))
