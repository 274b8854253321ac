"""Statistics per column in DuckDB: the answer to a :class:`~fsctl.offline.requests.StatsRequest`.

Aggregates over the rows in the time range, each one scan for every column at once:

1. the count, nulls, min, max, mean, sample standard deviation, ``approx_count_distinct``
   and ``approx_quantile`` (a t-digest) of each column that has them;
2. given what the first found, as literals: the equal-width histogram of each numeric
   column between its min and max, its counts in the requested bins (or in the bins of its
   own ``bin_quantiles``), and the count of every value of each categorical column with
   few distinct values (``histogram``; at most :data:`FEW_VALUES`), or, with more,
   candidates for its most frequent values (``approx_top_k``, several times slower);
3. only for categorical columns with many values: the exact counts of those candidates and
   of the requested categories.

A scan is skipped when nothing needs it. The rows are read as the other operations read
them (:mod:`.sources`): a view's source columns after field_mapping, its event time in UTC;
files (a training set, the prediction log: folders at any depth, so ``date=`` partitions are
read) the same way. Values are cast to the requested dtype; for floats, NaN and infinities
count as null (the prediction log stores them as null too).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fsctl.errors import StoreError
from fsctl.offline.base import BinCounts, FeatureStats, HistogramBin, TableStats
from fsctl.offline.duckdb.sources import SourceTable, check_features, literal, open_source, quote
from fsctl.offline.requests import (
    CATEGORICAL,
    NUMERIC,
    FileRows,
    SourceSpec,
    StatsColumn,
    StatsRequest,
    ViewSpec,
)
from fsctl.offline.schema import dtype_accepts, from_duckdb

_FLOATS = ("float32", "float64")
# A categorical column with at most this many distinct values (estimated) gets every value
# counted in the second scan; one with more gets approx_top_k candidates there and their
# exact counts in a third.
FEW_VALUES = 10_000


def _sql_time(value: datetime) -> str:
    utc = value.astimezone(timezone.utc).replace(tzinfo=None)
    return f"TIMESTAMP '{utc.isoformat(sep=' ')}'"


def _double(value: float) -> str:
    return f"{float(value)!r}::DOUBLE"


def _open(con: Any, request: StatsRequest) -> tuple[SourceTable, str | None]:
    """The rows' table and the SQL of their time column (None: no time column)."""
    rows = request.rows
    if isinstance(rows, ViewSpec):
        table = open_source(con, rows.source, "__fsctl_stats_src")
        plain = [c.name for c in request.columns if c.column is None and c.json_key is None]
        check_features(table, rows, plain)
        return table, table.timestamp(rows.source.timestamp_field, rows, "timestamp_field")
    spec = SourceSpec(
        name=rows.label,
        location=rows.location,
        format=rows.format,
        timestamp_field=rows.time_column or "",
        created_timestamp_field=None,
    )
    try:
        table = open_source(con, spec, "__fsctl_stats_src")
    except StoreError as exc:
        raise StoreError(exc.message.replace(f"source '{rows.label}'", rows.label), hint=exc.hint) from None
    for column, _ in rows.equals:
        _need(table, rows.label, column, "a filter column")
    time_sql = None
    if rows.time_column is not None:
        _need(table, rows.label, rows.time_column, "the time column")
        time_sql = table.timestamp(rows.time_column, None, "time column")
    return table, time_sql


def _need(table: SourceTable, label: str, column: str, role: str) -> str:
    if column in table.columns:
        return table.columns[column]
    shown = ", ".join(list(table.columns)[:12]) + (", ..." if len(table.columns) > 12 else "")
    raise StoreError(f"{label} has no column '{column}' ({role}) in {table.location} (columns: {shown})")


def _column_of(request: StatsRequest, column: StatsColumn) -> str:
    if column.column is not None:
        return column.column
    if isinstance(request.rows, ViewSpec):
        return request.rows.source.column_for(column.name)
    return column.name


