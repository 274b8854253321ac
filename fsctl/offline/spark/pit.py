"""Point-in-time join on Spark, through the DataFrame API, from the same engine-neutral
request as DuckDB's (:class:`~fsctl.offline.requests.PointInTimeRequest`).

Per group of views sharing a source and join keys (per view with the leakage guard):

1. the source rows, null keys and event times dropped, pruned to
   ``[min entity time - TTL, max entity time]`` (no lower bound when a view has no TTL);
2. unioned with the entity rows (row index, keys, entity time);
3. partitioned by the join keys and ordered by (visible time, kind): a source row sorts
   before an entity row at the same time, so a row *at* the entity time matches;
4. a running ``max`` of the struct ``(t, has_created, created, features...)`` over that order
   carries the latest row forward: the latest event time wins, then the latest created time,
   a null created time losing. The visible time is the event time; with the leakage guard it
   is ``greatest(t, created)`` (rows without a created time are left out), so a row counts
   only once it was both true and known;
5. the TTL mask in integer microseconds: matched when ``t >= entity time - ttl``.

One sort per group, no range join: a hot key costs one long partition, not a quadratic
join. The first group carries all the entity columns through the union; further groups
are joined back on the row index. Entity rows keep their input order (the result is sorted
by the row index when it is read or written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsctl.errors import UsageError
from fsctl.offline.base import Progress
from fsctl.offline.naming import check_unique
from fsctl.offline.requests import PointInTimeRequest, SourceSpec, ViewSpec
from fsctl.offline.schema import BINARY, BOOL, DATE, FLOAT, INTEGER, STRING, TIMESTAMP
from fsctl.offline.spark import entities as entity_rows
from fsctl.offline.spark.entities import ROW, TS
from fsctl.offline.spark.result import SparkResult
from fsctl.offline.spark.sources import C, T, check_features, open_source, source_frame, spark_type

if TYPE_CHECKING:
    from fsctl.offline.spark import SparkEngineConfig

US = 1_000_000
KIND = "__fsctl_kind"
VISIBLE = "__fsctl_v"
REC = "__fsctl_rec"


@dataclass
class _Group:
    index: int
    source: SourceSpec
    join_keys: tuple[str, ...]
    views: list[ViewSpec] = field(default_factory=list)
    features: list[str] = field(default_factory=list)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _family(kind: str) -> str:
    return {INTEGER: "integer", FLOAT: "float", STRING: "string", BOOL: "bool", BINARY: "binary",
            TIMESTAMP: "timestamp", DATE: "timestamp"}.get(kind, kind)


def _bounds(group: _Group, min_ts: int, max_ts: int) -> tuple[int | None, int]:
    ttls = [v.ttl for v in group.views]
    lower = None if any(t == 0 for t in ttls) else min_ts - max(ttls) * US
    return lower, max_ts + 1


def _carried(spark: Any, group: _Group, ents: entity_rows.EntityFrame, guard: bool, carry: list[str]) -> Any:
    """The entity rows of ``ents`` (ROW, TS, ``carry`` columns) with the group's latest row as REC."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    view = group.views[0]
    source = group.source
    if guard and not source.created_timestamp_field:
        raise UsageError(
            f"the leakage guard needs created times, but source '{source.name}' (view '{view.name}') "
            "has no created_timestamp_field",
            hint="set created_timestamp_field on the source, or retrieve without the guard",
        )
    opened = open_source(spark, source)
    for key in group.join_keys:
        column = source.column_for(key)
        opened.need(column, view, f"join key '{key}'")
        theirs, ours = opened.column_type(column), ents.types[key]
        if _family(theirs.kind) != _family(ours.kind):
            raise UsageError(
                f"join key '{key}' is {ours} in the entity rows but {theirs} in column "
                f"'{column}' of source '{source.name}' (view '{view.name}')",
                hint=f"cast '{key}' in the entity rows to {theirs}",
            )
    dtypes: dict[str, str] = {}
    for member in group.views:
        mine = [f for f in group.features if f in member.feature_names and f not in dtypes]
        check_features(opened, member, mine)
        dtypes.update((f, member.dtype(f)) for f in mine)
    lower, upper = _bounds(group, ents.min_ts, ents.max_ts)
    src = source_frame(
        spark, source, view, keys=group.join_keys, features=group.features,
        lower_us=lower, upper_us=upper, opened=opened, dtypes=dtypes,
    )
    if guard:
        src = src.where(sf.col(C).isNotNull())
        visible = sf.greatest(sf.col(T), sf.col(C))
    else:
        visible = sf.col(T)
    rec = sf.struct(
        sf.col(T).alias("t"),
        sf.col(C).isNotNull().alias("has_c"),
        sf.coalesce(sf.col(C), sf.lit(0)).alias("c"),
        *[sf.col(_q(f)).alias(f"f{i}") for i, f in enumerate(group.features)],
    )
    src = src.select(*[sf.col(_q(k)) for k in group.join_keys], visible.alias(VISIBLE), sf.lit(0).alias(KIND), rec.alias(REC))
    ent_types = {f.name: f.dataType for f in ents.frame.schema.fields}
    # The source side of the union: the entity columns as typed nulls.
    extra = [c for c in [ROW, TS, *carry] if c not in group.join_keys]
    src = src.select(
        *src.columns,
        *[sf.lit(None).cast(ent_types[c]).alias(c) for c in extra],
    )
    ent = ents.frame.select(
        *[sf.col(_q(k)) for k in group.join_keys],
        sf.col(TS).alias(VISIBLE),
        sf.lit(1).alias(KIND),
        sf.lit(None).cast(src.schema[REC].dataType).alias(REC),
        *[sf.col(_q(c)) for c in extra],
    )
    both = src.unionByName(ent, allowMissingColumns=False)
    window = (
        Window.partitionBy(*[sf.col(_q(k)) for k in group.join_keys])
        .orderBy(sf.col(VISIBLE), sf.col(KIND))
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    carried = both.select(*[sf.col(_q(c)) for c in both.columns], sf.max(sf.col(REC)).over(window).alias("__fsctl_m"))
    carried = carried.where(sf.col(KIND) == 1).drop(REC, VISIBLE, KIND).withColumnRenamed("__fsctl_m", REC)
    return carried


def _matched(rec: Any, ttl: int) -> Any:
    from pyspark.sql import functions as sf

    ok = rec.isNotNull()
    if ttl > 0:
        ok = ok & (rec["t"] >= sf.col(TS) - sf.lit(ttl * US))
    return ok


def point_in_time_join(
    spark: Any, request: PointInTimeRequest, config: SparkEngineConfig, progress: Progress | None = None
) -> SparkResult:
    """Join the request's entity rows to its views; its features are the output, in order."""
    from pyspark.sql import functions as sf

    say = progress or (lambda _message: None)
    views, refs = request.views, request.features
    join_keys = list(dict.fromkeys(k for v in views for k in v.join_keys))
    say("reading entity rows")
    ents = entity_rows.prepare(spark, request.entities, join_keys)
    try:
        outputs = [ref.output for ref in refs]
        check_unique(
            [(r.view, r.feature, r.output) for r in refs],
            {c: f"entity column '{c}'" for c in ents.columns},
            "rename the entity column",
        )
        groups: dict[tuple[str, tuple[str, ...], str], _Group] = {}
        for view in views:
            key = (view.source.name, tuple(view.join_keys), view.name if request.leakage_guard else "")
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(len(groups), view.source, tuple(view.join_keys))
            group.views.append(view)
            wanted = [r.feature for r in refs if r.view == view.name]
            group.features.extend(f for f in wanted if f not in group.features)

        frame = None
        rec_of: dict[str, tuple[_Group, str]] = {}
        for group in groups.values():
            say(f"reading source '{group.source.name}'")
            rec = f"__fsctl_g{group.index}"
            if frame is None:
                frame = _carried(spark, group, ents, request.leakage_guard, ents.columns)
                frame = frame.withColumnRenamed(REC, rec)
            else:
                part = _carried(spark, group, ents, request.leakage_guard, [])
                part = part.select(sf.col(ROW), sf.col(REC).alias(rec))
                frame = frame.join(part, on=ROW, how="left")
            for view in group.views:
                rec_of[view.name] = (group, rec)
        assert frame is not None
        by_name = {v.name: v for v in views}
        selects = [sf.col(_q(c)) for c in ents.columns]
        for ref in refs:
            group, rec = rec_of[ref.view]
            view = by_name[ref.view]
            value = sf.col(rec)[f"f{group.features.index(ref.feature)}"]
            selects.append(
                sf.when(_matched(sf.col(rec), view.ttl), value).cast(spark_type(view.dtype(ref.feature))).alias(ref.output)
            )
        matched: dict[str, str] = {}
        for n, view in enumerate(views):
            group, rec = rec_of[view.name]
            matched[view.name] = f"__fsctl_m{n}"
            selects.append(_matched(sf.col(rec), view.ttl).alias(f"__fsctl_m{n}"))
        selects.append(sf.col(ROW))
        names = ", ".join(v.name for v in views)
        say(f"joining {ents.rows:,} entity rows to {names}")
        result = frame.select(*selects)
    except BaseException:
        ents.frame.unpersist()
        raise
    return SparkResult(
        result,
        columns=ents.columns + outputs,
        matched=matched,
        rows=ents.rows,
        metadata=dict(request.metadata),
        config=config,
        cached=[ents.frame],
    )
