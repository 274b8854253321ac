"""Switching the online store end to end (issue 11, item 3), with real `fsctl` processes: the
plan shows the switch, materialize refuses the new store until it is applied, the new store
loads the whole window (no gap behind the old store's watermark), switching back resumes,
and the old store is removed only on purpose. SQLite to SQLite, SQLite to a real Redis
server, another registry through FSCTL_REGISTRY, and a store chosen by ${VAR}.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import run_fsctl
from tests.support.store_switch import DEFS, h, write_source

pytestmark = pytest.mark.slow

UTC = timezone.utc



def iso(hours: float) -> str:
    return h(hours).isoformat().replace("+00:00", "Z")


def config(online_store: str, registry: str = "data/registry.json") -> str:
    return f"project: sw\nregistry: {registry}\nonline_store: {online_store}\n"


def sqlite(path: str) -> str:
    return f"{{type: sqlite, path: {path}}}"


@pytest.fixture
def repo(write_repo: Callable[..., Path]) -> Path:
    root = write_repo({"fsctl.yaml": config(sqlite("data/a.db")), "defs.yaml": DEFS})
    write_source(root)
    return root


def fsctl_in(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl(*args, "--repo", str(root), **env)


def ok(result: subprocess.CompletedProcess[str], code: int = 0) -> subprocess.CompletedProcess[str]:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 1 with one `error:` message and its hint, no traceback; returns both lines."""
    ok(result, 1)
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if line.startswith("error:")]) == 1, result.stderr
    return result.stderr


def incremental(root: Path, end: float, **env: str) -> dict[str, Any]:
    result = ok(fsctl_in(root, "materialize-incremental", iso(end), "--format", "json", **env))
    (run,) = json.loads(result.stdout)["views"]
    return dict(run)


def online(root: Path, **env: str) -> dict[int, Any]:
    """conv_rate of keys 1-4 as the configured store serves them (None where it has none)."""
    args = ["--features", "stats:conv_rate", "--ignore-ttl", "--format", "json"]
    values = {}
    for key in range(1, 5):
        result = ok(fsctl_in(root, "online", *args, "--entity", f"driver_id={key}", **env))
        (row,) = json.loads(result.stdout)["rows"]
        values[key] = row["features"]["conv_rate"]["value"]
    return values


def registry(root: Path, name: str = "data/registry.json") -> dict[str, Any]:
    return dict(json.loads((root / name).read_text()))


def state(root: Path, name: str = "data/registry.state.json") -> dict[str, Any]:
    return dict(json.loads((root / name).read_text()))


SWITCH_TEXT = """\
Plan for project sw against registry data/registry.json (version 1)

Online store: switches from sqlite:data/a.db to sqlite:data/b.db
  + create the online table of view stats
  New store: watermarks are kept per store, so a view never loaded into it starts afresh: the next
    `fsctl materialize-incremental` loads it from END minus its TTL (or from its earliest event).
    Load it before readers use it.
  Old store: left as it is; its tables and data stay for readers still using it. To remove them, run
    `fsctl teardown --tables-only` with online_store set to sqlite:data/a.db.

Plan: 0 to add, 0 to change, 0 to delete, and a switch of online store.
"""


