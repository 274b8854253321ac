"""One contract for every materialization state store (memory, local file, S3 over HTTP).

A missing document reads as empty with no token; writes are compare-and-swap on the
document that was read; a lost race raises ConflictError and writes nothing; concurrent
first writes have exactly one winner; a document that does not parse (or has a newer
format) is an error naming it and is left byte for byte as it was; and ``update`` never
loses a concurrent writer's runs or watermarks, across threads and (local) processes.

To add an implementation, add a ``StateKind`` to ``KINDS``: ``make`` returns a fresh store
with no document, ``same`` a second, independent handle on the same document (as another
process would open it), ``plant`` stores raw bytes behind the store's back and ``stored``
returns the stored bytes (None when there are none).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import ConflictError, FsctlError, StoreError
from fsctl.state import update
from fsctl.state.document import (
    FORMAT_VERSION,
    RunRecord,
    StateSnapshot,
    dumps,
    empty_state,
    record_success,
    watermark_for,
)
from fsctl.state.local import LocalStateStore
from fsctl.state.memory import MemoryStateStore
from fsctl.state.s3 import S3StateStore
from tests.support.s3 import endpoint_env, free_port

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StateKind:
    id: str
    make: Callable[[Path, pytest.FixtureRequest], Any]
    same: Callable[[Any], Any]
    plant: Callable[[Any, bytes], None]
    stored: Callable[[Any], bytes | None]


def _local_plant(store: LocalStateStore, data: bytes) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(data)


def _memory_plant(store: MemoryStateStore, data: bytes) -> None:
    store.data = data


def _s3_make(tmp: Path, request: pytest.FixtureRequest) -> S3StateStore:
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    return S3StateStore(f"s3://{bucket}/teams/demo/registry.state.json", client=server.client())


def _s3_plant(store: S3StateStore, data: bytes) -> None:
    store.client.put_object(Bucket=store.bucket, Key=store.key, Body=data)


def _s3_stored(store: S3StateStore) -> bytes | None:
    try:
        return bytes(store.client.get_object(Bucket=store.bucket, Key=store.key)["Body"].read())
    except store.client.exceptions.NoSuchKey:
        return None


KINDS = [
    StateKind(
        id="memory",
        make=lambda tmp, request: MemoryStateStore("memory://contract.state"),
        same=lambda store: store,  # one process: the object is the store
        plant=_memory_plant,
        stored=lambda store: store.data,
    ),
    StateKind(
        id="local",
        make=lambda tmp, request: LocalStateStore(tmp / "data" / "registry.state.json"),
        same=lambda store: LocalStateStore(store.path),
        plant=_local_plant,
        stored=lambda store: store.path.read_bytes() if store.path.exists() else None,
    ),
    StateKind(
        id="s3",
        make=_s3_make,
        same=lambda store: S3StateStore(store.location, client=store.client),
        plant=_s3_plant,
        stored=_s3_stored,
    ),
]


@pytest.fixture(params=KINDS, ids=[k.id for k in KINDS])
def kind(request: pytest.FixtureRequest) -> StateKind:
    return request.param


@pytest.fixture
def store(kind: StateKind, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return kind.make(tmp_path, request)


# --- helpers -----------------------------------------------------------------------------


STORE = "sqlite:data/online.db"  # the online store every run here writes to


def h(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def make_run(view: str, start: datetime | None, end: datetime, run_id: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        view=view,
        start=start,
        end=end,
        started_at=end,
        finished_at=end + timedelta(minutes=1),
        status="succeeded",
        rows_read=1,
        keys_written=1,
        actor="contract",
        store=STORE,
    )


def loaded(snapshot: StateSnapshot, view: str, end: datetime, run_id: str = "r") -> StateSnapshot:
    """``snapshot`` plus a successful run loading ``view`` up to ``end``, for project demo."""
    start = watermark_for(snapshot, view, "fp", STORE)
    snapshot = dataclasses.replace(snapshot, project="demo")
    return record_success(snapshot, view, start, end, "fp", make_run(view, start, end, run_id))


def advance(view: str, run_id: str) -> Callable[[StateSnapshot], StateSnapshot]:
    """A change that loads one more hour of ``view``, contiguous with its watermark."""

    def change(snapshot: StateSnapshot) -> StateSnapshot:
        start = watermark_for(snapshot, view, "fp", STORE) or T0
        return loaded(snapshot, view, start + timedelta(hours=1), run_id)

    return change


def content(snapshot: StateSnapshot) -> tuple[str, dict[str, Any], list[Any]]:
    return snapshot.project, snapshot.stores, snapshot.runs


def marks(snapshot: StateSnapshot) -> dict[str, Any]:
    """The views' states in STORE."""
    return snapshot.stores.get(STORE, {})


