"""Use case: materialize. Load the latest row per entity key of each online view, for event
times in ``[start, end)``, from its source into the online store.

Per view: one DuckDB aggregate picks the latest row per key in the window (latest event
time, then latest created time; a null created time loses), and the rows are written in
batches, so memory is bounded by the batch and the number of keys, never the source.
Stores upsert with the never-older rule, so a re-run, an overlapping window or an older
backfill cannot replace a newer value. The view's watermark (in the state document beside
the registry, never in the registry) moves only after all its rows are written; a run
killed at any point leaves the watermark where it was, and re-running completes it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fsctl.definitions import FeatureView
from fsctl.errors import FsctlError, StoreError, UsageError
from fsctl.services.project import Project

BATCH_SIZE = int(os.environ.get("FSCTL_MATERIALIZE_BATCH_SIZE", "10000"))


@dataclass
class ViewRun:
    view: str
    start: datetime | None
    end: datetime
    rows_read: int = 0
    keys: int = 0
    keys_written: int = 0
    keys_sent: int = 0  # keys handed to the store in batches it accepted
    seconds: float = 0.0
    status: str = "succeeded"  # succeeded | failed | up-to-date | skipped
    error: str | None = None
    note: str = ""

    @property
    def keys_kept_newer(self) -> int:
        """Keys the store kept because it held a newer record (not keys a failure left unwritten)."""
        return self.keys_sent - self.keys_written

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "status": self.status,
            "rows_read": self.rows_read,
            "keys": self.keys,
            "keys_written": self.keys_written,
            "keys_kept_newer": self.keys_kept_newer,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "note": self.note,
        }


@dataclass
class MaterializeResult:
    runs: list[ViewRun] = field(default_factory=list)

    @property
    def failed(self) -> list[ViewRun]:
        return [r for r in self.runs if r.status == "failed"]


class ProgressSink:
    """What the CLI gives materialize to show progress; every method is optional work."""

    def start_view(self, view: str, keys: int, rows: int) -> None: ...

    def advance(self, view: str, keys: int) -> None: ...

    def message(self, text: str) -> None: ...


def _fault(point: str) -> None:
    """Test hook: ``FSCTL_FAULT_INJECT=point`` kills this process with SIGKILL at ``point``, so
    tests can show a run killed there loses nothing. Never set outside tests."""
    if os.environ.get("FSCTL_FAULT_INJECT") == point:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def data_fingerprint(view: FeatureView, objects: Any) -> str:
    """What a view's online values are computed from; an apply that keeps it keeps the watermark."""
    from fsctl.diff.plan import fingerprint

    source = objects.get("FileSource", view.source, "source")
    keys = [k for e in view.entities for k in objects.get("Entity", e, "entity").join_keys]
    return fingerprint(
        {
            "keys": keys,
            "schema": [[f.name, f.dtype] for f in view.schema_],
            "source": {
                "path": source.path,
                "format": source.format,
                "timestamp_field": source.timestamp_field,
                "created_timestamp_field": source.created_timestamp_field,
                "field_mapping": source.field_mapping,
            },
        }
    )


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _sql_time(value: datetime) -> str:
    return f"TIMESTAMP '{utc(value).replace(tzinfo=None).isoformat(sep=' ')}'"


def select_views(objects: Any, names: list[str] | None) -> list[FeatureView]:
    all_views = [objects.view(name) for name in sorted(objects.names("FeatureView"))]
    if names is None:
        return [v for v in all_views if v.online]
    chosen = []
    for name in names:
        view = objects.view(name)
        if not view.online:
            raise UsageError(f"view '{name}' is not online (online: false), so it is not materialized")
        chosen.append(view)
    return chosen