def test_switching_sqlite_files_loads_the_new_one_whole_and_switching_back_resumes(repo: Path) -> None:
    ok(fsctl_in(repo, "apply", "--yes"))
    incremental(repo, 24)
    assert incremental(repo, 48)["start"] == h(24).isoformat()  # A is loaded up to 48h
    in_a = online(repo)
    assert in_a == {1: 0.30, 2: 0.40, 3: None, 4: None}

    (repo / "fsctl.yaml").write_text(config(sqlite("data/b.db")))
    plan = ok(fsctl_in(repo, "plan", "--detailed-exitcode"), 2)
    assert plan.stdout == SWITCH_TEXT
    doc = json.loads(ok(fsctl_in(repo, "plan", "--format", "json")).stdout)
    assert doc["online_store_change"] == {"from": "sqlite:data/a.db", "to": "sqlite:data/b.db", "old_store": "kept"}
    assert doc["online_store"] == [{"action": "create", "view": "stats"}]
    assert "Switches** from `sqlite:data/a.db` to `sqlite:data/b.db`" in ok(fsctl_in(repo, "plan", "--format", "markdown")).stdout

    # Not applied yet: materialize refuses the new store, and nothing is created in it.
    error = one_error(fsctl_in(repo, "materialize-incremental", iso(50)))
    assert "were applied to online store sqlite:data/a.db, but fsctl.yaml's online_store is sqlite:data/b.db" in error
    assert "`fsctl apply`" in error
    assert not (repo / "data/b.db").exists()

    applied = ok(fsctl_in(repo, "apply", "--yes"))
    assert "(0 added, 0 changed, 0 deleted; online store switched to sqlite:data/b.db)" in applied.stdout
    assert registry(repo)["online_store"] == "sqlite:data/b.db"
    ok(fsctl_in(repo, "plan", "--detailed-exitcode"), 0)
    history = ok(fsctl_in(repo, "registry", "history")).stdout
    assert "Online store switches:\n  version 2: sqlite:data/a.db -> sqlite:data/b.db" in history

    assert online(repo) == {1: None, 2: None, 3: None, 4: None}  # created empty
    run = incremental(repo, 50)
    assert (run["start"], run["note"]) == (h(26).isoformat(), "no watermark in this online store: from END minus the TTL")
    assert online(repo) == {1: 0.30, 2: 0.40, 3: 0.49, 4: None}  # the whole window: no gap

    (repo / "fsctl.yaml").write_text(config(sqlite("data/a.db")))
    assert "switches from sqlite:data/b.db to sqlite:data/a.db" in ok(fsctl_in(repo, "plan"), 0).stdout
    ok(fsctl_in(repo, "apply", "--yes"))
    assert online(repo) == in_a  # the old store was left as it was
    back = incremental(repo, 52)
    assert (back["start"], back["note"]) == (h(48).isoformat(), "from the watermark")  # its own watermark
    assert online(repo) == {1: 0.30, 2: 0.40, 3: 0.49, 4: 0.51}
    marks = state(repo)["stores"]
    assert sorted(marks) == ["sqlite:data/a.db", "sqlite:data/b.db"]
    assert [r["store"] for r in state(repo)["runs"]] == ["sqlite:data/a.db"] * 2 + ["sqlite:data/b.db", "sqlite:data/a.db"]


def test_switching_to_redis_and_removing_the_old_store_on_purpose(repo: Path, redis_server: Any) -> None:
    ok(fsctl_in(repo, "apply", "--yes"))
    incremental(repo, 48)

    redis_store = f"redis:127.0.0.1:{redis_server.port}/0"
    (repo / "fsctl.yaml").write_text(config(f"{{type: redis, url: '{redis_server.url}'}}"))
    plan = ok(fsctl_in(repo, "plan", "--detailed-exitcode"), 2).stdout
    assert f"Online store: switches from sqlite:data/a.db to {redis_store}\n  + create the online table of view stats\n" in plan
    # teardown would orphan the store the views are in
    error = one_error(fsctl_in(repo, "teardown", "--yes"))
    assert "a teardown now would delete the objects and leave their tables in sqlite:data/a.db behind" in error
    assert registry(repo)["version"] == 1

    ok(fsctl_in(repo, "apply", "--yes"))
    run = incremental(repo, 50)
    assert run["start"] == h(26).isoformat() and run["keys_written"] == 3
    assert online(repo) == {1: 0.30, 2: 0.40, 3: 0.49, 4: None}

    # --tables-only refuses the store the views are in ...
    error = one_error(fsctl_in(repo, "teardown", "--tables-only", "--yes"))
    assert f"online store {redis_store} holds the tables of the online views" in error
    # ... and removes a store left behind, leaving the registry alone
    (repo / "fsctl.yaml").write_text(config(sqlite("data/a.db")))
    asked = ok(fsctl_in(repo, "teardown", "--tables-only"), 1)  # no terminal, no --yes: nothing dropped
    assert "Drop the tables of 1 view of project sw from online store sqlite:data/a.db" in asked.stdout
    assert "refusing to drop tables without confirmation" in asked.stderr
    dropped = ok(fsctl_in(repo, "teardown", "--tables-only", "--yes")).stdout
    assert "Dropped the tables of 1 view of project sw from online store sqlite:data/a.db; the registry is unchanged." in dropped
    assert registry(repo)["version"] == 2
    assert list(state(repo)["stores"]) == [redis_store]
    assert "no online table" in one_error(fsctl_in(repo, "online", "--features", "stats:conv_rate", "--entity", "driver_id=1"))

    # the project goes on in Redis, then is removed there
    (repo / "fsctl.yaml").write_text(config(f"{{type: redis, url: '{redis_server.url}'}}"))
    assert incremental(repo, 52)["start"] == h(50).isoformat()
    removed = ok(fsctl_in(repo, "teardown", "--yes")).stdout
    assert "Applied: registry data/registry.json version 2 -> 3" in removed
    assert "still hold" not in removed  # no store of this project is left
    assert state(repo)["stores"] == {}


