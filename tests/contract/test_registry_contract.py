"""One contract for every registry implementation.

Every registry (local file, in-memory, and later S3) must pass the same suite: a missing
registry reads as version 0; writes are compare-and-swap on the version read; a lost race
raises ConflictError and changes nothing; every version stays readable; concurrent first
writes have exactly one winner.

To add an implementation, add a ``RegistryKind`` to ``KINDS`` below: ``make(tmp_path, name)``
returns a fresh, empty registry, and ``same(registry)`` returns a second, independent handle
on the same stored document (as another process would open it). Storage-level tests that
only make sense for files (corruption, temp files, several processes) use ``local_registry``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import ConflictError, CorruptRegistryError, RegistryError
from fsctl.registry.document import FORMAT_VERSION, RegistrySnapshot, VersionInfo, empty_snapshot
from fsctl.registry.local import LocalRegistry
from fsctl.registry.memory import MemoryRegistry
from fsctl.registry.s3 import S3Registry

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RegistryKind:
    id: str
    make: Callable[[Path, str, pytest.FixtureRequest], Any]
    same: Callable[[Any], Any]


def _s3(tmp: Path, name: str, request: pytest.FixtureRequest) -> S3Registry:
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    return S3Registry(f"s3://{bucket}/registries/{name}/registry.json", client=server.client())


KINDS = [
    RegistryKind(
        id="local",
        make=lambda tmp, name, request: LocalRegistry(tmp / name / "registry.json"),
        same=lambda reg: LocalRegistry(reg.path),
    ),
    RegistryKind(
        id="memory",
        make=lambda tmp, name, request: MemoryRegistry(f"memory://{name}"),
        same=lambda reg: reg,  # one process: the object is the store
    ),
    RegistryKind(
        id="s3",
        make=_s3,
        same=lambda reg: S3Registry(reg.location, client=reg.client),
    ),
]


@pytest.fixture(params=KINDS, ids=[k.id for k in KINDS])
def registry_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """``registry_factory(name="r")`` -> a fresh, empty registry of the parametrized kind."""
    kind: RegistryKind = request.param

    def make(name: str = "r") -> Any:
        return kind.make(tmp_path, name, request)

    make.kind = kind  # type: ignore[attr-defined]
    return make


@pytest.fixture
def registry(registry_factory: Callable[..., Any]) -> Any:
    return registry_factory()


@pytest.fixture
def local_registry(tmp_path: Path) -> LocalRegistry:
    return LocalRegistry(tmp_path / "reg" / "registry.json")


# --- helpers -----------------------------------------------------------------------------


def objects_for(tag: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "Entity": {
            "driver": {"kind": "Entity", "name": "driver", "join_keys": [f"id_{tag}"], "description": tag}
        },
    }


def next_of(snapshot: RegistrySnapshot, tag: str, project: str = "demo") -> RegistrySnapshot:
    info = VersionInfo(
        version=snapshot.version + 1,
        applied_at=f"2026-01-0{min(snapshot.version + 1, 9)}T00:00:00Z",
        actor=f"actor-{tag}",
        commit=f"commit-{tag}",
        plan_hash=f"hash-{tag}",
        summary={"add": 1},
    )
    return snapshot.next(objects_for(tag), info, project)


def write_next(registry: Any, tag: str) -> RegistrySnapshot:
    current = registry.read()
    new = next_of(current, tag)
    registry.write(new, current)
    return new


# --- reading -----------------------------------------------------------------------------


def test_missing_registry_reads_as_version_zero(registry: Any) -> None:
    snapshot = registry.read()
    assert snapshot.version == 0
    assert snapshot.objects == {}
    assert snapshot.history == ()
    assert not snapshot.exists
    assert snapshot.location == registry.location


def test_reading_a_missing_registry_creates_nothing(local_registry: LocalRegistry) -> None:
    local_registry.read()
    assert not local_registry.path.exists()


@pytest.mark.parametrize("version", [0, 1, -1])
def test_read_version_of_an_empty_registry_is_an_error(registry: Any, version: int) -> None:
    with pytest.raises(RegistryError):
        registry.read_version(version)


# --- writing -----------------------------------------------------------------------------


def test_write_version_1_then_2(registry: Any) -> None:
    write_next(registry, "one")
    first = registry.read()
    assert (first.version, first.project, first.objects) == (1, "demo", objects_for("one"))
    assert first.exists

    write_next(registry, "two")
    second = registry.read()
    assert (second.version, second.objects) == (2, objects_for("two"))
    assert [h.version for h in second.history] == [1, 2]
    assert [h.actor for h in second.history] == ["actor-one", "actor-two"]


def test_a_second_handle_sees_the_writes(registry_factory: Callable[..., Any]) -> None:
    registry = registry_factory()
    write_next(registry, "one")
    other = registry_factory.kind.same(registry)  # type: ignore[attr-defined]
    assert other.read().version == 1
    write_next(other, "two")
    assert registry.read().objects == objects_for("two")


def test_snapshots_are_independent_of_the_store(registry: Any) -> None:
    write_next(registry, "one")
    snapshot = registry.read()
    snapshot.objects["Entity"]["driver"]["description"] = "mutated"
    snapshot.objects["Entity"]["intruder"] = {}
    assert registry.read().objects == objects_for("one")


def test_history_metadata_is_kept(registry: Any) -> None:
    for tag in ("one", "two", "three"):
        write_next(registry, tag)
    history = registry.read().history
    assert [h.to_dict() for h in history] == [
        {
            "version": n,
            "applied_at": f"2026-01-0{n}T00:00:00Z",
            "actor": f"actor-{tag}",
            "commit": f"commit-{tag}",
            "plan_hash": f"hash-{tag}",
            "summary": {"add": 1},
        }
        for n, tag in ((1, "one"), (2, "two"), (3, "three"))
    ]


def test_read_version_returns_old_versions(registry: Any) -> None:
    for tag in ("one", "two", "three"):
        write_next(registry, tag)
    for n, tag in ((1, "one"), (2, "two"), (3, "three")):
        document = registry.read_version(n)
        assert document["version"] == n
        assert document["objects"] == objects_for(tag)
        assert document["project"] == "demo"
        assert document["format_version"] == FORMAT_VERSION
        assert document["actor"] == f"actor-{tag}"
        assert [h["version"] for h in document["history"]] == list(range(1, n + 1))
    with pytest.raises(RegistryError):
        registry.read_version(4)
    with pytest.raises(RegistryError):
        registry.read_version(0)


def test_compare_and_swap_conflict_changes_nothing(registry: Any) -> None:
    stale = registry.read()
    write_next(registry, "winner")
    before = registry.read()
    with pytest.raises(ConflictError) as info:
        registry.write(next_of(stale, "loser"), stale)
    assert "version" in str(info.value)
    after = registry.read()
    assert after == before
    assert after.objects == objects_for("winner")
    assert registry.read_version(1)["objects"] == objects_for("winner")


def test_conflict_on_a_later_version(registry: Any) -> None:
    write_next(registry, "one")
    stale = registry.read()
    write_next(registry, "two")
    with pytest.raises(ConflictError):
        registry.write(next_of(stale, "late"), stale)
    assert registry.read().version == 2
    assert registry.read().objects == objects_for("two")


def test_expected_ahead_of_the_store_is_a_conflict(registry: Any) -> None:
    write_next(registry, "one")
    current = registry.read()
    phantom = RegistrySnapshot(location=current.location, project="demo", version=5, objects={})
    with pytest.raises(ConflictError):
        registry.write(next_of(phantom, "phantom"), phantom)
    assert registry.read().version == 1


def test_a_write_that_skips_versions_is_refused(registry: Any) -> None:
    current = registry.read()
    skipping = RegistrySnapshot(
        location=current.location,
        project="demo",
        version=3,
        objects=objects_for("skip"),
        history=(VersionInfo(3, "2026-01-01T00:00:00Z", "a", None, None),),
    )
    with pytest.raises(RegistryError):
        registry.write(skipping, current)
    assert registry.read().version == 0


# --- concurrency -------------------------------------------------------------------------

THREADS = 8


def _race_threads(registries: list[Any]) -> tuple[list[str], list[BaseException]]:
    expected = empty_snapshot(registries[0].location)
    barrier = threading.Barrier(len(registries))
    wins: list[str] = []
    losses: list[BaseException] = []
    lock = threading.Lock()

    def attempt(i: int, registry: Any) -> None:
        new = next_of(expected, f"t{i}")
        barrier.wait()
        try:
            registry.write(new, expected)
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            with lock:
                losses.append(exc)
        else:
            with lock:
                wins.append(f"t{i}")

    threads = [threading.Thread(target=attempt, args=(i, r)) for i, r in enumerate(registries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return wins, losses


def test_first_write_race_between_threads_has_one_winner(registry_factory: Callable[..., Any]) -> None:
    registry = registry_factory()
    handles = [registry_factory.kind.same(registry) for _ in range(THREADS)]  # type: ignore[attr-defined]
    wins, losses = _race_threads(handles)
    assert len(wins) == 1, (wins, losses)
    assert len(losses) == THREADS - 1
    assert all(isinstance(e, ConflictError) for e in losses), [repr(e) for e in losses]
    final = registry.read()
    assert final.version == 1
    assert final.objects == objects_for(wins[0])
    assert [h.actor for h in final.history] == [f"actor-{wins[0]}"]


def test_race_on_a_later_version_has_one_winner(registry_factory: Callable[..., Any]) -> None:
    registry = registry_factory()
    write_next(registry, "base")
    current = registry.read()
    barrier = threading.Barrier(THREADS)
    results: list[str] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            registry.write(next_of(current, f"t{i}"), current)
            results.append("win")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["conflict"] * (THREADS - 1) + ["win"]
    assert registry.read().version == 2


def test_readers_never_see_a_partial_document(registry_factory: Callable[..., Any]) -> None:
    registry = registry_factory()
    reader = registry_factory.kind.same(registry)  # type: ignore[attr-defined]
    done = threading.Event()
    seen: list[list[int]] = [[], [], []]
    errors: list[BaseException] = []

    def read_loop(mine: list[int]) -> None:
        while not done.is_set():
            try:
                snapshot = reader.read()
                if snapshot.version:
                    assert snapshot.objects == objects_for(f"w{snapshot.version}")
                    assert len(snapshot.history) == snapshot.version
            except BaseException as exc:  # noqa: BLE001 - collected and checked below
                errors.append(exc)
                return
            mine.append(snapshot.version)

    readers = [threading.Thread(target=read_loop, args=(mine,)) for mine in seen]
    for t in readers:
        t.start()
    try:
        for n in range(1, 31):
            write_next(registry, f"w{n}")
    finally:
        done.set()
        for t in readers:
            t.join(timeout=60)
    assert errors == []
    for mine in seen:
        assert mine == sorted(mine)  # a reader never goes back in time
    assert registry.read().version == 30


PROCESS_SCRIPT = """
import sys, time
from pathlib import Path
from fsctl.errors import ConflictError
from fsctl.registry.document import VersionInfo, empty_snapshot
from fsctl.registry.local import LocalRegistry

