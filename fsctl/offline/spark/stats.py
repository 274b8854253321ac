"""Statistics per column on Spark: the answer to a :class:`~fsctl.offline.requests.StatsRequest`,
the same as the DuckDB engine's (:mod:`fsctl.offline.duckdb.stats`).

The rows in the time range are projected to one column per request column (values cast to
the requested dtype; for floats NaN and infinities are null; timestamps as microseconds;
categorical values as text), kept on the executors (persisted) and described in at most
three aggregate jobs, none of which brings rows to the driver:

1. the count, nulls, min, max, mean, sample standard deviation, ``approx_count_distinct``
   (HyperLogLog++) and ``percentile_approx`` of each column that has them;
2. given what the first found: the equal-width histogram of each numeric column between its
   min and max and its counts in the requested bins (or its own ``bin_quantiles``), as one
   ``count_if`` per bin;
3. the exact most frequent values of every categorical column and the counts of the
   requested categories: all categorical columns stacked into ``(column, value)`` pairs,
   counted by one group-by and ranked per column on the executors; only the top ``top_k``
   (and the requested categories) reach the driver.
"""

from __future__ import annotations

import re
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.base import BinCounts, FeatureStats, HistogramBin, TableStats
from fsctl.offline.requests import (
    CATEGORICAL,
    NUMERIC,
    FileRows,
    SourceSpec,
    StatsColumn,
    StatsRequest,
    ViewSpec,
)
from fsctl.offline.schema import dtype_accepts
from fsctl.offline.spark.frames import (
    SourceFrame,
    check_features,
    first_line,
    from_micros,
    literal,
    micros,
    open_frame,
    quote,
    spark_errors,
)

_FLOATS = ("float32", "float64")


def _double(value: float) -> str:
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _open(spark: Any, request: StatsRequest) -> tuple[SourceFrame, str | None]:
    """The rows' frame and the SQL of their time in microseconds (None: no time column)."""
    rows = request.rows
    if isinstance(rows, ViewSpec):
        frame = open_frame(spark, rows.source)
        plain = [c.name for c in request.columns if c.column is None and c.json_key is None]
        check_features(frame, rows, plain)
        return frame, frame.timestamp_us(rows.source.timestamp_field, rows, "timestamp_field")
    spec = SourceSpec(rows.label, rows.location, rows.format, rows.time_column or "", None)
    try:
        frame = open_frame(spark, spec)
    except StoreError as exc:
        raise StoreError(exc.message.replace(f"source '{rows.label}'", rows.label), hint=exc.hint) from None
    for column, _ in rows.equals:
        _need(frame, rows.label, column, "a filter column")
    time_sql = None
    if rows.time_column is not None:
        _need(frame, rows.label, rows.time_column, "the time column")
        time_sql = frame.timestamp_us(rows.time_column, None, "time column")
    return frame, time_sql


def _need(frame: SourceFrame, label: str, column: str, role: str) -> Any:
    if column in frame.columns:
        return frame.columns[column]
    shown = ", ".join(list(frame.columns)[:12]) + (", ..." if len(frame.columns) > 12 else "")
    raise StoreError(f"{label} has no column '{column}' ({role}) in {frame.location} (columns: {shown})")


def _column_of(request: StatsRequest, column: StatsColumn) -> str:
    if column.column is not None:
        return column.column
    if isinstance(request.rows, ViewSpec):
        return request.rows.source.column_for(column.name)
    return column.name


