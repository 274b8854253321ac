"""The materialization state document: watermark rules, run history, parsing, state URIs.

Everything here is pure: snapshots in, snapshots out, bytes parsed without any store.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fsctl.errors import StoreError, UsageError
from fsctl.registry.memory import MemoryRegistry
from fsctl.state import state_uri_for
from fsctl.state.document import (
    FORMAT_VERSION,
    MAX_PUSHES,
    MAX_RUNS_PER_VIEW,
    PushRecord,
    RunRecord,
    StateSnapshot,
    ViewState,
    dumps,
    empty_state,
    forget_views,
    parse_document,
    record_failure,
    record_pushes,
    record_success,
    watermark_for,
)
from fsctl.state.local import LocalStateStore
from fsctl.state.memory import MemoryStateStore
from fsctl.state.s3 import S3StateStore
from fsctl.storage import parse_location
from fsctl.workspace import STATE_STORES, open_workspace

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
LOCATION = "data/registry.state.json"
STORE = "sqlite:data/online.db"
OTHER_STORE = "redis:localhost:6379/0"


def h(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def run(
    view: str = "stats",
    start: datetime | None = None,
    end: datetime = T0,
    status: str = "succeeded",
    run_id: str = "r",
    error: str | None = None,
    store: str | None = STORE,
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        view=view,
        start=start,
        end=end,
        started_at=h(100),
        finished_at=h(101),
        status=status,  # type: ignore[arg-type]
        rows_read=10,
        keys_written=3,
        actor="ci@host",
        error=error,
        store=store,
    )


def succeed(
    snapshot: StateSnapshot,
    start: datetime | None,
    end: datetime,
    fingerprint: str = "fp1",
    view: str = "stats",
    store: str = STORE,
) -> StateSnapshot:
    return record_success(snapshot, view, start, end, fingerprint, run(view, start, end, store=store))


def loaded(end: datetime = h(10), fingerprint: str = "fp1") -> StateSnapshot:
    """A state where ``stats`` was loaded up to ``end``."""
    return succeed(empty_state(LOCATION, "demo"), None, end, fingerprint)


def watermark(snapshot: StateSnapshot, view: str = "stats", store: str = STORE) -> datetime | None:
    return snapshot.stores[store][view].watermark


# --- watermark rules ---------------------------------------------------------------------


def test_the_first_run_sets_the_watermark() -> None:
    state = succeed(empty_state(LOCATION), h(0), h(10))
    assert watermark(state) == h(10)
    assert state.stores[STORE]["stats"].fingerprint == "fp1"
    assert state.stores[STORE]["stats"].updated_at == h(101)
    assert [r.end for r in state.runs] == [h(10)]


def test_a_view_without_a_watermark_takes_the_end_even_after_a_gap() -> None:
    state = dataclasses.replace(empty_state(LOCATION), stores={STORE: {"stats": ViewState(None, "fp1", h(0))}})
    assert watermark(succeed(state, h(50), h(60))) == h(60)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (h(10), h(20), h(20)),  # exactly contiguous
        (h(5), h(20), h(20)),  # overlapping the loaded range
        (None, h(20), h(20)),  # from the beginning of time
        (h(0), h(11), h(11)),
    ],
    ids=["contiguous", "overlapping", "open-start", "reload-and-extend"],
)
def test_a_contiguous_window_advances_the_watermark(
    start: datetime | None, end: datetime, expected: datetime
) -> None:
    assert watermark(succeed(loaded(h(10)), start, end)) == expected


def test_a_gap_leaves_the_watermark_where_it_is() -> None:
    state = succeed(loaded(h(10)), h(12), h(20))
    assert watermark(state) == h(10)
    assert len(state.runs) == 2  # the run is still recorded
    # the incremental run that fills the gap then moves it past both windows' ends
    assert watermark(succeed(state, h(10), h(30))) == h(30)


@pytest.mark.parametrize(
    ("start", "end"),
    [(h(0), h(5)), (None, h(10)), (h(2), h(10)), (h(10), h(10))],
    ids=["earlier-window", "open-start-same-end", "same-end", "empty-window-at-watermark"],
)
def test_the_watermark_never_moves_backwards(start: datetime | None, end: datetime) -> None:
    before = loaded(h(10))
    after = succeed(before, start, end)
    assert watermark(after) == h(10)
    assert after.stores == before.stores  # the entry is untouched
    assert len(after.runs) == 2


def test_a_changed_fingerprint_starts_afresh() -> None:
    state = loaded(h(10), fingerprint="old")
    assert watermark_for(state, "stats", "old", STORE) == h(10)
    assert watermark_for(state, "stats", "new", STORE) is None

    # the new definition's first run sets the watermark, whatever its window
    later = succeed(state, h(50), h(60), fingerprint="new")
    assert watermark(later) == h(60)
    assert later.stores[STORE]["stats"].fingerprint == "new"
    earlier = succeed(state, h(0), h(5), fingerprint="new")
    assert watermark(earlier) == h(5)
    assert watermark_for(earlier, "stats", "new", STORE) == h(5)
    assert watermark_for(earlier, "stats", "old", STORE) is None


def test_watermark_for_an_unknown_view_is_none() -> None:
    assert watermark_for(loaded(), "other", "fp1", STORE) is None
    assert watermark_for(empty_state(LOCATION), "stats", "fp1", STORE) is None


def test_views_are_independent() -> None:
    state = succeed(loaded(h(10)), None, h(3), view="other")
    assert watermark(state) == h(10)
    assert watermark(state, "other") == h(3)


def test_watermarks_belong_to_the_store_they_were_written_to() -> None:
    state = loaded(h(10))  # loaded into STORE up to 10h
    # another store has no watermark of its own: it starts from scratch
    assert watermark_for(state, "stats", "fp1", OTHER_STORE) is None
    # its first run sets its own watermark and leaves STORE's alone
    state = succeed(state, h(0), h(12), store=OTHER_STORE)
    assert (watermark(state, store=STORE), watermark(state, store=OTHER_STORE)) == (h(10), h(12))
    # a gap in one store does not move the other's
    state = succeed(state, h(20), h(30), store=STORE)
    assert watermark(state, store=STORE) == h(10)
    # switching back resumes from that store's own watermark
    assert watermark_for(state, "stats", "fp1", STORE) == h(10)
    assert [r.store for r in state.runs] == [STORE, OTHER_STORE, STORE]


def test_a_watermark_of_unknown_store_never_counts_and_goes_with_the_first_known_one() -> None:
    legacy = ViewState(h(10), "fp1", h(11))
    state = dataclasses.replace(empty_state(LOCATION, "demo"), views={"stats": legacy, "other": legacy})
    assert watermark_for(state, "stats", "fp1", STORE) is None  # reload rather than risk a gap
    state = succeed(state, None, h(12))
    assert watermark(state) == h(12)
    assert set(state.views) == {"other"}  # the view's legacy entry is gone, the others stay
    assert forget_views(state, {"other"}, STORE).views == {}  # a dropped table forgets it too


def test_a_document_written_before_stores_were_recorded_reads_as_legacy_watermarks() -> None:
    old = {
        "format_version": 1,
        "project": "demo",
        "serial": 4,
        "views": {"stats": {"watermark": "2026-01-01T10:00:00Z", "fingerprint": "fp1", "updated_at": "2026-01-01T11:00:00Z"}},
        "runs": [
            {"run_id": "r", "view": "stats", "start": None, "end": "2026-01-01T10:00:00Z",
             "started_at": "2026-01-01T10:59:00Z", "finished_at": "2026-01-01T11:00:00Z",
             "status": "succeeded", "rows_read": 5, "keys_written": 2, "actor": "cron@host", "error": None},
        ],
    }
    state = parse_document(json.dumps(old), LOCATION)
    assert state.stores == {} and state.views["stats"].watermark == h(10)
    assert state.runs[0].store is None
    assert watermark_for(state, "stats", "fp1", STORE) is None
    again = json.loads(dumps(state))  # written back: the old run keeps its shape, "stores" is added
    assert again["runs"] == old["runs"] and again["views"] == old["views"] and again["stores"] == {}


def test_a_failure_keeps_the_watermark_and_is_recorded() -> None:
    before = loaded(h(10))
    failed = run(start=h(10), end=h(20), status="failed", run_id="boom", error="online store down")
    after = record_failure(before, failed)
    assert after.stores == before.stores
    assert after.runs[-1] == failed
    assert after.runs[-1].error == "online store down"
    assert len(after.runs) == 2


def test_runs_must_match_the_record_function() -> None:
    with pytest.raises(ValueError):
        record_failure(loaded(), run(status="succeeded"))
    with pytest.raises(ValueError):
        record_success(loaded(), "stats", None, h(20), "fp1", run(status="failed"))
    with pytest.raises(ValueError):
        record_success(loaded(), "stats", None, h(20), "fp1", run(view="other"))
    with pytest.raises(ValueError, match="naming its store"):
        record_success(loaded(), "stats", None, h(20), "fp1", run(store=None))
    with pytest.raises(ValueError):
        run(status="maybe")


def test_the_update_functions_do_not_mutate_their_input() -> None:
    before = loaded(h(10))
    stores, runs = {k: dict(v) for k, v in before.stores.items()}, list(before.runs)
    succeed(before, h(10), h(20))
    succeed(before, h(10), h(20), store=OTHER_STORE)
    record_failure(before, run(status="failed"))
    forget_views(before, {"stats"}, STORE)
    assert before.stores == stores and before.runs == runs


def test_run_history_is_capped_per_view_newest_last() -> None:
    state = empty_state(LOCATION)
    for n in range(MAX_RUNS_PER_VIEW + 25):
        state = record_success(
            state, "stats", h(n), h(n + 1), "fp1", run(start=h(n), end=h(n + 1), run_id=f"r{n}")
        )
    assert len(state.runs) == MAX_RUNS_PER_VIEW == 50
    assert state.runs[0].run_id == "r25"
    assert state.runs[-1].run_id == f"r{MAX_RUNS_PER_VIEW + 24}"
    assert watermark(state) == h(MAX_RUNS_PER_VIEW + 25)


def test_forget_views_drops_deleted_views_and_keeps_history() -> None:
    state = succeed(succeed(loaded(), None, h(3), view="a"), None, h(4), view="b")
    kept = forget_views(state, {"a", "never-loaded"}, STORE)
    assert set(kept.stores[STORE]) == {"stats", "b"}
    assert kept.runs == state.runs
    assert forget_views(state, {"never-loaded"}, STORE) is state  # nothing to forget: unchanged
    assert forget_views(state, {"a"}, OTHER_STORE) is state  # nothing of it in that store


def test_forget_views_forgets_only_in_the_store_whose_tables_were_dropped() -> None:
    state = succeed(loaded(h(10)), None, h(7), store=OTHER_STORE)
    after = forget_views(state, {"stats"}, STORE)
    assert STORE not in after.stores  # an emptied store leaves no entry
    assert watermark(after, store=OTHER_STORE) == h(7)


def test_times_are_utc_and_naive_ones_are_refused() -> None:
    plus_two = timezone(timedelta(hours=2))
    record = run(start=datetime(2026, 1, 1, 2, tzinfo=plus_two), end=h(5))
    assert record.start == T0 and record.start.tzinfo == timezone.utc
    with pytest.raises(ValueError, match="timezone-aware"):
        run(end=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        record_success(empty_state(LOCATION), "stats", None, datetime(2026, 1, 2), "fp1", run())


# --- the stored document -----------------------------------------------------------------


def full_state() -> StateSnapshot:
    state = loaded(h(10))
    state = record_failure(state, run(start=h(10), end=h(20), status="failed", error="boom"))
    state = dataclasses.replace(
        state, stores={STORE: {**state.stores[STORE], "fresh": ViewState(None, "fp9", h(1) + timedelta(microseconds=5))}}
    )
    state = succeed(state, None, h(4), store=OTHER_STORE)
    # A watermark recorded before stores were (format 1 without "stores"): kept as read.
    state = dataclasses.replace(state, views={"legacy": ViewState(h(2), "fp0", h(3))})
    return dataclasses.replace(state, serial=3)


def test_roundtrip() -> None:
    state = full_state()
    raw = dumps(state)
    parsed = parse_document(raw, LOCATION, token="etag")
    assert parsed == dataclasses.replace(state, token="etag")
    assert dumps(parsed) == raw


def test_document_shape() -> None:
    document = json.loads(dumps(full_state()))
    assert document["format_version"] == FORMAT_VERSION == 1
    assert (document["project"], document["serial"]) == ("demo", 3)
    assert document["stores"][STORE]["stats"] == {
        "watermark": "2026-01-01T10:00:00Z",
        "fingerprint": "fp1",
        "updated_at": "2026-01-05T05:00:00Z",
    }
    assert document["stores"][STORE]["fresh"]["watermark"] is None
    assert document["stores"][STORE]["fresh"]["updated_at"] == "2026-01-01T01:00:00.000005Z"
    assert document["stores"][OTHER_STORE]["stats"]["watermark"] == "2026-01-01T04:00:00Z"
    assert document["views"] == {
        "legacy": {"watermark": "2026-01-01T02:00:00Z", "fingerprint": "fp0", "updated_at": "2026-01-01T03:00:00Z"}
    }
    assert document["runs"][0] == {
        "run_id": "r",
        "view": "stats",
        "start": None,
        "end": "2026-01-01T10:00:00Z",
        "started_at": "2026-01-05T04:00:00Z",
        "finished_at": "2026-01-05T05:00:00Z",
        "status": "succeeded",
        "rows_read": 10,
        "keys_written": 3,
        "actor": "ci@host",
        "error": None,
        "store": STORE,
    }
    assert document["runs"][1]["status"] == "failed"
    assert document["runs"][1]["error"] == "boom"


def test_unknown_keys_are_ignored() -> None:
    document = json.loads(dumps(full_state()))
    document["added_later"] = {"x": 1}
    document["stores"][STORE]["stats"]["also_new"] = True
    document["runs"][0]["new_field"] = [1]
    assert parse_document(json.dumps(document), LOCATION).stores[STORE]["stats"].watermark == h(10)


def test_offsets_in_a_stored_document_are_converted_to_utc() -> None:
    document = json.loads(dumps(full_state()))
    document["stores"][STORE]["stats"]["watermark"] = "2026-01-01T12:00:00+02:00"
    assert parse_document(json.dumps(document), LOCATION).stores[STORE]["stats"].watermark == h(10)


def push(view: str = "stats", push_id: str = "p1", newest: datetime | None = None) -> PushRecord:
    return PushRecord(
        push_id=push_id,
        view=view,
        via="push:stats_source",
        rows=3,
        keys=2,
        keys_written=1,
        newest_event=newest or h(11),
        pushed_at=h(12),
        client="127.0.0.1:5000",
    )


def test_pushes_are_recorded_apart_from_runs_and_move_no_watermark() -> None:
    state = full_state()
    pushed = record_pushes(state, [push(), push("fresh", "p2")])
    assert pushed.views == state.views and pushed.runs == state.runs
    assert [p.push_id for p in pushed.pushes] == ["p1", "p2"]
    document = json.loads(dumps(pushed))
    assert document["pushes"][0] == {
        "push_id": "p1",
        "view": "stats",
        "via": "push:stats_source",
        "rows": 3,
        "keys": 2,
        "keys_written": 1,
        "newest_event": "2026-01-01T11:00:00Z",
        "pushed_at": "2026-01-01T12:00:00Z",
        "client": "127.0.0.1:5000",
        "store": None,
    }
    assert parse_document(dumps(pushed), LOCATION) == dataclasses.replace(pushed, token=None)
    # A document without pushes (every one written before they existed) has no such key.
    assert "pushes" not in json.loads(dumps(state))
    many = record_pushes(pushed, [push(push_id=f"q{i}") for i in range(MAX_PUSHES)])
    assert len(many.pushes) == MAX_PUSHES and many.pushes[-1].push_id == f"q{MAX_PUSHES - 1}"


@pytest.mark.parametrize(
    ("field", "value"), [("rows", "3"), ("pushed_at", None), ("newest_event", "soon"), ("view", None)]
)
def test_a_malformed_push_entry_is_a_store_error(field: str, value: object) -> None:
    document = json.loads(dumps(record_pushes(full_state(), [push()])))
    if value is None:
        del document["pushes"][0][field]
    else:
        document["pushes"][0][field] = value
    with pytest.raises(StoreError, match="a push entry is malformed"):
        parse_document(json.dumps(document), LOCATION)
    with pytest.raises(StoreError, match="'pushes' is not a list"):
        parse_document(json.dumps({**document, "pushes": {}}), LOCATION)


GOOD = json.loads(dumps(full_state()))


def broken(path: tuple[str | int, ...], value: object) -> bytes:
    document = json.loads(json.dumps(GOOD))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(document).encode()


CORRUPT = {
    "not-json": b"{ this is not json",
    "truncated": dumps(full_state())[:120],
    "empty": b"",
    "binary": b"\x00\xff\xfe\x01",
    "list": b"[1, 2]",
    "no-format-version": b'{"project": "demo", "serial": 1, "views": {}, "runs": []}',
    "serial-zero": broken(("serial",), 0),
    "serial-text": broken(("serial",), "3"),
    "project-missing": broken(("project",), None),
    "views-list": broken(("views",), []),
    "runs-object": broken(("runs",), {}),
    "view-not-object": broken(("stores", STORE, "stats"), 5),
    "view-no-fingerprint": broken(("stores", STORE, "stats", "fingerprint"), None),
    "bad-watermark": broken(("stores", STORE, "stats", "watermark"), "yesterday"),
    "naive-watermark": broken(("stores", STORE, "stats", "watermark"), "2026-01-01T00:00:00"),
    "numeric-time": broken(("stores", STORE, "stats", "updated_at"), 12),
    "legacy-view-not-object": broken(("views", "legacy"), 5),
    "stores-list": broken(("stores",), []),
    "store-not-object": broken(("stores", STORE), "stats"),
    "run-not-object": broken(("runs", 0), "r"),
    "run-bad-status": broken(("runs", 0, "status"), "maybe"),
    "run-no-end": broken(("runs", 0, "end"), None),
    "run-rows-text": broken(("runs", 0, "rows_read"), "10"),
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_a_document_that_does_not_parse_is_a_store_error(content: bytes) -> None:
    with pytest.raises(StoreError) as info:
        parse_document(content, LOCATION)
    message = str(info.value)
    assert LOCATION in message
    assert "never overwrites" in message
    error = info.value  # no chained traceback behind the message
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_newer_format_is_refused() -> None:
    content = broken(("format_version",), FORMAT_VERSION + 1)
    with pytest.raises(StoreError) as info:
        parse_document(content, LOCATION)
    message = str(info.value)
    assert LOCATION in message and str(FORMAT_VERSION + 1) in message
    assert "upgrade fsctl" in message and "never overwritten" in message


# --- where the state lives ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("registry", "state"),
    [
        ("data/registry.json", "data/registry.state.json"),
        ("/abs/reg.json", "/abs/reg.state.json"),
        ("data/registry", "data/registry.state.json"),
        ("s3://bucket/prefix/registry.json", "s3://bucket/prefix/registry.state.json"),
        ("s3://bucket/registry", "s3://bucket/registry.state.json"),
    ],
)
def test_state_uri_for(registry: str, state: str) -> None:
    assert state_uri_for(registry) == state


def repo_with(root: Path, registry: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fsctl.yaml").write_text(f"project: demo\nregistry: '{registry}'\n")
    return root


def test_the_workspace_opens_the_state_beside_the_registry(tmp_path: Path) -> None:
    local = open_workspace(repo_with(tmp_path / "repo", "data/registry.json")).state()
    assert isinstance(local, LocalStateStore)
    assert local.path == tmp_path / "repo" / "data" / "registry.state.json"
    elsewhere = str(tmp_path / "elsewhere" / "r.json")
    absolute = open_workspace(repo_with(tmp_path / "nowhere", elsewhere)).state()
    assert isinstance(absolute, LocalStateStore)
    assert absolute.path == tmp_path / "elsewhere" / "r.state.json"
    s3 = open_workspace(repo_with(tmp_path / "s3", "s3://bucket/teams/demo/registry.json")).state()
    assert isinstance(s3, S3StateStore)
    assert (s3.location, s3.bucket, s3.key) == (
        "s3://bucket/teams/demo/registry.state.json",
        "bucket",
        "teams/demo/registry.state.json",
    )

    with pytest.raises(UsageError):
        open_workspace(tmp_path / "repo", "ftp://host/registry.json").state()


def test_the_state_table_builds_each_kind_from_a_location(tmp_path: Path) -> None:
    def build(registry_uri: str, base: Path) -> object:
        location = parse_location(state_uri_for(registry_uri), base, "materialization state")
        adapter = STATE_STORES[location.scheme]
        return adapter.attribute(adapter.factory)(location)

    local = build("data/registry.json", tmp_path)
    assert isinstance(local, LocalStateStore)
    assert local.path == tmp_path / "data" / "registry.state.json"
    absolute = build(str(tmp_path / "elsewhere" / "r.json"), Path("/nowhere"))
    assert isinstance(absolute, LocalStateStore)
    assert absolute.path == tmp_path / "elsewhere" / "r.state.json"
    s3 = build("s3://bucket/registry.json", tmp_path)
    assert isinstance(s3, S3StateStore) and s3.location == "s3://bucket/registry.state.json"

    with pytest.raises(UsageError):
        parse_location(state_uri_for("ftp://host/registry.json"), tmp_path, "materialization state")


def test_an_injected_state_store_is_used_as_it_is_and_never_shared(tmp_path: Path) -> None:
    root = repo_with(tmp_path, "data/registry.json")
    memory = MemoryStateStore("memory://unit-open-state")
    assert open_workspace(root, state=memory).state() is memory
    assert open_workspace(root, state=memory).state() is memory
    other = open_workspace(root).state()  # nothing process-global: a fresh workspace opens its own
    assert other is not memory and isinstance(other, LocalStateStore)
    assert open_workspace(root, state=MemoryStateStore()).state() is not memory
    beside = open_workspace(root, MemoryRegistry()).state()  # an injected registry alone
    assert isinstance(beside, LocalStateStore) and beside.path == root / "data" / "registry.state.json"