path, tag, start = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
registry = LocalRegistry(path)
expected = empty_snapshot(registry.location)
info = VersionInfo(1, "2026-01-01T00:00:00Z", "actor-" + tag, None, None)
new = expected.next({"Entity": {"driver": {"kind": "Entity", "name": "driver", "join_keys": ["id_" + tag],
                                           "description": tag}}}, info, "demo")
deadline = time.monotonic() + 30
while not start.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
try:
    registry.write(new, expected)
except ConflictError:
    print("conflict")
else:
    print("win")
"""

PROCESSES = 6


def test_first_write_race_between_processes_has_one_winner(
    local_registry: LocalRegistry, tmp_path: Path
) -> None:
    start = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_SCRIPT, str(local_registry.path), f"p{i}", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(PROCESSES)
    ]
    try:
        import time

        time.sleep(0.5)  # let every process import fsctl and wait at the start line
        start.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    results = [out.strip() for out, _ in outputs]
    assert sorted(results) == ["conflict"] * (PROCESSES - 1) + ["win"], outputs
    winner = f"p{results.index('win')}"
    final = local_registry.read()
    assert final.version == 1
    assert final.objects == objects_for(winner)
    assert_no_temp_files(local_registry)


# --- local files: layout, temp files, corruption, format versions -------------------------


def leftovers(registry: LocalRegistry) -> list[str]:
    folder = registry.path.parent
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.endswith(".tmp") or (p.name.startswith(".") and p.is_file())
    )


def assert_no_temp_files(registry: LocalRegistry) -> None:
    assert leftovers(registry) == []


def test_local_document_is_versioned_json_with_history_files(local_registry: LocalRegistry) -> None:
    write_next(local_registry, "one")
    write_next(local_registry, "two")
    document = json.loads(local_registry.path.read_text(encoding="utf-8"))
    assert document["format_version"] == FORMAT_VERSION == 1
    assert {
        "format_version",
        "project",
        "version",
        "applied_at",
        "actor",
        "commit",
        "plan_hash",
        "objects",
        "history",
    } <= set(document)
    assert (document["version"], document["actor"], document["plan_hash"]) == (2, "actor-two", "hash-two")
    history_dir = local_registry.path.with_name("registry.json.history")
    kept = sorted(p.name for p in history_dir.iterdir())
    assert kept == ["00000001.json", "00000002.json"]
    assert json.loads((history_dir / "00000001.json").read_text())["objects"] == objects_for("one")
    assert_no_temp_files(local_registry)


def test_no_temp_files_after_conflicts(local_registry: LocalRegistry) -> None:
    stale = local_registry.read()
    write_next(local_registry, "one")
    for _ in range(3):
        with pytest.raises(ConflictError):
            local_registry.write(next_of(stale, "x"), stale)
    assert_no_temp_files(local_registry)


def test_local_registry_creates_its_folder(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "a" / "b" / "registry.json")
    write_next(registry, "one")
    assert registry.read().version == 1


def test_a_lock_held_too_long_is_a_clear_timeout_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    import fsctl.storage.local as local_module

    registry = LocalRegistry(tmp_path / "registry.json")
    write_next(registry, "one")
    monkeypatch.setattr(local_module, "LOCK_TIMEOUT_SECONDS", 0.2)
    with FileLock(str(registry.path) + ".lock"):  # another writer that does not let go
        with pytest.raises(RegistryError) as caught:
            write_next(registry, "two")
    assert caught.value.message == f"timed out after 0s waiting for the lock {registry.path}.lock"
    assert caught.value.hint is not None and "another fsctl is writing" in caught.value.hint
    assert registry.read().version == 1


CORRUPT = {
    "not-json": b"{ this is not json",
    "truncated": b'{"format_version": 1, "project": "demo", "version": 2, "objects": {"Enti',
    "empty": b"",
    "list": b"[1, 2]",
    "no-format-version": b'{"project": "demo", "version": 1, "objects": {}}',
    "bad-version": b'{"format_version": 1, "project": "demo", "version": "two", "objects": {}}',
    "negative-version": b'{"format_version": 1, "project": "demo", "version": -1, "objects": {}}',
    "bad-objects": b'{"format_version": 1, "project": "demo", "version": 1, "objects": [1]}',
    "bad-history": b'{"format_version": 1, "project": "demo", "version": 1, "objects": {}, "history": [{}]}',
    "binary": b"\x00\xff\xfe\x01",
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_corrupt_file_is_reported_and_never_overwritten(
    local_registry: LocalRegistry, content: bytes
) -> None:
    local_registry.path.parent.mkdir(parents=True, exist_ok=True)
    local_registry.path.write_bytes(content)

    with pytest.raises(CorruptRegistryError) as info:
        local_registry.read()
    assert str(local_registry.path) in str(info.value)

    for expected in (
        empty_snapshot(local_registry.location),
        RegistrySnapshot(location=local_registry.location, project="demo", version=1, objects={}),
    ):
        with pytest.raises(CorruptRegistryError) as info:
            local_registry.write(next_of(expected, "overwrite"), expected)
        assert str(local_registry.path) in str(info.value)
        assert local_registry.path.read_bytes() == content

    history_dir = local_registry.path.with_name("registry.json.history")
    assert not history_dir.exists() or list(history_dir.iterdir()) == []
    assert_no_temp_files(local_registry)


def test_newer_format_version_is_refused(local_registry: LocalRegistry) -> None:
    write_next(local_registry, "one")
    document = json.loads(local_registry.path.read_text())
    document["format_version"] = FORMAT_VERSION + 1
    document["new_field"] = {"something": "else"}
    content = json.dumps(document).encode()
    local_registry.path.write_bytes(content)

    with pytest.raises(RegistryError) as info:
        local_registry.read()
    assert str(FORMAT_VERSION + 1) in str(info.value)
    assert "upgrade" in str(info.value).lower()

    current = RegistrySnapshot(location=local_registry.location, project="demo", version=1, objects={})
    with pytest.raises(RegistryError):
        local_registry.write(next_of(current, "two"), current)
    assert local_registry.path.read_bytes() == content
    assert_no_temp_files(local_registry)


def test_unknown_keys_from_the_same_format_are_ignored(local_registry: LocalRegistry) -> None:
    write_next(local_registry, "one")
    document = json.loads(local_registry.path.read_text())
    document["added_later"] = [1, 2, 3]
    local_registry.path.write_text(json.dumps(document))
    assert local_registry.read().version == 1
    write_next(local_registry, "two")
    assert local_registry.read().version == 2