def _json_path(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return literal(f"$.{key}")
    return literal("$['" + key.replace("'", "\\'") + "']")


def _raw_sql(frame: SourceFrame, request: StatsRequest, column: StatsColumn) -> str:
    """SQL reading ``column``'s values as its dtype (categorical values as text, times as µs)."""
    dtype = column.dtype
    name = _column_of(request, column)
    if column.json_key is not None:  # JSON text of one key (NULL when absent, null or not that type)
        _need(frame, request.label, name, "a JSON column")
        text = f"get_json_object({quote(name)}, {_json_path(column.json_key)})"
        if dtype in ("int32", "int64"):
            return f"try_cast({text} AS BIGINT)"
        if dtype in _FLOATS:
            return f"try_cast({text} AS DOUBLE)"
        if dtype == "bool":
            return f"CAST(try_cast({text} AS BOOLEAN) AS STRING)"
        if dtype == "timestamp":
            return f"unix_micros(try_cast({text} AS TIMESTAMP))"
        return text
    if isinstance(request.rows, ViewSpec):  # a missing column is a StoreError naming it
        frame.need(name, request.rows, f"feature '{column.name}'")
    else:
        _need(frame, request.label, name, f"feature '{column.name}'")
    actual = frame.column_type(name)
    if not dtype_accepts(dtype, actual):
        raise StoreError(
            f"{request.label}: column '{name}' in {frame.location} is {actual}, so it cannot be read as "
            f"{dtype} (feature '{column.name}')",
            hint="declare the dtype the data has, or compare with data of the same type",
        )
    sql = quote(name)
    if dtype in ("int32", "int64"):
        return f"CAST({sql} AS BIGINT)"
    if dtype in _FLOATS:
        return f"CAST({sql} AS DOUBLE)"
    if dtype == "string":
        return f"CAST({sql} AS STRING)"
    if dtype == "bool":
        return f"CAST(CAST({sql} AS BOOLEAN) AS STRING)"
    if dtype == "timestamp":
        return frame.timestamp_us(name, None, f"feature '{column.name}'")
    return sql


def _rows(frame: SourceFrame, time_sql: str | None, request: StatsRequest) -> Any:
    """The rows in range with one column ``c{i}`` per requested column."""
    conditions = []
    if time_sql is not None and request.start is not None:
        conditions.append(f"{time_sql} >= {micros(request.start)}")
    if time_sql is not None and request.end is not None:
        conditions.append(f"{time_sql} < {micros(request.end)}")
    if isinstance(request.rows, FileRows):
        for name, value in request.rows.equals:
            conditions.append(f"{quote(name)} = {value if isinstance(value, int) else literal(value)}")
    raw = [f"{_raw_sql(frame, request, c)} AS r{i}" for i, c in enumerate(request.columns)]
    clean = [
        f"CASE WHEN isnan(r{i}) OR abs(r{i}) = double('inf') THEN NULL ELSE r{i} END AS c{i}"
        if c.dtype in _FLOATS
        else f"r{i} AS c{i}"
        for i, c in enumerate(request.columns)
    ]
    df = frame.df
    if conditions:
        df = df.where(" AND ".join(conditions))
    return df.selectExpr(*(raw or ["1 AS r"])).selectExpr(*(clean or ["1 AS c"]))


def _probabilities(request: StatsRequest) -> list[float]:
    return sorted(set(request.quantiles) | set(request.bin_quantiles))


Part = tuple[int, str, str]  # (column index, statistic, SQL of its aggregate)


def _first_pass(request: StatsRequest) -> list[Part]:
    probabilities = _probabilities(request)
    parts: list[Part] = []
    for i, column in enumerate(request.columns):
        c = f"c{i}"
        parts.append((i, "values", f"count({c})"))
        kind, dtype = column.kind, column.dtype
        if kind == NUMERIC:
            parts += [
                (i, "min", f"min({c})"),
                (i, "max", f"max({c})"),
                (i, "mean", f"avg(CAST({c} AS DOUBLE))"),
                (i, "std", f"stddev_samp(CAST({c} AS DOUBLE))"),
                (i, "distinct", f"approx_count_distinct({c}, 0.01)"),
            ]
            if probabilities:
                qs = ", ".join(repr(q) for q in probabilities)
                parts.append((i, "quantiles", f"percentile_approx(CAST({c} AS DOUBLE), array({qs}), 10000)"))
        elif kind == CATEGORICAL:
            parts.append((i, "distinct", f"approx_count_distinct({c}, 0.01)"))
            if dtype == "string":
                parts += [(i, "min", f"min({c})"), (i, "max", f"max({c})")]
        elif dtype == "timestamp":
            parts += [
                (i, "min", f"min({c})"),
                (i, "max", f"max({c})"),
                (i, "distinct", f"approx_count_distinct({c}, 0.01)"),
            ]
        elif dtype == "bytes":
            parts.append((i, "distinct", f"approx_count_distinct({c}, 0.01)"))
    return parts


def _bin_index(c: str, edges: tuple[float, ...]) -> str:
    whens = " ".join(f"WHEN {c} < {_double(e)} THEN {k}" for k, e in enumerate(edges))
    return f"CASE {whens} ELSE {len(edges)} END"


def _edges(
    request: StatsRequest, column: StatsColumn, quantiles: dict[float, float]
) -> tuple[float, ...] | None:
    if column.edges is not None:
        return tuple(sorted(set(column.edges)))
    if request.bin_quantiles and quantiles:
        return tuple(sorted({quantiles[q] for q in request.bin_quantiles if quantiles.get(q) is not None}))
    return None


def _second_pass(request: StatsRequest, found: list[dict[str, Any]]) -> list[Part]:
    """Histograms and bins, one ``count_if`` per bin (statistic ``histogram:k`` / ``binned:k``)."""
    probabilities = _probabilities(request)
    parts: list[Part] = []
    for i, column in enumerate(request.columns):
        if column.kind != NUMERIC:
            continue
        stats, c = found[i], f"c{i}"
        quantiles = dict(zip(probabilities, stats.get("quantiles") or [], strict=False))
        stats["quantile_map"] = quantiles
        edges = _edges(request, column, quantiles)
        if edges is None and (column.edges is not None or request.bin_quantiles):
            edges = ()
        stats["edges"] = edges
        if not stats.get("values"):
            continue
        low, high = float(stats["min"]), float(stats["max"])
        if high > low:
            width = (high - low) / request.bins
            index = (
                f"least(CAST(floor(({c} - {_double(low)}) / {_double(width)}) AS BIGINT), {request.bins - 1})"
            )
            parts += [
                (i, f"histogram:{k}", f"count_if({c} IS NOT NULL AND {index} = {k})")
                for k in range(request.bins)
            ]
        if edges:
            index = _bin_index(c, edges)
            parts += [
                (i, f"binned:{k}", f"count_if({c} IS NOT NULL AND {index} = {k})")
                for k in range(len(edges) + 1)
            ]
    return parts


def _top_values(rows: Any, request: StatsRequest, found: list[dict[str, Any]]) -> None:
    """Exact counts of each categorical column's ``top_k`` most frequent values and requested
    categories (third job), into ``found[i]["counts"]``."""
    from pyspark.sql import functions as sf
    from pyspark.sql.window import Window as SparkWindow

    wanted = [i for i, c in enumerate(request.columns) if c.kind == CATEGORICAL and found[i].get("values")]
    if not wanted:
        return
    pairs = ", ".join(f"{i}, c{i}" for i in wanted)
    stacked = rows.selectExpr(f"stack({len(wanted)}, {pairs}) AS (i, v)").where("v IS NOT NULL")
    counted = stacked.groupBy("i", "v").count()
    rank = sf.row_number().over(SparkWindow.partitionBy("i").orderBy(sf.desc("count"), sf.asc("v")))
    keep = sf.col("rank") <= request.top_k
    for i in wanted:
        categories = request.columns[i].categories
        if categories:
            keep = keep | ((sf.col("i") == i) & sf.col("v").isin(list(categories)))
    for row in counted.withColumn("rank", rank).where(keep).collect():
        found[int(row["i"])].setdefault("counts", {})[row["v"]] = int(row["count"])


def table_stats(spark: Any, request: StatsRequest) -> TableStats:
    """Answer ``request`` on ``spark`` (see the module docstring)."""
    from pyspark import StorageLevel

    if request.bins < 1 or request.top_k < 0:
        raise ValueError(f"bins must be >= 1 and top_k >= 0, got {request.bins}, {request.top_k}")
    frame, time_sql = _open(spark, request)
    rows = _rows(frame, time_sql, request).persist(StorageLevel.MEMORY_AND_DISK)
    found: list[dict[str, Any]] = [{} for _ in request.columns]

    def run(parts: list[Part], extra: tuple[str, ...] = ()) -> list[Any]:
        if not parts and not extra:
            return []
        answer = list(rows.selectExpr(*extra, *(sql for _, _, sql in parts)).collect()[0])
        for (i, stat, _), value in zip(parts, answer[len(extra) :], strict=True):
            found[i][stat] = value
        return answer[: len(extra)]

    try:
        total = int(run(_first_pass(request), ("count(*)",))[0])
        run(_second_pass(request, found))
        _top_values(rows, request, found)
    except spark_errors() as exc:
        raise StoreError(
            f"cannot compute statistics of {request.label} at {frame.location}: {first_line(exc)}",
            hint="check that the files are complete and readable",
        ) from None
    finally:
        rows.unpersist()
    features = tuple(_feature(request, column, total, found[i]) for i, column in enumerate(request.columns))
    return TableStats(rows=total, features=features)


def _plain(value: Any, dtype: str) -> Any:
    if value is None:
        return None
    if dtype == "timestamp":
        return from_micros(int(value)).replace(tzinfo=None).isoformat() + "Z"
    if dtype in _FLOATS:
        return float(value)
    if dtype in ("int32", "int64"):
        return int(value)
    return value


def _feature(request: StatsRequest, column: StatsColumn, rows: int, stats: dict[str, Any]) -> FeatureStats:
    present = int(stats.get("values") or 0)
    kind = column.kind
    base: dict[str, Any] = {
        "name": column.name,
        "dtype": column.dtype,
        "kind": kind,
        "count": rows,
        "nulls": rows - present,
        "distinct": min(int(stats["distinct"]), present) if stats.get("distinct") is not None else None,
        "min": _plain(stats.get("min"), column.dtype),
        "max": _plain(stats.get("max"), column.dtype),
    }
    if kind == NUMERIC:
        quantiles: dict[float, float] = stats.get("quantile_map") or {}
        base["mean"] = float(stats["mean"]) if stats.get("mean") is not None else None
        base["std"] = float(stats["std"]) if stats.get("std") is not None else None
        base["quantiles"] = tuple(
            (q, float(quantiles[q])) for q in request.quantiles if quantiles.get(q) is not None
        )
        base["histogram"] = _histogram(request, stats, present)
        edges = stats.get("edges")
        if edges is not None:
            if edges:
                binned = tuple(int(stats.get(f"binned:{k}") or 0) for k in range(len(edges) + 1))
            else:
                binned = (present,)
            base["binned"] = BinCounts(edges=tuple(edges), counts=binned)
    elif kind == CATEGORICAL:
        counts: dict[str, int] = stats.get("counts") or {}
        top = sorted(counts.items(), key=lambda p: (-p[1], p[0]))
        base["top"] = tuple(top[: request.top_k])
        base["categories"] = tuple((v, counts.get(v, 0)) for v in column.categories or ())
    return FeatureStats(**base)


def _histogram(request: StatsRequest, stats: dict[str, Any], present: int) -> tuple[HistogramBin, ...]:
    if not present:
        return ()
    low, high = float(stats["min"]), float(stats["max"])
    if high <= low:  # every value the same
        return (HistogramBin(low, high, present),)
    width = (high - low) / request.bins
    edges = [low + k * width for k in range(request.bins)] + [high]
    return tuple(
        HistogramBin(edges[k], edges[k + 1], int(stats.get(f"histogram:{k}") or 0))
        for k in range(request.bins)
    )
