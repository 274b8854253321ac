"""Saved plans (`fsctl plan --out`, `fsctl apply PLAN`) and applying with retries.

A saved plan is applied exactly, or refused as stale when the registry or the definitions moved;
an apply without a plan file re-plans and retries when another writer lands first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import ConflictError, PlanBlockedError, StalePlanError, UsageError
from fsctl.registry.document import RegistrySnapshot, VersionInfo
from fsctl.registry.memory import MemoryRegistry
from fsctl.services import apply
from fsctl.services.apply import Publisher
from fsctl.services.plan import PLAN_FORMAT, load_plan_file, make_plan, save_plan
from fsctl.workspace import Workspace, open_workspace

MakeRepo = Callable[..., Path]

FILES = {
    "fsctl.yaml": "project: demo\nregistry: data/registry.json\n",
    "defs.yaml": """\
kind: Entity
name: driver
join_keys: [driver_id]
---
kind: FileSource
name: src
path: data/driver.parquet
---
kind: FeatureView
name: stats
entities: [driver]
source: src
ttl: 2d
schema:
  - {name: conv_rate, dtype: float64}
  - {name: trips, dtype: int64}
---
kind: FeatureService
name: svc
features: [stats]
""",
}


@pytest.fixture(autouse=True)
def _quiet_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSCTL_ACTOR", "tester")


@pytest.fixture
def repo(make_repo: MakeRepo) -> Path:
    return make_repo(FILES)


_OPENED: list[Workspace] = []


@pytest.fixture(autouse=True)
def _close_workspaces() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()


def workspace_of(root: Path, registry: Any = None) -> Workspace:
    """The workspace of the repo at ``root`` (closed when the test ends)."""
    workspace = open_workspace(root, registry)
    _OPENED.append(workspace)
    return workspace


def ports(workspace: Workspace) -> Publisher:
    return Publisher(workspace.registry(), workspace.online_store(), workspace.state())


def apply_definitions(workspace: Workspace, **options: Any) -> Any:
    return apply.apply_definitions(workspace.project, ports(workspace), **options)


def apply_saved(workspace: Workspace, path: Path, **options: Any) -> Any:
    return apply.apply_saved(workspace.project, ports(workspace), path, **options)


def plan_of(workspace: Workspace) -> tuple[Any, RegistrySnapshot]:
    return make_plan(workspace.project, workspace.registry_reader())


def edit(root: Path, old: str, new: str) -> None:
    path = root / "defs.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def saved_plan(root: Path, tmp_path: Path, name: str = "plan.json") -> tuple[Path, Any]:
    plan, _ = plan_of(workspace_of(root))
    out = tmp_path / name
    save_plan(plan, out)
    return out, plan


# --- save -> apply -----------------------------------------------------------------------


def test_save_then_apply_roundtrip(repo: Path, tmp_path: Path) -> None:
    path, plan = saved_plan(repo, tmp_path)
    assert plan.registry_version == 0 and plan.has_changes

    result = apply_saved(workspace_of(repo), path)
    assert (result.version_before, result.version_after, result.written) == (0, 1, True)
    assert result.plan.plan_hash == plan.plan_hash

    snapshot = workspace_of(repo).registry().read()
    assert snapshot.version == 1
    assert snapshot.project == "demo"
    assert snapshot.objects == plan.desired
    assert snapshot.history[-1].plan_hash == plan.plan_hash
    assert snapshot.history[-1].actor == "tester"

    again, _ = plan_of(workspace_of(repo))
    assert not again.has_changes


def test_plan_file_format(repo: Path, tmp_path: Path) -> None:
    path, plan = saved_plan(repo, tmp_path)
    document = json.loads(path.read_text())
    assert document["plan_format"] == PLAN_FORMAT == 1
    assert document["plan"]["plan_hash"] == plan.plan_hash
    assert document["plan"]["definitions_hash"] == plan.definitions_hash
    assert document["plan"]["registry_version"] == 0
    assert document["desired"] == plan.desired
    assert "fsctl_version" in document
    assert load_plan_file(path) == document
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_applying_a_second_plan_after_the_first(repo: Path, tmp_path: Path) -> None:
    first, _ = saved_plan(repo, tmp_path, "one.json")
    apply_saved(workspace_of(repo), first)
    edit(repo, "ttl: 2d", "ttl: 3d")
    second, plan = saved_plan(repo, tmp_path, "two.json")
    assert plan.registry_version == 1
    result = apply_saved(workspace_of(repo), second)
    assert result.version_after == 2
    assert workspace_of(repo).registry().read().objects["FeatureView"]["stats"]["ttl"] == 3 * 86400


def test_saved_plan_without_changes_writes_nothing(repo: Path, tmp_path: Path) -> None:
    apply_definitions(workspace_of(repo))
    path, plan = saved_plan(repo, tmp_path)
    assert not plan.has_changes
    result = apply_saved(workspace_of(repo), path)
    assert not result.written
    assert workspace_of(repo).registry().read().version == 1


# --- stale plans -------------------------------------------------------------------------


def test_stale_when_the_registry_moved(repo: Path, tmp_path: Path) -> None:
    path, _ = saved_plan(repo, tmp_path)
    apply_definitions(workspace_of(repo))  # someone else applied first
    with pytest.raises(StalePlanError) as info:
        apply_saved(workspace_of(repo), path)
    assert "version 0" in str(info.value) and "version 1" in str(info.value)
    assert workspace_of(repo).registry().read().version == 1


def test_stale_when_the_definitions_changed(repo: Path, tmp_path: Path) -> None:
    path, _ = saved_plan(repo, tmp_path)
    edit(repo, "ttl: 2d", "ttl: 1d")
    with pytest.raises(StalePlanError, match="definitions changed"):
        apply_saved(workspace_of(repo), path)
    assert workspace_of(repo).registry().read().version == 0


def test_metadata_edit_also_makes_a_plan_stale(repo: Path, tmp_path: Path) -> None:
    path, _ = saved_plan(repo, tmp_path)
    edit(repo, "name: driver\n", "name: driver\ndescription: now documented\n")
    with pytest.raises(StalePlanError):
        apply_saved(workspace_of(repo), path)


def test_stale_when_planned_against_another_registry(repo: Path, tmp_path: Path) -> None:
    path, _ = saved_plan(repo, tmp_path)
    other = workspace_of(repo, registry=str(tmp_path / "staging.json"))
    with pytest.raises(StalePlanError, match="registry"):
        apply_saved(other, path)
    assert other.registry().read().version == 0


def test_stale_when_the_plan_is_for_another_project(repo: Path, tmp_path: Path, make_repo: MakeRepo) -> None:
    path, _ = saved_plan(repo, tmp_path)
    other_root = make_repo(
        {**FILES, "fsctl.yaml": "project: other\nregistry: data/registry.json\n"}, name="other"
    )
    with pytest.raises(StalePlanError, match="project"):
        apply_saved(workspace_of(other_root), path)


def test_tampered_plan_is_refused(repo: Path, tmp_path: Path) -> None:
    path, _ = saved_plan(repo, tmp_path)
    document = json.loads(path.read_text())
    document["plan"]["plan_hash"] = "0" * 64
    path.write_text(json.dumps(document))
    with pytest.raises(StalePlanError):
        apply_saved(workspace_of(repo), path)
    assert workspace_of(repo).registry().read().version == 0


# --- not a plan file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"hello": "world"}',
        b'{"plan_format": 99, "plan": {}}',
        b'{"plan_format": 1}',
        b"[1, 2, 3]",
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b"",
    ],
    ids=["other-json", "future-format", "no-plan", "list", "text", "binary", "empty"],
)
def test_not_a_plan_file(repo: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        apply_saved(workspace_of(repo), path)
    assert str(path) in str(info.value)
    assert workspace_of(repo).registry().read().version == 0


def test_missing_plan_file(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        apply_saved(workspace_of(repo), tmp_path / "nope.json")


# --- blocked plans -----------------------------------------------------------------------


def test_saved_blocked_plan_is_refused(repo: Path, tmp_path: Path) -> None:
    apply_definitions(workspace_of(repo))
    edit(repo, "ttl: 2d", "ttl: 1h")  # shortening the TTL breaks svc
    path, plan = saved_plan(repo, tmp_path)
    assert plan.is_blocked
    with pytest.raises(PlanBlockedError) as info:
        apply_saved(workspace_of(repo), path)
    assert "svc" in str(info.value)
    assert workspace_of(repo).registry().read().version == 1


def test_apply_without_plan_refuses_a_blocked_plan(repo: Path) -> None:
    apply_definitions(workspace_of(repo))
    edit(repo, "  - {name: trips, dtype: int64}\n", "")
    with pytest.raises(PlanBlockedError):
        apply_definitions(workspace_of(repo))
    assert workspace_of(repo).registry().read().version == 1


# --- retries on conflict -----------------------------------------------------------------


class RacingRegistry:
    """Wraps a registry; before each of the first ``races`` writes, another writer lands first."""

    def __init__(self, inner: MemoryRegistry, races: int) -> None:
        self.inner = inner
        self.location = inner.location
        self.races = races
        self.writes = 0

    def read(self) -> RegistrySnapshot:
        return self.inner.read()

    def read_version(self, version: int) -> dict[str, Any]:
        return self.inner.read_version(version)

    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        self.writes += 1
        if self.races > 0:
            self.races -= 1
            current = self.inner.read()
            info = VersionInfo(
                version=current.version + 1,
                applied_at="2026-01-01T00:00:00Z",
                actor="rival",
                commit=None,
                plan_hash=None,
            )
            objects = {
                **current.objects,
                "Entity": {
                    **current.objects.get("Entity", {}),
                    f"rival{current.version}": {"kind": "Entity"},
                },
            }
            self.inner.write(current.next(objects, info, "demo"), current)
        self.inner.write(new, expected)


def racing_workspace(root: Path, races: int) -> tuple[Workspace, RacingRegistry]:
    registry = RacingRegistry(MemoryRegistry("memory://racing"), races)
    return workspace_of(root, registry), registry


def test_apply_without_plan_retries_after_a_conflict(repo: Path) -> None:
    workspace, registry = racing_workspace(repo, races=2)
    result = apply_definitions(workspace)
    assert result.attempts == 3
    assert registry.writes == 3
    snapshot = registry.read()
    assert snapshot.version == 3  # two rival versions, then ours
    assert (result.version_before, result.version_after) == (2, 3)
    assert set(snapshot.objects["Entity"]) == {"driver"}  # ours replaced the rival objects
    assert [h.actor for h in snapshot.history] == ["rival", "rival", "tester"]


def test_apply_without_plan_gives_up_after_bounded_attempts(repo: Path) -> None:
    workspace, registry = racing_workspace(repo, races=100)
    with pytest.raises(ConflictError, match="attempts"):
        apply_definitions(workspace, max_attempts=3)
    assert registry.writes == 3


def test_apply_asks_for_confirmation_again_after_a_replan(repo: Path) -> None:
    workspace, _ = racing_workspace(repo, races=1)
    seen: list[int] = []

    def confirm(plan: Any) -> bool:
        seen.append(plan.registry_version)
        return True

    apply_definitions(workspace, confirm=confirm)
    assert seen == [0, 1]


def test_cancelled_apply_writes_nothing(repo: Path) -> None:
    workspace, registry = racing_workspace(repo, races=0)
    result = apply_definitions(workspace, confirm=lambda plan: False)
    assert result.cancelled and not result.written
    assert registry.writes == 0


def test_saved_plan_is_never_retried(repo: Path, tmp_path: Path) -> None:
    workspace, registry = racing_workspace(repo, races=1)
    plan, _ = plan_of(workspace)
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    with pytest.raises(StalePlanError, match="moved"):
        apply_saved(workspace, path)
    assert registry.writes == 1
    snapshot = registry.read()
    assert snapshot.version == 1
    assert [h.actor for h in snapshot.history] == ["rival"]
