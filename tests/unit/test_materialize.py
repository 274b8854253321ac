"""Materialization in-process (DESIGN.md section 3, "Materialization"): the latest row per key
in a half-open window, the never-older rule, incremental windows and watermarks, view
selection and refusals, per-view failures, and the online tables apply and teardown manage.

Each test writes a small repo (local registry, sqlite online store, parquet sources) in its
own temp folder and checks the online store by reading it directly.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.diff.plan import Override
from fsctl.errors import StoreError, UsageError
from fsctl.online.base import OnlineRecord
from fsctl.online.views import online_view
from fsctl.render.materialize import materialize_text
from fsctl.results.materialize import MaterializeResult, ViewRun
from fsctl.services import materialize as materialize_module
from fsctl.services.apply import apply_definitions, apply_saved, teardown
from fsctl.services.catalog import Catalog
from fsctl.services.materialize import ProgressSink, raise_if_failed
from fsctl.services.plan import make_plan, save_plan
from fsctl.workspace import Workspace, open_workspace
from tests.support.online_ports import apply_repo, publisher, read_records, run_materialize

UTC = timezone.utc
T0 = datetime(2025, 6, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MakeRepo = Callable[..., Path]
Row = tuple[int, datetime, "datetime | None", float, int]  # driver_id, event, created, conv_rate, trips


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


CONFIG = "project: mat\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"
ENTITY = "kind: Entity\nname: driver\njoin_keys: [driver_id]\n"


def source_yaml(name: str = "stats_src", path: str = "data/stats.parquet", extra: str = "") -> str:
    return (
        f"kind: FileSource\nname: {name}\npath: {path}\ntimestamp_field: event_timestamp\n"
        f"created_timestamp_field: created\n{extra}"
    )


def view_yaml(
    name: str = "stats",
    source: str = "stats_src",
    ttl: str | None = "1d",
    online: bool = True,
    features: Sequence[tuple[str, str]] = (("conv_rate", "float64"), ("trips", "int64")),
    extra: str = "",
) -> str:
    schema = "".join(f"  - {{name: {n}, dtype: {d}}}\n" for n, d in features)
    return (
        f"kind: FeatureView\nname: {name}\nentities: [driver]\nsource: {source}\n"
        + (f"ttl: {ttl}\n" if ttl else "")
        + f"online: {'true' if online else 'false'}\n{extra}schema:\n{schema}"
    )


def defs(*docs: str) -> str:
    return "---\n".join(docs)


def write_rows(path: Path, rows: Sequence[Row], drop: Sequence[str] = ()) -> None:
    """A parquet source with columns driver_id, event_timestamp, created, conv_rate, trips
    (and acc_rate = conv_rate / 2), minus ``drop``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    columns = {
        "driver_id": pa.array([r[0] for r in rows], pa.int64()),
        "event_timestamp": pa.array([r[1] for r in rows], ts),
        "created": pa.array([r[2] for r in rows], ts),
        "conv_rate": pa.array([r[3] for r in rows], pa.float64()),
        "acc_rate": pa.array([r[3] / 2 for r in rows], pa.float64()),
        "trips": pa.array([r[4] for r in rows], pa.int64()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({k: v for k, v in columns.items() if k not in drop}), path)


def expected_latest(
    rows: Sequence[Row], start: datetime | None, end: datetime
) -> dict[int, tuple[datetime, float, int]]:
    """Brute force: per key, the row with the latest (event, created) in [start, end); a null
    created time loses to any real one."""
    best: dict[int, Row] = {}

    def order(r: Row) -> tuple[datetime, int, datetime]:
        return (r[1], 0 if r[2] is None else 1, r[2] or EPOCH)

    for r in rows:
        if r[1] >= end or (start is not None and r[1] < start):
            continue
        if r[0] not in best or order(r) > order(best[r[0]]):
            best[r[0]] = r
    return {k: (r[1], r[3], r[4]) for k, r in best.items()}


def workspace(root: Path, **ports: Any) -> Workspace:
    """The repo's workspace (configured ports, or ``ports`` injected); close it after use."""
    return open_workspace(root, **ports)


def apply(root: Path, **ports: Any) -> int:
    return apply_repo(root, **ports).version_after


def read_online(root: Path, keys: Sequence[int], view: str = "stats") -> dict[int, OnlineRecord]:
    """The stored record of each key that has one, read straight from the online store."""
    keys = list(keys)
    with workspace(root) as ws:
        records = read_records(ws, view, [(k,) for k in keys])
    return {k: r for k, r in zip(keys, records, strict=True) if r is not None}


def as_values(records: dict[int, OnlineRecord]) -> dict[int, tuple[datetime, float, int]]:
    return {
        k: (EPOCH + timedelta(microseconds=r.event_ts), r.values["conv_rate"], r.values["trips"])
        for k, r in records.items()
    }


def state_views(root: Path) -> dict[str, Any]:
    """The views' states in the repo's configured online store."""
    with workspace(root) as ws:
        return dict(ws.state().read().stores.get(ws.project.online_store, {}))


def watermark(root: Path, view: str = "stats") -> datetime | None:
    state = state_views(root).get(view)
    return None if state is None else state.watermark


def run_of(result: MaterializeResult, view: str = "stats") -> ViewRun:
    (run,) = [r for r in result.runs if r.view == view]
    return run


def mat(root: Path, end: datetime, **kwargs: Any) -> MaterializeResult:
    with workspace(root) as ws:
        return run_materialize(ws, end, **kwargs)


def text_of(*runs: ViewRun) -> str:
    return materialize_text(MaterializeResult(list(runs)))


def online_views(root: Path, project: str) -> set[str]:
    with workspace(root) as ws:
        return ws.online_store().views(project)


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    root = make_repo({"fsctl.yaml": CONFIG, "defs.yaml": defs(ENTITY, source_yaml(), view_yaml())})
    return root


# --- what a window loads -------------------------------------------------------------------


def test_latest_row_per_key_with_created_tie_break(repo: Path) -> None:
    rows: list[Row] = [
        (1, h(1), h(1), 0.1, 1),
        (1, h(5), h(5), 0.2, 2),  # latest event of key 1 ...
        (1, h(5), h(6), 0.3, 3),  # ... and the latest created among the two at h(5): wins
        (1, h(3), h(9), 0.4, 4),  # created late but an older event: loses
        (2, h(4), None, 0.5, 5),  # same event time, null created: loses
        (2, h(4), h(4), 0.6, 6),
        (3, h(2), None, 0.7, 7),  # only null created times: the latest event wins
        (3, h(7), None, 0.8, 8),
        (4, h(30), h(30), 0.9, 9),  # outside the window only: no record
    ]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    result = mat(repo, h(24), start=h(0))
    run = run_of(result)
    assert (run.status, run.rows_read, run.keys, run.keys_written) == ("succeeded", 8, 3, 3)
    got = as_values(read_online(repo, [1, 2, 3, 4]))
    assert got == {1: (h(5), 0.3, 3), 2: (h(4), 0.6, 6), 3: (h(7), 0.8, 8)}
    assert got == expected_latest(rows, h(0), h(24))
    record = read_online(repo, [1])[1]
    assert record.created_ts == us(h(6))


def test_window_is_half_open(repo: Path) -> None:
    rows: list[Row] = [
        (1, h(0), h(0), 0.1, 1),  # at START: included
        (2, h(0) - timedelta(microseconds=1), None, 0.2, 2),  # just before START: excluded
        (2, h(3), None, 0.3, 3),
        (3, h(10), None, 0.4, 4),  # at END: excluded
        (3, h(10) - timedelta(microseconds=1), None, 0.5, 5),  # just before END: included
    ]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    run = run_of(mat(repo, h(10), start=h(0)))
    assert (run.rows_read, run.keys, run.keys_written) == (3, 3, 3)
    got = as_values(read_online(repo, [1, 2, 3]))
    assert got == {1: (h(0), 0.1, 1), 2: (h(3), 0.3, 3), 3: (h(10) - timedelta(microseconds=1), 0.5, 5)}
    # Consecutive windows never overlap: the row at h(10) belongs to the next one.
    nxt = run_of(mat(repo, h(20), start=h(10)))
    assert (nxt.rows_read, nxt.keys_written) == (1, 1)
    assert as_values(read_online(repo, [3]))[3] == (h(10), 0.4, 4)


def test_an_older_window_never_overwrites_newer_values(repo: Path) -> None:
    rows: list[Row] = [(k, h(2), None, 0.1 * k, k) for k in range(1, 6)]
    rows += [(k, h(30), None, 0.9, 100 + k) for k in range(1, 4)]  # keys 1-3 have newer rows
    rows += [(k, h(-5), None, 0.0, -k) for k in range(1, 4)]  # and older ones
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    newer = run_of(mat(repo, h(48), start=h(24)))
    assert newer.keys_written == 3
    older = run_of(mat(repo, h(24), start=h(0)))
    assert (older.keys, older.keys_written) == (5, 2)  # keys 4 and 5 are new; 1-3 kept newer
    assert older.to_dict()["keys_kept_newer"] == 3
    assert "written 2, kept newer 3" in text_of(older)
    got = as_values(read_online(repo, [1, 2, 3, 4, 5]))
    assert got == {**{k: (h(30), 0.9, 100 + k) for k in (1, 2, 3)}, 4: (h(2), 0.4, 4), 5: (h(2), 0.5, 5)}
    again = run_of(mat(repo, h(24), start=h(0)))  # the same window again: same records
    assert again.to_dict()["keys_kept_newer"] == 3
    assert as_values(read_online(repo, [1, 2, 3, 4, 5])) == got
    oldest = run_of(mat(repo, h(0), start=h(-24)))  # only keys that hold newer values
    assert (oldest.rows_read, oldest.keys, oldest.keys_written, oldest.keys_kept_newer) == (3, 3, 0, 3)
    assert "written 0, kept newer 3" in text_of(oldest)
    assert as_values(read_online(repo, [1, 2, 3, 4, 5])) == got


# --- incremental windows and watermarks ----------------------------------------------------


def test_incremental_default_window_is_end_minus_ttl(repo: Path) -> None:
    rows: list[Row] = [(1, h(-30), None, 0.1, 1), (2, h(-20), None, 0.2, 2), (2, h(-30), None, 0.3, 3)]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    run = run_of(mat(repo, h(0), incremental=True))
    assert run.start == h(-24) and run.end == h(0)
    assert "END minus the TTL" in run.note
    assert (run.rows_read, run.keys_written) == (1, 1)
    assert as_values(read_online(repo, [1, 2])) == {2: (h(-20), 0.2, 2)}
    assert watermark(repo) == h(0)


def test_incremental_without_ttl_starts_at_the_earliest_event(make_repo: MakeRepo) -> None:
    root = make_repo({"fsctl.yaml": CONFIG, "defs.yaml": defs(ENTITY, source_yaml(), view_yaml(ttl=None))})
    rows: list[Row] = [(1, h(-1000), None, 0.1, 1), (2, h(-1), None, 0.2, 2), (3, h(1), None, 0.3, 3)]
    write_rows(root / "data/stats.parquet", rows)
    apply(root)
    run = run_of(mat(root, h(0), incremental=True))
    assert run.start is None and "earliest" in run.note
    assert (run.rows_read, run.keys_written) == (2, 2)
    assert as_values(read_online(root, [1, 2, 3])) == expected_latest(rows, None, h(0))
    assert watermark(root) == h(0)


def test_incremental_continues_from_the_watermark(repo: Path) -> None:
    rows: list[Row] = [(k, h(-k), None, 0.1, k) for k in range(1, 5)]  # before the first END
    rows += [(1, h(2), None, 0.5, 50), (5, h(3), None, 0.6, 60), (6, h(13), None, 0.7, 70)]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    first = run_of(mat(repo, h(0), incremental=True))
    assert (first.start, first.keys_written) == (h(-24), 4)
    second = run_of(mat(repo, h(12), incremental=True))
    assert second.start == h(0) and second.note == "from the watermark"
    assert (second.rows_read, second.keys_written) == (2, 2)  # only rows in [h(0), h(12))
    assert watermark(repo) == h(12)
    assert as_values(read_online(repo, range(1, 7))) == expected_latest(rows, None, h(12))
    # A run ending at the watermark has nothing to do and leaves it.
    same = run_of(mat(repo, h(12), incremental=True))
    assert same.status == "up-to-date"
    assert watermark(repo) == h(12)
    # --lookback re-reads before the watermark.
    back = run_of(mat(repo, h(14), incremental=True, lookback=timedelta(hours=12)))
    assert back.start == h(0) and "lookback" in back.note
    # The rows at h(2) and h(3) are read again and re-stored unchanged (an equal record is
    # replaced: re-running a window is idempotent); h(13) is new.
    assert (back.rows_read, back.keys_written) == (3, 3)
    assert as_values(read_online(repo, range(1, 7))) == expected_latest(rows, None, h(14))
    assert watermark(repo) == h(14)


@pytest.mark.parametrize("change", ["schema", "source"])
def test_a_data_definition_change_restarts_from_end_minus_ttl(repo: Path, change: str) -> None:
    rows: list[Row] = [(1, h(-2), None, 0.1, 1), (1, h(5), None, 0.2, 2)]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    mat(repo, h(0), incremental=True)
    assert watermark(repo) == h(0)
    if change == "schema":
        view = view_yaml(features=(("conv_rate", "float64"), ("trips", "int64"), ("acc_rate", "float64")))
        source = source_yaml()
    else:
        shutil.copy(repo / "data/stats.parquet", repo / "data/stats_v2.parquet")
        view, source = view_yaml(), source_yaml(path="data/stats_v2.parquet")
    (repo / "defs.yaml").write_text(defs(ENTITY, source, view))
    # a new path is breaking (the view reads other data): it needs saying so
    apply_repo(repo, overrides=(Override("stats_src", "moved to the v2 export"),) if change != "schema" else ())
    assert watermark(repo) == h(0)  # stored, but no longer counts
    run = run_of(mat(repo, h(12), incremental=True))
    assert run.start == h(12) - timedelta(days=1), run.note
    assert "no watermark" in run.note
    assert watermark(repo) == h(12)


def test_a_metadata_only_change_keeps_the_watermark(repo: Path) -> None:
    write_rows(repo / "data/stats.parquet", [(1, h(-2), None, 0.1, 1), (1, h(5), None, 0.2, 2)])
    apply(repo)
    mat(repo, h(0), incremental=True)
    view = view_yaml(extra="description: Driver stats\nowner: team@example.com\ntags: {tier: gold}\n")
    (repo / "defs.yaml").write_text(defs(ENTITY, source_yaml(extra="description: the trips table\n"), view))
    assert apply(repo) == 2
    run = run_of(mat(repo, h(12), incremental=True))
    assert run.start == h(0) and run.note == "from the watermark"
    assert (run.rows_read, run.keys_written) == (1, 1)
    assert watermark(repo) == h(12)


def test_materialize_leaves_the_registry_version_and_saved_plans_alone(repo: Path, tmp_path: Path) -> None:
    write_rows(repo / "data/stats.parquet", [(1, h(1), None, 0.1, 1)])
    apply(repo)
    (repo / "more.yaml").write_text("kind: Entity\nname: customer\njoin_keys: [customer_id]\n")
    with workspace(repo) as ws:
        plan, _ = make_plan(ws.project, ws.registry_reader())
    plan_file = tmp_path / "plan.json"
    save_plan(plan, plan_file)
    registry_bytes = (repo / "data/registry.json").read_bytes()
    mat(repo, h(2), start=h(0))
    mat(repo, h(4), incremental=True)
    with workspace(repo) as ws:
        assert ws.registry().read().version == 1
    assert (repo / "data/registry.json").read_bytes() == registry_bytes
    assert (repo / "data/registry.state.json").exists()  # the state lives beside the registry
    with workspace(repo) as ws:
        result = apply_saved(ws.project, publisher(ws), plan_file)
    assert (result.version_before, result.version_after) == (1, 2)
    assert watermark(repo) == h(4)


# --- choosing views and refusing bad requests ----------------------------------------------


@pytest.fixture
def three_views(make_repo: MakeRepo) -> Path:
    files = {
        "fsctl.yaml": CONFIG,
        "defs.yaml": defs(
            ENTITY,
            source_yaml(),
            view_yaml("a"),
            view_yaml("b"),
            view_yaml("offline_only", online=False),
        ),
    }
    root = make_repo(files)
    write_rows(root / "data/stats.parquet", [(1, h(1), None, 0.1, 1), (2, h(2), None, 0.2, 2)])
    apply(root)
    return root


def test_all_online_views_by_default_and_views_selects(three_views: Path) -> None:
    everything = mat(three_views, h(4), start=h(0))
    assert [r.view for r in everything.runs] == ["a", "b"]  # the offline view is not materialized
    only_b = mat(three_views, h(8), incremental=True, views=["b"])
    assert [r.view for r in only_b.runs] == ["b"]
    assert watermark(three_views, "b") == h(8)
    assert watermark(three_views, "a") == h(4)


def test_views_naming_an_unknown_or_offline_view_is_refused(three_views: Path) -> None:
    with pytest.raises(UsageError, match="feature view 'nope' is not in the registry") as unknown:
        mat(three_views, h(4), start=h(0), views=["a", "nope"])
    assert "nope" in str(unknown.value)
    with pytest.raises(UsageError, match="did you mean 'a'"):
        mat(three_views, h(4), start=h(0), views=["aa"])
    with pytest.raises(UsageError, match="'offline_only' is not online"):
        mat(three_views, h(4), start=h(0), views=["offline_only"])
    # Refused before anything ran: no watermark anywhere.
    assert state_views(three_views) == {}


def test_end_in_the_future_is_refused(repo: Path) -> None:
    write_rows(repo / "data/stats.parquet", [(1, h(1), None, 0.1, 1)])
    apply(repo)
    now = h(10)
    with pytest.raises(UsageError, match="is in the future"):
        mat(repo, h(11), start=h(0), now=lambda: now)
    with pytest.raises(UsageError, match="is in the future"):
        mat(repo, h(11), incremental=True, now=lambda: now)
    assert state_views(repo) == {}
    run = run_of(mat(repo, h(10), start=h(0), now=lambda: now))  # END = now is fine
    assert run.keys_written == 1


@pytest.mark.parametrize("start", [h(5), h(6)])
def test_start_not_before_end_is_refused(repo: Path, start: datetime) -> None:
    write_rows(repo / "data/stats.parquet", [(1, h(1), None, 0.1, 1)])
    apply(repo)
    with pytest.raises(UsageError, match="is not before END"):
        mat(repo, h(5), start=start)


# --- failures: recorded per view, watermark kept -------------------------------------------


def test_a_missing_source_fails_that_view_only(make_repo: MakeRepo) -> None:
    files = {
        "fsctl.yaml": CONFIG,
        "defs.yaml": defs(
            ENTITY,
            source_yaml(),
            source_yaml("gone_src", "data/gone.parquet"),
            view_yaml("a_broken", source="gone_src"),
            view_yaml("b_fine"),
        ),
    }
    root = make_repo(files)
    write_rows(root / "data/stats.parquet", [(1, h(1), None, 0.1, 1)])
    write_rows(root / "data/gone.parquet", [(1, h(1), None, 0.1, 1)])
    apply(root)
    mat(root, h(2), incremental=True)
    assert watermark(root, "a_broken") == h(2)
    (root / "data/gone.parquet").unlink()
    result = mat(root, h(4), incremental=True)
    broken, fine = run_of(result, "a_broken"), run_of(result, "b_fine")
    assert broken.status == "failed" and fine.status == "succeeded"
    assert broken.error is not None
    assert "source 'gone_src'" in broken.error and "gone.parquet" in broken.error
    assert watermark(root, "a_broken") == h(2)
    assert watermark(root, "b_fine") == h(4)
    with pytest.raises(StoreError) as failed:
        raise_if_failed(result)
    assert "materialization failed for 1 view " in failed.value.message
    assert "a_broken: cannot read source 'gone_src'" in failed.value.message
    with workspace(root) as ws:
        runs = ws.state().read().runs
    assert runs[-2].status == "failed" and runs[-2].view == "a_broken" and runs[-2].error == broken.error


def test_a_source_that_lost_a_feature_column_fails_clearly(repo: Path) -> None:
    rows: list[Row] = [(1, h(1), None, 0.1, 1)]
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    mat(repo, h(2), incremental=True)
    write_rows(repo / "data/stats.parquet", [*rows, (1, h(3), None, 0.2, 2)], drop=["trips"])
    run = run_of(mat(repo, h(4), incremental=True))
    assert run.status == "failed" and run.error is not None
    assert "view 'stats'" in run.error and "no column 'trips'" in run.error and "feature 'trips'" in run.error
    assert watermark(repo) == h(2)
    assert as_values(read_online(repo, [1])) == {1: (h(1), 0.1, 1)}


class FailingStore:
    """A store that accepts ``accept`` batches, then fails like an unreachable server."""

    location = "broken://store"

    def __init__(self, inner: Any, accept: int) -> None:
        self.inner, self.accept = inner, accept

    def _batch(self) -> None:
        if self.accept == 0:
            raise StoreError("online store broken://store: connection refused")
        self.accept -= 1

    def write(self, view: Any, records: Any) -> int:
        self._batch()
        return int(self.inner.write(view, records))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_store_failing_part_way_reports_what_was_written_not_kept_newer(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialize_module, "BATCH_SIZE", 3)
    write_rows(repo / "data/stats.parquet", [(k, h(1), None, 0.5, k) for k in range(10)])
    apply(repo)
    with workspace(repo) as real:
        with workspace(repo, online=FailingStore(real.online_store(), accept=2)) as ws:
            run = run_of(run_materialize(ws, h(2), start=h(0)))
    assert (run.status, run.keys, run.keys_written) == ("failed", 10, 6)
    assert run.error == "online store broken://store: connection refused"
    # The 4 keys left unwritten were not "kept newer": the store never saw them.
    assert run.to_dict()["keys_kept_newer"] == 0
    assert "kept newer" not in text_of(run)
    assert watermark(repo) is None
    monkeypatch.undo()
    assert len(read_online(repo, range(10))) == 6


def test_the_store_is_synced_before_the_watermark_moves(repo: Path) -> None:
    """A commit that a power loss could still undo must not be covered by a watermark."""
    write_rows(repo / "data/stats.parquet", [(k, h(1), None, 0.5, k) for k in range(5)])
    apply(repo)
    events: list[str] = []

    class SyncSpy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def write(self, view: Any, records: Any) -> int:
            events.append("write")
            return int(self.inner.write(view, records))

        def sync(self) -> None:
            events.append("sync")
            self.inner.sync()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    class StateSpy:
        def __init__(self, inner: Any) -> None:
            self.inner, self.location = inner, inner.location

        def read(self) -> Any:
            return self.inner.read()

        def write(self, new: Any, expected: Any) -> Any:
            events.append("watermark")
            return self.inner.write(new, expected)

    with workspace(repo) as real:
        spied = workspace(repo, online=SyncSpy(real.online_store()), state=StateSpy(real.state()))
        with spied as ws:
            assert run_of(run_materialize(ws, h(2), start=h(0))).status == "succeeded"
    assert events == ["write", "sync", "watermark"]


# --- online tables follow apply and teardown -----------------------------------------------


def test_apply_creates_and_drops_tables_and_forgets_watermarks(three_views: Path) -> None:
    assert online_views(three_views, "mat") == {"a", "b"}
    mat(three_views, h(4), incremental=True)
    assert watermark(three_views, "a") == h(4) and watermark(three_views, "b") == h(4)
    # "a" goes offline, "b" is deleted, "offline_only" comes online.
    (three_views / "defs.yaml").write_text(
        defs(ENTITY, source_yaml(), view_yaml("a", online=False), view_yaml("offline_only"))
    )
    with workspace(three_views) as ws:
        plan, _ = make_plan(ws.project, ws.registry_reader())
    assert set(plan.online_changes) == {("drop", "a"), ("drop", "b"), ("create", "offline_only")}
    apply(three_views)
    assert online_views(three_views, "mat") == {"offline_only"}
    assert state_views(three_views).keys() == set()
    # Back online: loaded afresh, from END minus the TTL.
    (three_views / "defs.yaml").write_text(defs(ENTITY, source_yaml(), view_yaml("a")))
    apply(three_views)
    assert read_online(three_views, [1, 2], "a") == {}  # its old records went with the table
    run = run_of(mat(three_views, h(8), incremental=True), "a")
    assert run.start == h(8) - timedelta(days=1) and "no watermark" in run.note
    assert as_values(read_online(three_views, [1, 2], "a")) == {1: (h(1), 0.1, 1), 2: (h(2), 0.2, 2)}


def test_dropping_a_view_keeps_a_watermark_recorded_meanwhile(three_views: Path) -> None:
    """apply forgets the dropped views' watermarks by compare-and-swap on the state, so a
    materialize of another view landing between its read and its write is not lost."""
    mat(three_views, h(4), incremental=True, views=["a"])

    class RacingState:
        """The state store, with a materialize of view b landing right after the first read."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.location, self.raced = inner, inner.location, False

        def read(self) -> Any:
            snapshot = self.inner.read()
            if not self.raced:
                self.raced = True
                # The racing materialize uses its own workspace, with the real state store.
                assert run_of(mat(three_views, h(4), incremental=True, views=["b"]), "b").keys == 2
            return snapshot

        def write(self, new: Any, expected: Any) -> Any:
            return self.inner.write(new, expected)

    (three_views / "defs.yaml").write_text(
        defs(ENTITY, source_yaml(), view_yaml("b"), view_yaml("offline_only", online=False))
    )
    with workspace(three_views) as real:
        apply(three_views, state=RacingState(real.state()))  # drops view a
    assert watermark(three_views, "a") is None
    assert watermark(three_views, "b") == h(4)


def test_teardown_drops_every_table_and_watermark(three_views: Path) -> None:
    mat(three_views, h(4), incremental=True)
    with workspace(three_views) as ws:
        result = teardown(ws.project, publisher(ws))
    assert result.version_after == result.version_before + 1
    assert online_views(three_views, "mat") == set()
    assert state_views(three_views) == {}


# --- bounded batches -----------------------------------------------------------------------


class CountingSink(ProgressSink):
    def __init__(self) -> None:
        self.batches: list[int] = []
        self.started: list[tuple[str, int, int]] = []

    def start_view(self, view: str, keys: int, rows: int) -> None:
        self.started.append((view, keys, rows))

    def advance(self, view: str, keys: int) -> None:
        self.batches.append(keys)


def test_rows_are_written_in_bounded_batches(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materialize_module, "BATCH_SIZE", 7)
    rows: list[Row] = [(k, h(1 + k % 3), h(k % 5), k / 100, k) for k in range(100)]
    rows += [(k, h(0.5), None, -1.0, -1) for k in range(0, 100, 2)]  # older rows of half the keys
    write_rows(repo / "data/stats.parquet", rows)
    apply(repo)
    sink = CountingSink()
    run = run_of(mat(repo, h(10), start=h(0), progress=sink))
    assert sink.started == [("stats", 100, 150)]
    assert sink.batches == [7] * 14 + [2]
    assert (run.keys, run.keys_written) == (100, 100)
    assert as_values(read_online(repo, range(100))) == expected_latest(rows, h(0), h(10))


def test_csv_times_with_offsets_are_read_as_utc_for_events_and_timestamp_features(make_repo: MakeRepo) -> None:
    """A CSV source whose event times and a timestamp feature carry a +02:00 offset: the
    window and the stored value are in UTC (DuckDB must not drop the offset)."""
    csv = (
        "driver_id,event_timestamp,created,last_trip\n"
        "1,2025-06-01T01:30:00+02:00,2025-06-01T01:31:00+02:00,2025-05-31T23:00:00+02:00\n"
        "2,2025-06-01T02:30:00+02:00,2025-06-01T02:31:00+02:00,2025-06-01T00:00:00+02:00\n"
    )
    repo = make_repo(
        {
            "fsctl.yaml": CONFIG,
            "defs.yaml": defs(
                ENTITY,
                source_yaml(path="data/stats.csv", extra="format: csv\n"),
                view_yaml(ttl=None, features=[("last_trip", "timestamp")]),
            ),
            "data/stats.csv": csv,
        }
    )
    ws = workspace(repo)
    try:
        apply_definitions(ws.project, publisher(ws))
        # 01:30+02:00 is 23:30 UTC the day before: inside [T0 - 1h, T0); 02:30+02:00 is 00:30 UTC: after END.
        result = run_materialize(ws, T0, start=T0 - timedelta(hours=1))
        raise_if_failed(result)
        assert result.runs[0].keys_written == 1
        objects = Catalog(ws.project, ws.registry_reader())
        view = objects.view("stats")
        target = online_view("mat", view, {"driver": objects.get("Entity", "driver", "entity")})
        record = ws.online_store().read(target, [(1,)])[0]
    finally:
        ws.close()
    assert record is not None
    assert record.event_ts == us(datetime(2025, 5, 31, 23, 30, tzinfo=UTC))
    assert record.values["last_trip"] == datetime(2025, 5, 31, 21, 0, tzinfo=UTC)