# --- reading and writing -----------------------------------------------------------------


def test_a_missing_document_reads_as_empty(store: Any, kind: StateKind) -> None:
    snapshot = store.read()
    assert snapshot == empty_state(store.location)
    assert (snapshot.token, snapshot.serial, snapshot.views, snapshot.stores, snapshot.runs) == (None, 0, {}, {}, [])
    assert not snapshot.exists
    assert snapshot.location == store.location
    assert kind.stored(store) is None  # reading creates nothing


def test_write_then_read(store: Any, kind: StateKind) -> None:
    empty = store.read()
    first = loaded(empty, "stats", h(10))
    written = store.write(first, empty)
    assert written.serial == 1 and written.token is not None and written.exists
    again = store.read()
    assert content(again) == content(first)
    assert (again.serial, again.token) == (1, written.token)
    assert marks(again)["stats"].watermark == h(10)

    second = store.write(loaded(again, "stats", h(20)), again)
    other = kind.same(store).read()
    assert (other.serial, other.token) == (2, second.token)
    assert marks(other)["stats"].watermark == h(20)
    assert [r.end for r in other.runs] == [h(10), h(20)]
    assert kind.stored(store) == dumps(other)


def test_a_stale_write_is_a_conflict_and_writes_nothing(store: Any, kind: StateKind) -> None:
    empty = store.read()
    store.write(loaded(empty, "stats", h(10), "winner"), empty)
    before = kind.stored(store)

    with pytest.raises(ConflictError) as info:
        store.write(loaded(empty, "stats", h(99), "loser"), empty)  # expected: no document
    assert store.location in str(info.value)
    assert kind.stored(store) == before

    stale = store.read()
    store.write(loaded(stale, "other", h(1), "winner-2"), stale)
    before = kind.stored(store)
    with pytest.raises(ConflictError):
        store.write(loaded(stale, "stats", h(99), "loser-2"), stale)
    assert kind.stored(store) == before
    final = store.read()
    assert [r.run_id for r in final.runs] == ["winner", "winner-2"]
    assert final.serial == 2


THREADS = 8


