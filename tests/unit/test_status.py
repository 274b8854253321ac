"""The status service in-process, with real ports (local registry and state, sqlite online
store, DuckDB over parquet) and a fixed clock: how it judges freshness (the age of the newest
*online data*, at the boundary too), where that age comes from (runs, pushes, or the
watermark for runs recorded before runs kept a newest event), and the findings that only
the state document can produce (a changed definition, a dropped table, a run that read rows
but wrote none). The end-to-end cases (fresh, stale, never run, failed, zero rows) run the
CLI in tests/cli/test_status_cli.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl import state as state_module
from fsctl.errors import UsageError
from fsctl.render.status import status_text
from fsctl.results.status import StatusReport, ViewStatus
from fsctl.services.status import status
from fsctl.state.document import PushRecord, record_pushes
from fsctl.workspace import open_workspace
from tests.support.online_ports import apply_repo, run_materialize

UTC = timezone.utc
T0 = datetime(2025, 6, 1, tzinfo=UTC)
CONFIG = "project: st\nregistry: data/registry.json\nonline_store: {type: sqlite, path: data/online.db}\n"


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def defs(freshness: str | None = "2h", dtype: str = "float64") -> str:
    return (
        "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n"
        "kind: FileSource\nname: src\npath: data/stats.parquet\ntimestamp_field: event_timestamp\n---\n"
        "kind: FeatureView\nname: stats\nentities: [driver]\nsource: src\nttl: 7d\n"
        + (f"freshness: {freshness}\n" if freshness else "")
        + f"schema:\n  - {{name: conv_rate, dtype: {dtype}}}\n"
    )


def write_rows(root: Path, rows: Sequence[tuple[int, datetime]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "driver_id": pa.array([k for k, _ in rows], pa.int64()),
        "event_timestamp": pa.array([t for _, t in rows], pa.timestamp("us", tz="UTC")),
        "conv_rate": pa.array([k / 10 for k, _ in rows], pa.float64()),
    })  # fmt: skip
    pq.write_table(table, root / "data/stats.parquet")


ROWS = [(1, h(-5)), (2, h(-3)), (1, h(-1))]  # the newest event: h(-1)


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo({"fsctl.yaml": CONFIG, "defs.yaml": defs()})
    write_rows(root, ROWS)
    apply_repo(root)
    return root


def materialize(root: Path, end: datetime, **options: Any) -> None:
    with open_workspace(root) as ws:
        run_materialize(ws, end, now=lambda: end, **options)


def report(root: Path, at: datetime, views: list[str] | None = None) -> StatusReport:
    with open_workspace(root) as ws:
        return status(
            ws.project, ws.registry_reader(), ws.state(), ws.online_store(), ws.offline_engine(), views=views, now=lambda: at
        )


def one(root: Path, at: datetime) -> ViewStatus:
    (view,) = report(root, at).views
    return view


def codes(view: ViewStatus) -> list[str]:
    return [f.code for f in view.findings]


def change_state(root: Path, change: Callable[[Any], Any]) -> None:
    with open_workspace(root) as ws:
        state_module.update(ws.state(), change)


def test_freshness_is_the_age_of_the_newest_online_event_with_the_limit_inclusive(repo: Path) -> None:
    materialize(repo, h(0))
    at_limit = one(repo, h(1))  # the newest event, h(-1), is exactly 2h old
    assert (at_limit.fresh, at_limit.findings, at_limit.age_basis) == (True, (), "runs")
    assert at_limit.newest_event == h(-1) and at_limit.age_seconds == 7200
    assert at_limit.watermark == h(0) and at_limit.source_newest_event == h(-1)
    late = one(repo, h(1) + timedelta(seconds=1))
    assert (late.fresh, codes(late)) == (False, ["stale"])
    assert "the source has no newer rows either" in (late.findings[0].fix or "")
    assert report(repo, h(1) + timedelta(seconds=1)).exit_code == 1


def test_a_recent_watermark_does_not_make_old_data_fresh(repo: Path) -> None:
    """The job ran a minute ago, but the newest data it found is 5h old: stale."""
    materialize(repo, h(0))
    materialize(repo, h(4), incremental=True)  # no rows in [h(0), h(4))
    view = one(repo, h(4) + timedelta(minutes=1))
    assert view.watermark == h(4) and view.newest_event == h(-1)
    assert codes(view) == ["stale"] and not view.fresh
    assert view.last_run is not None and (view.last_run.rows_read, view.last_run.keys_written) == (0, 0)


def test_a_source_ahead_of_the_store_says_what_to_run(repo: Path) -> None:
    materialize(repo, h(-2))  # loads h(-5) and h(-3) only
    view = one(repo, h(2))
    assert view.newest_event == h(-3) and view.source_newest_event == h(-1)
    (finding,) = view.findings
    assert finding.code == "stale"
    assert finding.fix == (
        "run `fsctl materialize-incremental 2025-06-01T02:00:00Z --views stats` "
        "(the source has rows up to 2025-05-31T23:00:00Z)"
    )


def test_pushed_rows_count_as_online_data(repo: Path) -> None:
    materialize(repo, h(0))
    with open_workspace(repo) as ws:
        store = ws.project.online_store
    push = PushRecord("p1", "stats", "push:src", 1, 1, 1, h(3), h(3), "127.0.0.1", store)
    change_state(repo, lambda s: record_pushes(s, [push]))
    view = one(repo, h(4))
    assert (view.newest_event, view.age_basis, view.fresh) == (h(3), "pushes", True)


def test_runs_recorded_before_the_newest_event_was_kept_are_judged_by_the_watermark(repo: Path) -> None:
    materialize(repo, h(0))

    def forget_newest(s: Any) -> Any:  # what an older fsctl wrote: no newest_event anywhere
        stores = {k: {n: dataclasses.replace(v, newest_event=None) for n, v in views.items()} for k, views in s.stores.items()}
        return dataclasses.replace(s, stores=stores, runs=[dataclasses.replace(r, newest_event=None) for r in s.runs])

    change_state(repo, forget_newest)
    view = one(repo, h(1))  # the watermark h(0) is 1h old
    assert (view.newest_event, view.age_basis, view.age_seconds, view.fresh) == (None, "watermark", 3600, True)
    stale = one(repo, h(3))
    assert codes(stale) == ["stale"] and "judged by the watermark" in stale.findings[0].message
    assert "DATA AGE" in status_text(report(repo, h(3))) and "* judged by the watermark" in status_text(report(repo, h(3)))


def test_a_store_with_no_rows_of_the_view_is_a_problem(repo: Path) -> None:
    materialize(repo, h(-20), start=h(-30))  # a window without rows
    view = one(repo, h(0))
    assert view.newest_event is None and codes(view) == ["no-data"] and not view.fresh


def test_a_changed_definition_needs_a_new_materialization(repo: Path) -> None:
    materialize(repo, h(0))
    (repo / "defs.yaml").write_text(defs(dtype="float32"))

    apply_repo(repo)
    view = one(repo, h(0))
    assert codes(view) == ["definition-changed"] and view.watermark is None and not view.fresh
    assert "fsctl materialize-incremental 2025-06-01T00:00:00Z --views stats" in (view.findings[0].fix or "")


def test_a_dropped_table_is_a_problem(repo: Path) -> None:
    materialize(repo, h(0))
    with open_workspace(repo) as ws:
        ws.online_store().drop("st", "stats")
    assert "no-table" in codes(one(repo, h(0)))


def test_a_run_that_read_rows_but_wrote_none_is_a_warning(repo: Path) -> None:
    materialize(repo, h(0))
    with open_workspace(repo) as ws:  # newer values already stored for every key
        from fsctl.online.base import OnlineRecord
        from tests.support.online_ports import target_view, write_records

        newer = int((h(10) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
        write_records(ws.online_store(), target_view(ws, "stats"), [OnlineRecord((k,), newer, None, {"conv_rate": 0.0}) for k in (1, 2)])
    materialize(repo, h(0), start=h(-10))  # re-loads the window: every key keeps its newer value
    view = one(repo, h(0))
    assert view.last_run is not None and (view.last_run.rows_read, view.last_run.keys_written) == (3, 0)
    assert codes(view) == ["zero-rows"] and view.findings[0].severity == "warning"
    assert "wrote no keys" in view.findings[0].message
    assert report(repo, h(0)).exit_code == 0


def test_views_are_chosen_like_materialize_chooses_them(repo: Path) -> None:
    materialize(repo, h(0))
    assert [v.name for v in report(repo, h(0), ["stats"]).views] == ["stats"]
    with pytest.raises(UsageError, match="not in"):
        report(repo, h(0), ["nope"])
    with pytest.raises(UsageError, match="empty --views"):
        report(repo, h(0), [])


def test_materialize_records_the_newest_event_it_wrote(repo: Path) -> None:
    materialize(repo, h(-2))
    materialize(repo, h(0))
    with open_workspace(repo) as ws:
        snapshot = ws.state().read()
        view_state = snapshot.view_state(ws.project.online_store, "stats")
    assert [r.newest_event for r in snapshot.runs] == [h(-3), h(-1)]
    assert view_state is not None and view_state.newest_event == h(-1)


def test_the_text_is_one_screen_with_aligned_columns(repo: Path) -> None:
    import re

    materialize(repo, h(-2))
    text = status_text(report(repo, h(2)))
    text = re.sub(r"last run \w+ (\w+) at (\S+) by \S+:", r"last run ID \1 at \2 by ACTOR:", text)
    text = re.sub(r"\d+\.\ds", "T.Ts", text)
    assert text == (
        "st: 1 online view in sqlite:data/online.db, at 2025-06-01T02:00:00Z\n"
        "\n"
        "VIEW   STATUS  FRESHNESS  DATA AGE  SOURCE AGE  LAST RUN          ROWS READ  KEYS WRITTEN  TOOK  FAILURES\n"
        "stats  STALE   2h         5h        3h          succeeded 4h ago          2             2  T.Ts         0\n"
        "\n"
        "stats: newest online event 2025-05-31T21:00:00Z, source newest event 2025-05-31T23:00:00Z, watermark 2025-05-31T22:00:00Z\n"
        "  last run ID succeeded at 2025-05-31T22:00:00Z by ACTOR: window [earliest, 2025-05-31T22:00:00Z), "
        "2 rows read, 2 keys written in T.Ts\n"
        "  problem: stale: its newest online event, 2025-05-31T21:00:00Z, is 5h old, over its freshness 2h\n"
        "    fix: run `fsctl materialize-incremental 2025-06-01T02:00:00Z --views stats` "
        "(the source has rows up to 2025-05-31T23:00:00Z)\n"
        "\n"
        "1 of 1 views need attention: stats (exit 1)."
    )