def _raw_sql(table: SourceTable, request: StatsRequest, column: StatsColumn, json_alias: str | None) -> str:
    """SQL reading ``column``'s values as its dtype (categorical values as text)."""
    dtype = column.dtype
    if json_alias is not None:  # JSON text of one key (NULL when absent or null)
        text = json_alias
        if dtype in ("int32", "int64"):
            return f"TRY_CAST({text} AS BIGINT)"
        if dtype in _FLOATS:
            return f"TRY_CAST({text} AS DOUBLE)"
        if dtype == "bool":
            return f"CAST(TRY_CAST({text} AS BOOLEAN) AS VARCHAR)"
        if dtype == "timestamp":
            return f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
        return text
    name = _column_of(request, column)
    if isinstance(request.rows, ViewSpec):
        type_name = table.need(name, request.rows, f"feature '{column.name}'")
    else:
        type_name = _need(table, request.label, name, f"feature '{column.name}'")
    actual = from_duckdb(type_name)
    if not dtype_accepts(dtype, actual):
        raise StoreError(
            f"{request.label}: column '{name}' in {table.location} is {actual}, so it cannot be read as "
            f"{dtype} (feature '{column.name}')",
            hint="declare the dtype the data has, or compare with data of the same type",
        )
    sql = quote(name)
    if dtype in ("int32", "int64"):
        return f"CAST({sql} AS BIGINT)"
    if dtype in _FLOATS:
        return f"CAST({sql} AS DOUBLE)"
    if dtype == "string":
        return f"CAST({sql} AS VARCHAR)"
    if dtype == "bool":
        return f"CAST(CAST({sql} AS BOOLEAN) AS VARCHAR)"
    if dtype == "timestamp":
        return table.timestamp(name, None, f"feature '{column.name}'")
    return sql


def _rows_sql(table: SourceTable, time_sql: str | None, request: StatsRequest) -> str:
    """A SELECT of the rows in range with one column ``c{i}`` per requested column."""
    conditions = []
    if time_sql is not None and request.start is not None:
        conditions.append(f"{time_sql} >= {_sql_time(request.start)}")
    if time_sql is not None and request.end is not None:
        conditions.append(f"{time_sql} < {_sql_time(request.end)}")
    if isinstance(request.rows, FileRows):
        for name, value in request.rows.equals:
            conditions.append(f"{quote(name)} = {value if isinstance(value, int) else literal(value)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # JSON columns: every key read at once, one parse per row (json_extract_string of a list).
    json_keys: dict[str, list[str]] = {}
    for column in request.columns:
        if column.json_key is not None:
            json_keys.setdefault(_column_of(request, column), []).append(column.json_key)
    extracted = []
    for j, (json_column, keys) in enumerate(json_keys.items()):
        _need(table, request.label, json_column, "a JSON column")
        paths = ", ".join(literal('$."' + key.replace('"', '\\"') + '"') for key in keys)
        extracted.append(f"json_extract_string({quote(json_column)}, [{paths}]) AS __j{j}")
    raw = []
    for i, column in enumerate(request.columns):
        alias = None
        if column.json_key is not None:
            j = list(json_keys).index(_column_of(request, column))
            alias = f"__j{j}[{json_keys[_column_of(request, column)].index(column.json_key) + 1}]"
        raw.append(f"{_raw_sql(table, request, column, alias)} AS r{i}")
    clean = [
        f"CASE WHEN isfinite(r{i}) THEN r{i} END AS c{i}" if c.dtype in _FLOATS else f"r{i} AS c{i}"
        for i, c in enumerate(request.columns)
    ]
    inner = f"SELECT *{''.join(', ' + e for e in extracted)} FROM {table.from_sql}{where}"
    return f"SELECT {', '.join(clean) or '1'} FROM (SELECT {', '.join(raw) or '1'} FROM ({inner}))"


def _probabilities(request: StatsRequest) -> list[float]:
    return sorted(set(request.quantiles) | set(request.bin_quantiles))


Part = tuple[int, str, str]  # (column index, statistic, SQL of its aggregate)


def _first_pass(request: StatsRequest) -> list[Part]:
    """Counts, moments, distinct estimates and quantiles."""
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
                (i, "mean", f"avg({c})"),
                (i, "std", f"stddev_samp({c})"),
                (i, "distinct", f"approx_count_distinct({c})"),
            ]
            if probabilities:
                qs = ", ".join(repr(q) for q in probabilities)
                parts.append((i, "quantiles", f"approx_quantile(CAST({c} AS DOUBLE), [{qs}])"))
        elif kind == CATEGORICAL:
            parts.append((i, "distinct", f"approx_count_distinct({c})"))
            if dtype == "string":
                parts += [(i, "min", f"min({c})"), (i, "max", f"max({c})")]
        elif dtype == "timestamp":
            parts += [(i, "min", f"min({c})"), (i, "max", f"max({c})"), (i, "distinct", f"approx_count_distinct({c})")]
        elif dtype == "bytes":
            parts.append((i, "distinct", f"approx_count_distinct({c})"))
    return parts