def test_first_writes_racing_have_one_winner(store: Any, kind: StateKind) -> None:
    handles = [kind.same(store) for _ in range(THREADS)]
    empty = store.read()
    barrier = threading.Barrier(THREADS)
    wins: list[str] = []
    losses: list[BaseException] = []

    def attempt(i: int) -> None:
        new = loaded(empty, "stats", h(i + 1), f"t{i}")
        barrier.wait()
        try:
            handles[i].write(new, empty)
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            losses.append(exc)
        else:
            wins.append(f"t{i}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(wins) == 1, (wins, losses)
    assert len(losses) == THREADS - 1
    assert all(isinstance(e, ConflictError) for e in losses), [repr(e) for e in losses]
    final = store.read()
    assert final.serial == 1
    assert [r.run_id for r in final.runs] == wins


# --- documents that must never be overwritten --------------------------------------------

NEWER = (
    b'{"format_version": ' + str(FORMAT_VERSION + 1).encode() + b', "project": "demo", "serial": 4, '
    b'"views": {}, "runs": [], "something": "new"}'
)
BAD = {
    "not-json": b"{ this is not json",
    "empty": b"",
    "other-json": b'{"format_version": 1, "objects": {}}',
    "binary": b"\x00\xff\xfe\x01",
    "newer-format": NEWER,
}


@pytest.mark.parametrize("data", list(BAD.values()), ids=list(BAD))
def test_a_bad_document_is_an_error_and_left_untouched(store: Any, kind: StateKind, data: bytes) -> None:
    kind.plant(store, data)

    with pytest.raises(StoreError) as info:
        store.read()
    assert store.location in str(info.value)
    if data is NEWER:
        assert "upgrade fsctl" in str(info.value)

    with pytest.raises(StoreError):
        update(store, advance("stats", "r"))

    empty = empty_state(store.location)
    guessed = dataclasses.replace(empty, token="1", serial=1)
    for expected in (empty, guessed):
        with pytest.raises(FsctlError):  # StoreError, or ConflictError where the write is conditional
            store.write(loaded(expected, "stats", h(1)), expected)
    assert kind.stored(store) == data


# --- update: read, change, compare-and-swap, retry ---------------------------------------

ROUNDS = 5


def _run_threads(target: Callable[[int], None], count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_updates_of_different_views_lose_nothing(store: Any, kind: StateKind) -> None:
    handles = [kind.same(store) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def work(i: int) -> None:
        barrier.wait()
        for n in range(ROUNDS):
            update(handles[i], advance(f"view{i}", f"view{i}-{n}"))

    assert _run_threads(work, THREADS) == []
    final = store.read()
    assert len(final.runs) == THREADS * ROUNDS == 40
    assert final.serial == THREADS * ROUNDS
    assert {name: state.watermark for name, state in marks(final).items()} == {
        f"view{i}": h(ROUNDS) for i in range(THREADS)
    }
    for i in range(THREADS):  # each view's runs are in order, contiguous
        assert [r.run_id for r in final.runs if r.view == f"view{i}"] == [
            f"view{i}-{n}" for n in range(ROUNDS)
        ]


def test_concurrent_updates_of_one_view_lose_nothing(store: Any, kind: StateKind) -> None:
    workers = 4
    handles = [kind.same(store) for _ in range(workers)]
    barrier = threading.Barrier(workers)

    def work(i: int) -> None:
        barrier.wait()
        for n in range(ROUNDS):
            update(handles[i], advance("stats", f"w{i}-{n}"))

    assert _run_threads(work, workers) == []
    final = store.read()
    assert len(final.runs) == workers * ROUNDS
    assert marks(final)["stats"].watermark == h(workers * ROUNDS)  # every hour loaded once, in order
    assert [r.end for r in final.runs] == [h(n + 1) for n in range(workers * ROUNDS)]


def test_an_update_that_changes_nothing_writes_nothing(store: Any, kind: StateKind) -> None:
    update(store, advance("stats", "r"))
    before = kind.stored(store)
    result = update(store, lambda snapshot: snapshot)
    assert result.serial == 1
    assert kind.stored(store) == before


def test_update_returns_what_was_stored(store: Any) -> None:
    result = update(store, advance("stats", "r"))
    assert result == store.read()


class AlwaysMoving:
    """A store where another writer always gets there first."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.location = inner.location
        self.writes = 0

    def read(self) -> StateSnapshot:
        return self.inner.read()

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        self.writes += 1
        current = self.inner.read()
        self.inner.write(loaded(current, "intruder", h(self.writes)), current)
        return self.inner.write(new, expected)


def test_update_gives_up_with_a_clear_message(store: Any) -> None:
    moving = AlwaysMoving(store)
    with pytest.raises(ConflictError) as info:
        update(moving, advance("stats", "never"), attempts=3)
    assert moving.writes == 3
    assert store.location in str(info.value) and "3 attempts" in str(info.value)
    assert "stats" not in marks(store.read())


# --- local files: several processes, temp files ------------------------------------------

PROCESSES = 4


def _advance_in_process(path: str, view: str, go: Any) -> None:
    """Run in a spawned process: advance ``view`` ROUNDS times through its own store handle."""
    store = LocalStateStore(Path(path))
    go.wait(60)
    for n in range(ROUNDS):
        update(store, advance(view, f"{view}-{n}"))


def test_concurrent_updates_from_processes_lose_nothing(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / "data" / "registry.state.json")
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    procs = [
        context.Process(target=_advance_in_process, args=(str(store.path), f"p{i}", go))
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    try:
        time.sleep(0.3)
        go.set()
        for p in procs:
            p.join(timeout=120)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    final = store.read()
    assert len(final.runs) == PROCESSES * ROUNDS
    assert final.serial == PROCESSES * ROUNDS
    assert {name: s.watermark for name, s in marks(final).items()} == {
        f"p{i}": h(ROUNDS) for i in range(PROCESSES)
    }
    assert leftovers(store) == []


def leftovers(store: LocalStateStore) -> list[str]:
    return sorted(
        p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")
    )


def test_local_document_is_readable_json_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / "a" / "b" / "registry.state.json")  # creates its folder
    for n in range(3):
        update(store, advance("stats", f"r{n}"))
    stale = empty_state(store.location)
    with pytest.raises(ConflictError):
        store.write(loaded(stale, "stats", h(1)), stale)
    text = store.path.read_text(encoding="utf-8")
    assert '"serial": 3' in text and text.count('"run_id"') == 3
    assert leftovers(store) == []


def test_local_lock_held_too_long_is_a_clear_timeout_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    import fsctl.storage.local as local_module

    store = LocalStateStore(tmp_path / "registry.state.json")
    update(store, advance("stats", "r0"))
    monkeypatch.setattr(local_module, "LOCK_TIMEOUT_SECONDS", 0.2)
    with FileLock(str(store.path) + ".lock"), pytest.raises(StoreError) as caught:
        update(store, advance("stats", "r1"))
    assert caught.value.message == f"timed out after 0s waiting for the lock {store.path}.lock"
    assert store.read().serial == 1


# --- S3 that cannot be used --------------------------------------------------------------


@pytest.fixture
def aws_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], None]:
    """Point the default AWS chain at ``endpoint`` only (no profile or config of this machine)."""

    def use(endpoint: str) -> None:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in endpoint_env(endpoint).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))

    return use


def assert_clean(error: BaseException) -> None:
    """A user error with a hint and no chained traceback."""
    assert isinstance(error, StoreError)
    assert error.hint
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_s3_bucket_missing(s3_server: Any, aws_only: Callable[[str], None]) -> None:
    aws_only(s3_server.endpoint)
    store = S3StateStore("s3://fsctl-no-such-bucket/teams/demo/registry.state.json")  # its own client
    for action in (store.read, lambda: update(store, advance("stats", "r"))):
        with pytest.raises(StoreError) as info:
            action()
        assert_clean(info.value)
        message = str(info.value)
        assert "s3://fsctl-no-such-bucket/teams/demo/registry.state.json" in message
        assert "does not exist" in message and "materialization state" in message
    names = [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]
    assert "fsctl-no-such-bucket" not in names


def test_s3_endpoint_down_fails_fast(aws_only: Callable[[str], None]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    aws_only(endpoint)
    store = S3StateStore("s3://bucket/teams/demo/registry.state.json")
    began = time.monotonic()
    with pytest.raises(StoreError) as info:
        update(store, advance("stats", "r"))
    assert time.monotonic() - began < 10
    assert_clean(info.value)
    message = str(info.value)
    assert "s3://bucket/teams/demo/registry.state.json" in message
    assert endpoint in message and "cannot be reached" in message
    assert "AWS_ENDPOINT_URL" in str(info.value.hint)