def _load_view(
    con: Any,
    project: Project,
    store: Any,
    objects: Any,
    view: FeatureView,
    run: ViewRun,
    progress: ProgressSink,
) -> None:
    from fsctl.offline.engine import event_created_order
    from fsctl.offline.sources import check_features, open_source, quote
    from fsctl.online import OnlineRecord
    from fsctl.online.views import online_view

    source = objects.get("FileSource", view.source, "source")
    entities = {e: objects.get("Entity", e, "entity") for e in view.entities}
    target = online_view(project.name, view, entities)
    table = open_source(con, project.root, source, f"__fsctl_src_{view.name}")
    check_features(table, view, view.feature_names)
    t_sql = table.timestamp(source.timestamp_field, view, "timestamp_field")
    c_sql = (
        table.timestamp(source.created_timestamp_field, view, "created_timestamp_field")
        if source.created_timestamp_field
        else "NULL::TIMESTAMP"
    )
    keys = [quote(source.column_for(k)) for k in target.join_keys]
    for key, column in zip(target.join_keys, keys, strict=True):
        table.need(column.strip('"'), view, f"join key '{key}'")
    # Values cast to their declared dtypes, so every store holds the view's types.
    fields = [f"__t := {t_sql}", f"__c := {c_sql}"] + [
        f"f{i} := {_cast(table, view, source.column_for(f.name), f.dtype)}"
        for i, f in enumerate(view.schema_)
    ]
    order = event_created_order(f"epoch_us({t_sql})", f"epoch_us({c_sql})")
    where = f"{t_sql} < {_sql_time(run.end)}"
    if run.start is not None:
        where += f" AND {t_sql} >= {_sql_time(run.start)}"
    key_aliases = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __fsctl_latest AS SELECT {key_aliases}, "
        f"arg_max(struct_pack({', '.join(fields)}), {order}) AS v, count(*) AS n "
        f"FROM {table.from_sql} WHERE {where} GROUP BY ALL"
    )
    counts = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM __fsctl_latest").fetchall()[0]
    run.keys, run.rows_read = int(counts[0]), int(counts[1])
    progress.start_view(view.name, run.keys, run.rows_read)
    _fault("after-query")
    store.create(target)
    width = len(target.join_keys)
    key_types = [table.columns[source.column_for(k)] for k in target.join_keys]
    if all(_encodable_key(t) for t in key_types):
        # Keys and values are encoded by DuckDB, exactly as fsctl.online.codec encodes them
        # (str() of each key part joined by \x1f; one JSON object of values), so Python only
        # passes finished rows to the store.
        parts = [f"coalesce(CAST(k{i} AS VARCHAR), chr(0))" for i in range(width)]
        values = ", ".join(
            f"{quote(name)} := {_json_value(f'v.f{i}', dtype)}"
            for i, (name, dtype) in enumerate(target.features)
        )
        cursor = con.execute(
            f"SELECT {' || chr(31) || '.join(parts)} AS key, epoch_us(v.__t), epoch_us(v.__c), "
            f"CAST(to_json(struct_pack({values})) AS VARCHAR) FROM __fsctl_latest ORDER BY key"
        )
        encoded = True
    else:  # key types DuckDB would print differently from Python: encode in Python
        cols = [f"k{i}" for i in range(width)] + ["epoch_us(v.__t)", "epoch_us(v.__c)"]
        cols += [f"v.f{i}" for i in range(len(target.features))]
        cursor = con.execute(f"SELECT {', '.join(cols)} FROM __fsctl_latest")
        encoded = False
    names = view.feature_names
    batches = 0
    while True:
        rows = cursor.fetchmany(BATCH_SIZE)
        if not rows:
            break
        if encoded:
            run.keys_written += store.write_encoded(target, rows)
        else:
            records = [
                OnlineRecord(
                    tuple(r[:width]), r[width], r[width + 1], dict(zip(names, r[width + 2 :], strict=True))
                )
                for r in rows
            ]
            run.keys_written += store.write(target, records)
        run.keys_sent += len(rows)
        batches += 1
        progress.advance(view.name, len(rows))
        _fault(f"after-batch-{batches}")


def _cast(table: Any, view: FeatureView, column: str, dtype: str) -> str:
    from fsctl.offline.sources import duckdb_type, quote

    if dtype == "timestamp":  # zoned or ISO-8601 text -> naive UTC, as event times are read
        return str(table.timestamp(column, view, f"feature column '{column}'"))
    return f"CAST({quote(column)} AS {duckdb_type(dtype)})"


def _encodable_key(type_name: str) -> bool:
    t = type_name.upper()
    return t in ("VARCHAR", "BOOLEAN") or t in _INTEGERS


_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


def _json_value(column: str, dtype: str) -> str:
    """SQL for a feature value as fsctl.online.codec stores it in JSON."""
    if dtype == "timestamp":
        return f"epoch_us({column})"
    if dtype == "bytes":
        return f"base64({column})"
    if dtype == "list<timestamp>":
        return f"list_transform({column}, x -> epoch_us(x))"
    if dtype == "list<bytes>":
        return f"list_transform({column}, x -> base64(x))"
    return column