def _bin_index(c: str, edges: tuple[float, ...]) -> str:
    """SQL of the bin of ``c`` among ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""
    whens = " ".join(f"WHEN {c} < {_double(e)} THEN {k}" for k, e in enumerate(edges))
    return f"CASE {whens} ELSE {len(edges)} END"


def _edges(request: StatsRequest, column: StatsColumn, quantiles: dict[float, float]) -> tuple[float, ...] | None:
    if column.edges is not None:
        return tuple(sorted(set(column.edges)))
    if request.bin_quantiles and quantiles:
        return tuple(sorted({quantiles[q] for q in request.bin_quantiles if quantiles.get(q) is not None}))
    return None


def _in(c: str, values: list[Any]) -> str:
    return f"{c} IN ({', '.join(literal(str(v)) for v in values)})"


def _second_pass(request: StatsRequest, found: list[dict[str, Any]]) -> list[Part]:
    """Histograms and bins over the first pass's min/max and quantiles; the counts of every
    value of a categorical column with few distinct values, the candidates for the most
    frequent of one with many."""
    probabilities = _probabilities(request)
    parts: list[Part] = []
    for i, column in enumerate(request.columns):
        stats, c = found[i], f"c{i}"
        if column.kind == NUMERIC:
            quantiles = dict(zip(probabilities, stats.get("quantiles") or [], strict=False))
            stats["quantile_map"] = quantiles
            edges = _edges(request, column, quantiles)
            if edges is None and (column.edges is not None or request.bin_quantiles):
                edges = ()  # no values: one bin
            stats["edges"] = edges
            if not stats.get("values"):
                continue
            low, high = float(stats["min"]), float(stats["max"])
            if high > low:
                width = (high - low) / request.bins
                index = f"least(CAST(floor(({c} - {_double(low)}) / {_double(width)}) AS BIGINT), {request.bins - 1})"
                parts.append((i, "histogram", f"histogram({index}) FILTER (WHERE {c} IS NOT NULL)"))
            if edges:
                parts.append((i, "binned", f"histogram({_bin_index(c, edges)}) FILTER (WHERE {c} IS NOT NULL)"))
        elif column.kind == CATEGORICAL and stats.get("values"):
            if (stats.get("distinct") or 0) <= FEW_VALUES:
                parts.append((i, "counts", f"histogram({c})"))
            else:
                # Twice as many candidates as asked for: their exact counts (third pass) pick the top.
                parts.append((i, "candidates", f"approx_top_k({c}, {2 * max(request.top_k, 1)})"))
    return parts


def _third_pass(request: StatsRequest, found: list[dict[str, Any]]) -> list[Part]:
    """Exact counts of the candidates and requested categories of columns with many values."""
    parts: list[Part] = []
    for i, column in enumerate(request.columns):
        stats, c = found[i], f"c{i}"
        if "candidates" in stats:
            wanted = list(dict.fromkeys([*(stats["candidates"] or []), *(column.categories or ())]))
            if wanted:
                parts.append((i, "counts", f"histogram({c}) FILTER (WHERE {_in(c, wanted)})"))
    return parts


def table_stats(con: Any, request: StatsRequest) -> TableStats:
    """Answer ``request`` in ``con`` (see the module docstring)."""
    import duckdb

    if request.bins < 1 or request.top_k < 0:
        raise ValueError(f"bins must be >= 1 and top_k >= 0, got {request.bins}, {request.top_k}")
    table, time_sql = _open(con, request)
    rows_sql = _rows_sql(table, time_sql, request)
    found: list[dict[str, Any]] = [{} for _ in request.columns]

    def run(parts: list[Part], extra: tuple[str, ...] = ()) -> list[Any]:
        if not parts and not extra:
            return []
        select = ", ".join([*extra, *(sql for _, _, sql in parts)])
        answer = list(con.execute(f"SELECT {select} FROM ({rows_sql})").fetchall()[0])
        for (i, stat, _), value in zip(parts, answer[len(extra) :], strict=True):
            found[i][stat] = value
        return answer[: len(extra)]

    try:
        rows = int(run(_first_pass(request), ("count(*)",))[0])
        run(_second_pass(request, found))
        run(_third_pass(request, found))
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot compute statistics of {request.label} at {table.location}: {str(exc).splitlines()[0]}",
            hint="check that the files are complete and readable",
        ) from None
    features = tuple(_feature(request, column, rows, found[i]) for i, column in enumerate(request.columns))
    return TableStats(rows=rows, features=features)


def _plain(value: Any, dtype: str) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat() + "Z"
    if dtype in _FLOATS and value is not None:
        return float(value)
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
        # An estimate (HyperLogLog) can overshoot; never more than the values there are.
        "distinct": min(int(stats["distinct"]), present) if stats.get("distinct") is not None else None,
        "min": _plain(stats.get("min"), column.dtype),
        "max": _plain(stats.get("max"), column.dtype),
    }
    if kind == NUMERIC:
        quantiles: dict[float, float] = stats.get("quantile_map") or {}
        base["mean"] = float(stats["mean"]) if stats.get("mean") is not None else None
        base["std"] = float(stats["std"]) if stats.get("std") is not None else None
        base["quantiles"] = tuple((q, float(quantiles[q])) for q in request.quantiles if q in quantiles)
        base["histogram"] = _histogram(request, stats, present)
        edges = stats.get("edges")
        if edges is not None:
            if edges:
                in_bins = stats.get("binned") or {}
                binned = tuple(int(in_bins.get(k, 0)) for k in range(len(edges) + 1))
            else:
                binned = (present,)
            base["binned"] = BinCounts(edges=tuple(edges), counts=binned)
    elif kind == CATEGORICAL:
        counts = {str(k): int(v) for k, v in (stats.get("counts") or {}).items()}
        candidates = stats["candidates"] if "candidates" in stats else list(counts)
        top = sorted(
            ((str(v), counts.get(str(v), 0)) for v in candidates or [] if counts.get(str(v), 0)),
            key=lambda p: (-p[1], p[0]),
        )
        base["top"] = tuple(top[: request.top_k])
        base["categories"] = tuple((v, counts.get(v, 0)) for v in column.categories or ())
    return FeatureStats(**base)


def _histogram(request: StatsRequest, stats: dict[str, Any], present: int) -> tuple[HistogramBin, ...]:
    if not present:
        return ()
    low, high = float(stats["min"]), float(stats["max"])
    if "histogram" not in stats:  # every value the same
        return (HistogramBin(low, high, present),)
    counted = stats["histogram"] or {}
    width = (high - low) / request.bins
    edges = [low + k * width for k in range(request.bins)] + [high]
    return tuple(HistogramBin(edges[k], edges[k + 1], int(counted.get(k, 0))) for k in range(request.bins))