def test_each_registry_records_its_own_store(repo: Path) -> None:
    """--registry / FSCTL_REGISTRY point the same repo at another registry, and a ${VAR}
    in fsctl.yaml gives each environment its store: each registry keeps its own record."""
    (repo / "fsctl.yaml").write_text(config(sqlite("'data/${ENVIRONMENT}.db'"), registry="data/${ENVIRONMENT}.json"))
    staging, prod = {"ENVIRONMENT": "staging"}, {"ENVIRONMENT": "prod"}
    ok(fsctl_in(repo, "apply", "--yes", **staging))
    ok(fsctl_in(repo, "apply", "--yes", **prod))
    assert registry(repo, "data/staging.json")["online_store"] == "sqlite:data/staging.db"
    assert registry(repo, "data/prod.json")["online_store"] == "sqlite:data/prod.db"
    assert incremental(repo, 48, **staging)["start"] == h(24).isoformat()
    assert incremental(repo, 50, **prod)["start"] == h(26).isoformat()  # prod's own state: from scratch
    ok(fsctl_in(repo, "plan", "--detailed-exitcode", **staging), 0)

    # the prod store against the staging registry: a switch, and materialize refuses it
    mixed = {"ENVIRONMENT": "prod", "FSCTL_REGISTRY": str(repo / "data/staging.json")}
    plan = ok(fsctl_in(repo, "plan", "--detailed-exitcode", **mixed), 2).stdout
    assert "Online store: switches from sqlite:data/staging.db to sqlite:data/prod.db" in plan
    error = one_error(fsctl_in(repo, "materialize-incremental", iso(50), **mixed))
    assert "were applied to online store sqlite:data/staging.db" in error
    # ... and --tables-only through the staging registry leaves prod's tables: staging never left them
    error = one_error(fsctl_in(repo, "teardown", "--tables-only", "--yes", **mixed))
    assert "registry" in error and "were never switched away from online store sqlite:data/prod.db" in error
    assert online(repo, **prod) == {1: 0.30, 2: 0.40, 3: 0.49, 4: None}
    assert incremental(repo, 52, **prod)["start"] == h(50).isoformat()
    # a fresh registry: nothing to switch from; its first apply records the store
    fresh = {"ENVIRONMENT": "prod"}
    assert "switches" not in ok(fsctl_in(repo, "plan", "--registry", str(repo / "data/other.json"), **fresh)).stdout
    ok(fsctl_in(repo, "apply", "--yes", "--registry", str(repo / "data/other.json"), **fresh))
    assert registry(repo, "data/other.json")["online_store"] == "sqlite:data/prod.db"