def materialize(
    project: Project,
    end: datetime,
    *,
    start: datetime | None = None,
    incremental: bool = False,
    views: list[str] | None = None,
    lookback: timedelta | None = None,
    progress: ProgressSink | None = None,
    now: Callable[[], datetime] | None = None,
) -> MaterializeResult:
    """Materialize ``[start, end)`` (or, incrementally, from each view's watermark to ``end``)."""
    from fsctl import state as state_module
    from fsctl.offline import connect
    from fsctl.services.audit import actor
    from fsctl.services.retrieve import RegistryObjects
    from fsctl.state.document import RunRecord, watermark_for

    sink = progress or ProgressSink()
    clock = now or (lambda: datetime.now(timezone.utc))
    end = utc(end)
    if start is not None:
        start = utc(start)
        if start >= end:
            raise UsageError(f"START {start.isoformat()} is not before END {end.isoformat()}")
    if end > clock() + timedelta(minutes=5):
        raise UsageError(
            f"END {end.isoformat()} is in the future",
            hint="the watermark would move past rows that have not arrived yet; use the current time or earlier",
        )
    objects = RegistryObjects(project)
    chosen = select_views(objects, views)
    store = project.online_store()
    state_store = project.state()
    snapshot = state_store.read()
    result = MaterializeResult()
    con = connect()
    try:
        for view in chosen:
            fp = data_fingerprint(view, objects)
            run_start = start
            note = ""
            if incremental:
                mark = watermark_for(snapshot, view.name, fp)
                if mark is not None:
                    run_start = mark - (lookback or timedelta(0))
                    note = "from the watermark" + (f" minus the {lookback} lookback" if lookback else "")
                elif view.ttl:
                    run_start = end - timedelta(seconds=view.ttl)
                    note = "no watermark: from END minus the TTL"
                else:
                    run_start, note = None, "no watermark and no TTL: from the earliest event"
            run = ViewRun(view.name, run_start, end, note=note)
            result.runs.append(run)
            if run_start is not None and run_start >= end:
                run.status, run.note = "up-to-date", "the watermark is already at or after END"
                continue
            started = clock()
            timer = time.perf_counter()
            sink.message(f"materializing {view.name}")
            try:
                _load_view(con, project, store, objects, view, run, sink)
                store.sync()  # the rows must be durable before the watermark says they are there
                if not _still_online(project, view.name):
                    # An apply deleted the view (or set online: false) while it loaded: drop the
                    # table it recreated, and record no watermark for a view that is gone.
                    store.drop(project.name, view.name)
                    run.status, run.note = "skipped", "the view was removed by a concurrent apply"
                    continue
            except FsctlError as exc:
                run.status, run.error = "failed", exc.message
            except Exception as exc:  # a source or store failure: record it, keep the watermark
                import duckdb

                if not isinstance(exc, (duckdb.Error, OSError)):
                    raise
                run.status, run.error = "failed", str(exc).splitlines()[0]
            run.seconds = time.perf_counter() - timer
            record = RunRecord(
                run_id=uuid.uuid4().hex[:12],
                view=view.name,
                start=run_start,
                end=end,
                started_at=started,
                finished_at=clock(),
                status="failed" if run.status == "failed" else "succeeded",
                rows_read=run.rows_read,
                keys_written=run.keys_written,
                actor=actor(),
                error=run.error,
            )
            _fault("before-state")
            if run.status == "failed":
                try:
                    state_module.update(
                        state_store, functools.partial(_failure, project=project.name, run=record)
                    )
                except FsctlError:
                    pass  # the run failed already; its error is the one to report
            else:
                snapshot = state_module.update(
                    state_store,
                    functools.partial(
                        _success,
                        project=project.name,
                        view=view.name,
                        start=run_start,
                        end=end,
                        fingerprint=fp,
                        run=record,
                    ),
                )
    finally:
        con.close()
        store.close()
    return result


def _success(snapshot: Any, project: str, **run: Any) -> Any:
    from fsctl.state.document import record_success

    return dataclasses.replace(record_success(snapshot, **run), project=project)


def _still_online(project: Project, view: str) -> bool:
    raw = project.registry.read().objects.get("FeatureView", {}).get(view)
    return raw is not None and bool(raw.get("online", True))


def _failure(snapshot: Any, project: str, run: Any) -> Any:
    from fsctl.state.document import record_failure

    return dataclasses.replace(record_failure(snapshot, run), project=project)


def raise_if_failed(result: MaterializeResult) -> None:
    if result.failed:
        lines = [f"{r.view}: {r.error}" for r in result.failed]
        raise StoreError(
            f"materialization failed for {len(lines)} view{'s' if len(lines) > 1 else ''} "
            "(their watermarks did not move):\n  " + "\n  ".join(lines),
            hint="fix the cause and run the same command again; rows already written are kept",
        )
