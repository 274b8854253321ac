"""Switching the online store (issue 11, item 3): each store's identity, the plan of a switch,
the registry's record of its store, watermarks per store, and what materialize, apply and
teardown do in each situation.

The planner tests are pure; the others run the services on small repos with real SQLite
online stores, a local registry and a local state document, in temp folders.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl import Entity, FeatureView, Field, FileSource
from fsctl.diff import build_plan
from fsctl.errors import ConfigError, StalePlanError, UsageError
from fsctl.online.dynamodb import DynamoDBOnlineStoreConfig
from fsctl.online.redis_store import RedisOnlineStoreConfig
from fsctl.online.sqlite import SQLiteOnlineStoreConfig
from fsctl.render import render
from fsctl.results.apply import TablesDrop
from fsctl.services.apply import apply_definitions, apply_saved, teardown
from fsctl.services.browse import describe
from fsctl.services.online_tables import drop_old_store
from fsctl.services.plan import make_plan, save_plan
from fsctl.workspace import ONLINE_STORES, open_workspace
from tests.support.online_ports import publisher, read_records, run_materialize
from tests.support.store_switch import DEFS, h, write_source

UTC = timezone.utc
A, B = "sqlite:data/a.db", "sqlite:data/b.db"


# --- identities ----------------------------------------------------------------------------


def test_every_online_store_config_knows_its_identity(tmp_path: Path) -> None:
    for kind, adapter in ONLINE_STORES.items():
        config = adapter.attribute(adapter.config)()
        assert config.identity(tmp_path).startswith(f"{kind}:")


@pytest.mark.parametrize(
    ("path", "identity"),
    [
        ("data/online.db", "sqlite:data/online.db"),
        ("./data/../data/online.db", "sqlite:data/online.db"),
        ("{root}/data/online.db", "sqlite:data/online.db"),  # absolute, inside the repo
        ("{root}/../shared/online.db", "sqlite:{parent}/shared/online.db"),  # outside: absolute
        ("online.db", "sqlite:online.db"),
    ],
)
def test_a_sqlite_store_is_its_file_relative_to_the_repo(tmp_path: Path, path: str, identity: str) -> None:
    root = tmp_path / "repo"
    config = SQLiteOnlineStoreConfig(path=path.format(root=root))
    assert config.identity(root) == identity.format(parent=tmp_path.resolve())


def test_two_checkouts_of_a_repo_name_their_sqlite_store_the_same(tmp_path: Path) -> None:
    config = SQLiteOnlineStoreConfig()
    assert config.identity(tmp_path / "ci") == config.identity(tmp_path / "laptop") == "sqlite:data/online.db"
    home = SQLiteOnlineStoreConfig(path="~/fsctl/online.db").identity(tmp_path)
    assert home == f"sqlite:{(Path.home() / 'fsctl/online.db').resolve().as_posix()}"


@pytest.mark.parametrize(
    ("url", "identity"),
    [
        ("redis://localhost:6379/0", "redis:localhost:6379/0"),
        ("redis://:s3cret@Cache.internal:6380/2", "redis:cache.internal:6380/2"),  # no password, host lowered
        ("rediss://user:s3cret@cache.internal/1", "redis:cache.internal:6379/1"),  # TLS: the same data
        ("redis://cache.internal", "redis:cache.internal:6379/0"),
        ("redis://cache.internal?db=4", "redis:cache.internal:6379/4"),
        ("redis://[::1]:7000/3", "redis:[::1]:7000/3"),
        ("unix:///var/run/redis.sock?db=5", "redis:unix:/var/run/redis.sock/5"),
    ],
)
def test_a_redis_store_is_host_port_and_database_without_secrets(url: str, identity: str) -> None:
    assert RedisOnlineStoreConfig(url=url).identity(Path("/repo")) == identity


def test_a_redis_url_that_does_not_parse_is_a_config_error_without_its_password() -> None:
    with pytest.raises(ConfigError) as info:
        RedisOnlineStoreConfig(url="redis://:s3cret@cache:notaport/0").identity(Path("/repo"))
    assert "online_store.url" in info.value.message and "s3cret" not in str(info.value)
    with pytest.raises(ConfigError):
        RedisOnlineStoreConfig(url="redis://cache:6379/zero").identity(Path("/repo"))


def test_a_dynamodb_store_is_region_prefix_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    root = Path("/repo")
    assert DynamoDBOnlineStoreConfig().identity(root) == "dynamodb:us-east-1/fsctl_"
    config = DynamoDBOnlineStoreConfig(region="eu-west-1", table_prefix="prod_")
    assert config.identity(root) == "dynamodb:eu-west-1/prod_"
    local = DynamoDBOnlineStoreConfig(endpoint_url="http://key:secret@localhost:8000/")
    assert local.identity(root) == "dynamodb:us-east-1/fsctl_@http://localhost:8000"
    # the endpoint boto3 would use, from the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://moto:5000")
    assert DynamoDBOnlineStoreConfig().identity(root) == "dynamodb:us-east-1/fsctl_@http://moto:5000"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:8000")
    assert DynamoDBOnlineStoreConfig().identity(root) == "dynamodb:us-east-1/fsctl_@http://ddb:8000"
    assert local.identity(root) == "dynamodb:us-east-1/fsctl_@http://localhost:8000"  # the config wins


def test_the_project_carries_the_configured_store_after_variable_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fsctl.yaml").write_text(
        "project: demo\nonline_store: {type: sqlite, path: 'data/${ENVIRONMENT:-dev}.db'}\n"
    )
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    assert open_workspace(tmp_path).project.online_store == "sqlite:data/dev.db"
    monkeypatch.setenv("ENVIRONMENT", "prod")
    assert open_workspace(tmp_path).project.online_store == "sqlite:data/prod.db"


# --- the planner ---------------------------------------------------------------------------


def objects(*views: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {
        "Entity": {"driver": Entity(name="driver", join_keys=["driver_id"]).to_dict()},
        "FileSource": {"src": FileSource(name="src", path="data/driver.parquet").to_dict()},
    }
    out["FeatureView"] = {v["name"]: v for v in views}
    return out


def view(name: str, online: bool = True) -> dict[str, Any]:
    schema = [Field(name="conv_rate", dtype="float64")]
    return FeatureView(name=name, entities=["driver"], source="src", ttl="1d", online=online, schema=schema).to_dict()


def plan_of(current: Any, desired: Any, current_store: str | None, desired_store: str | None) -> Any:
    return build_plan(
        "demo", "data/registry.json", 3, current, desired, current_store=current_store, desired_store=desired_store
    )


def test_a_switch_creates_every_online_view_in_the_new_store_and_drops_nothing() -> None:
    current = objects(view("a"), view("gone"), view("offline", online=False))
    desired = objects(view("a"), view("new"), view("offline", online=False))
    p = plan_of(current, desired, A, B)
    assert (p.store_change.before, p.store_change.after) == (A, B)
    # every desired online view, new or not; no drop: the old store (gone's table too) is left alone
    assert p.online_changes == (("create", "a"), ("create", "new"))
    doc = p.to_dict()
    assert doc["online_store_change"] == {"from": A, "to": B, "old_store": "kept"}
    assert doc["online_store"] == [{"action": "create", "view": "a"}, {"action": "create", "view": "new"}]
    # without a switch the same definitions create and drop as usual
    assert plan_of(current, desired, A, A).online_changes == (("drop", "gone"), ("create", "new"))


def test_a_switch_alone_is_a_change_and_its_hash_names_the_target_store() -> None:
    same = objects(view("a"))
    p = plan_of(same, same, A, B)
    assert p.changes == () and p.has_changes
    assert p.online_changes == (("create", "a"),)
    assert p.plan_hash != plan_of(same, same, A, "sqlite:data/c.db").plan_hash
    unchanged = plan_of(same, same, A, A)
    assert not unchanged.has_changes and unchanged.store_change is None
    # without stores (a diff of versions that do not both record one) the plan is as before
    assert unchanged.plan_hash == plan_of(same, same, None, None).plan_hash
    assert "online_store_change" not in json.dumps(unchanged.to_dict()).replace('"online_store_change": null', "")


def test_a_registry_without_online_views_switches_nothing() -> None:
    offline_only = objects(view("a", online=False))
    assert plan_of(offline_only, offline_only, A, B).store_change is None
    assert plan_of({}, objects(view("a")), None, B).store_change is None  # a first apply
    assert not plan_of({}, objects(view("a")), None, B).store_unrecorded


def test_a_registry_that_does_not_record_its_store_is_noted_not_switched() -> None:
    same = objects(view("a"))
    p = plan_of(same, same, None, B)
    assert p.store_change is None and not p.has_changes and p.store_unrecorded
    text = render(p, "text")
    assert text.startswith("Plan for project demo")
    assert "No changes. The registry matches the definitions." in text
    assert "the next apply that changes something records sqlite:data/b.db" in " ".join(text.split())
    assert "records `sqlite:data/b.db`" in render(p, "markdown")
    assert json.loads(render(p, "json"))["online_store_change"] is None


# --- services on real repos --------------------------------------------------------------



def use_store(root: Path, path: str, registry: str = "data/registry.json") -> None:
    (root / "fsctl.yaml").write_text(
        f"project: sw\nregistry: {registry}\nonline_store: {{type: sqlite, path: {path}}}\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "defs.yaml").write_text(DEFS)
    write_source(root)
    use_store(root, "data/a.db")
    return root


def apply(root: Path) -> Any:
    with open_workspace(root) as ws:
        return apply_definitions(ws.project, publisher(ws))


def incremental(root: Path, end: datetime) -> Any:
    with open_workspace(root) as ws:
        (run,) = run_materialize(ws, end, incremental=True).runs
        return run


def stored_keys(root: Path) -> dict[int, float]:
    with open_workspace(root) as ws:
        records = read_records(ws, "stats", [(k,) for k in range(1, 5)])
    return {k: r.values["conv_rate"] for k, r in zip(range(1, 5), records, strict=True) if r is not None}


def registry_document(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "data/registry.json").read_text()))


def state_document(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "data/registry.state.json").read_text()))


def test_apply_records_the_store_and_a_switch_is_applied_once(repo: Path) -> None:
    assert apply(repo).version_after == 1
    assert registry_document(repo)["online_store"] == A
    incremental(repo, h(24))
    a_before = stored_keys(repo)

    use_store(repo, "data/b.db")
    with open_workspace(repo) as ws:
        planned, _ = make_plan(ws.project, ws.registry_reader())
    assert planned.store_change is not None and planned.online_changes == (("create", "stats"),)
    result = apply(repo)
    assert (result.version_before, result.version_after) == (1, 2)
    document = registry_document(repo)
    assert document["online_store"] == B
    assert document["history"][-1]["online_store_change"] == {"from": A, "to": B}
    assert "online store switched to sqlite:data/b.db" in render(result, "text")
    with open_workspace(repo) as ws:
        assert ws.online_store().views("sw") == {"stats"}  # created in the new store
        again, _ = make_plan(ws.project, ws.registry_reader())
    assert not again.has_changes
    assert apply(repo).version_after == 2  # nothing left to apply
    use_store(repo, "data/a.db")
    assert stored_keys(repo) == a_before  # the old store is left as it was


def test_materialize_refuses_a_store_the_views_were_not_applied_to(repo: Path) -> None:
    apply(repo)
    incremental(repo, h(24))
    state_before = state_document(repo)
    use_store(repo, "data/b.db")
    with pytest.raises(UsageError) as info, open_workspace(repo) as ws:
        run_materialize(ws, h(48), incremental=True)
    assert info.value.message == (
        "the online views of registry data/registry.json (version 1) were applied to online store "
        "sqlite:data/a.db, but fsctl.yaml's online_store is sqlite:data/b.db, which has no tables for "
        "them until the switch is applied"
    )
    assert info.value.hint is not None and "`fsctl apply`" in info.value.hint
    assert not (repo / "data/b.db").exists()  # no half set-up: nothing was created
    assert state_document(repo) == state_before
    with pytest.raises(UsageError), open_workspace(repo) as ws:  # an explicit window too
        run_materialize(ws, h(48), start=h(0))


def test_a_new_store_loads_the_whole_window_and_switching_back_resumes(repo: Path) -> None:
    apply(repo)
    incremental(repo, h(24))
    assert incremental(repo, h(48)).start == h(24)  # A: loaded up to 48h

    use_store(repo, "data/b.db")
    apply(repo)
    run = incremental(repo, h(50))
    assert (run.start, run.note) == (h(26), "no watermark in this online store: from END minus the TTL")
    assert stored_keys(repo) == {1: 0.30, 2: 0.40, 3: 0.49}  # no gap before A's watermark
    marks = state_document(repo)["stores"]
    assert (marks[A]["stats"]["watermark"], marks[B]["stats"]["watermark"]) == (
        "2025-06-03T00:00:00Z",  # 48h, in A
        "2025-06-03T02:00:00Z",  # 50h, in B
    )
    assert [r["store"] for r in state_document(repo)["runs"]] == [A, A, B]
    with open_workspace(repo) as ws:  # describe shows the configured store's watermark
        detail = describe(ws.project, ws.registry_reader(), "views", "stats", ws.state())
    assert detail.context["watermark"] == h(50).isoformat()

    use_store(repo, "data/a.db")  # back: A's own watermark (48h) still counts, its data is there
    apply(repo)
    back = incremental(repo, h(52))
    assert (back.start, back.note) == (h(48), "from the watermark")
    assert stored_keys(repo) == {1: 0.30, 2: 0.40, 3: 0.49, 4: 0.51}


def test_a_saved_plan_switches_to_the_store_it_was_made_for_or_is_stale(repo: Path, tmp_path: Path) -> None:
    apply(repo)
    use_store(repo, "data/b.db")
    with open_workspace(repo) as ws:
        planned, _ = make_plan(ws.project, ws.registry_reader())
    save_plan(planned, tmp_path / "plan.json")
    use_store(repo, "data/c.db")
    with pytest.raises(StalePlanError), open_workspace(repo) as ws:
        apply_saved(ws.project, publisher(ws), tmp_path / "plan.json")
    assert registry_document(repo)["version"] == 1
    use_store(repo, "data/b.db")
    with open_workspace(repo) as ws:
        assert apply_saved(ws.project, publisher(ws), tmp_path / "plan.json").version_after == 2
    assert registry_document(repo)["online_store"] == B


def test_teardown_refuses_a_store_the_views_are_not_in(repo: Path) -> None:
    apply(repo)
    use_store(repo, "data/b.db")
    with pytest.raises(UsageError) as info, open_workspace(repo) as ws:
        teardown(ws.project, publisher(ws))
    assert "a teardown now would delete the objects and leave their tables in sqlite:data/a.db behind" in info.value.message
    assert registry_document(repo)["version"] == 1 and registry_document(repo)["objects"]


def test_tables_only_drops_a_left_store_and_never_the_one_in_use(repo: Path) -> None:
    apply(repo)
    incremental(repo, h(24))
    use_store(repo, "data/b.db")
    apply(repo)
    incremental(repo, h(26))

    use_store(repo, "data/b.db")  # the store in use: refused
    with pytest.raises(UsageError, match="holds the tables of the online views"), open_workspace(repo) as ws:
        drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state())

    use_store(repo, "data/a.db")  # the store left behind
    asked: list[tuple[str, ...]] = []

    def decline(drop: TablesDrop) -> bool:
        asked.append(drop.views)
        return False

    with open_workspace(repo) as ws:
        cancelled = drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state(), decline)
        assert cancelled.cancelled and ws.online_store().views("sw") == {"stats"}
        drop = drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state())
        assert (drop.dropped, drop.store, drop.views) == (True, A, ("stats",))
        assert ws.online_store().views("sw") == set()
    assert asked == [("stats",)]
    assert list(state_document(repo)["stores"]) == [B]  # A's watermarks went with its tables
    assert registry_document(repo)["version"] == 2  # the registry is not touched
    assert render(drop, "text") == (
        "Dropped the tables of 1 view of project sw from online store sqlite:data/a.db; the registry is unchanged."
    )

    use_store(repo, "data/b.db")  # the project goes on in B
    assert incremental(repo, h(30)).start == h(26)


def test_tables_only_never_drops_a_store_this_registry_did_not_leave(repo: Path) -> None:
    """Two registries of one repo (staging, prod), each with its store: the prod store through
    the staging registry is not a store staging left, so its tables and watermarks stay."""
    apply(repo)  # staging: data/registry.json in A
    use_store(repo, "data/b.db", registry="data/prod.json")
    apply(repo)
    incremental(repo, h(24))
    prod_keys = stored_keys(repo)
    prod_state = json.loads((repo / "data/prod.state.json").read_text())
    assert prod_keys and list(prod_state["stores"]) == [B]

    use_store(repo, "data/b.db")  # prod's store, through the staging registry
    with pytest.raises(UsageError) as info, open_workspace(repo) as ws:
        drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state())
    assert info.value.message == (
        "the online views of registry data/registry.json (version 1) were never switched away from online store "
        "sqlite:data/b.db: its tables may be those of another registry using it, so --tables-only leaves them"
    )
    assert info.value.hint is not None and "the stores this registry left (see `fsctl registry history`): none" in info.value.hint
    use_store(repo, "data/b.db", registry="data/prod.json")
    assert stored_keys(repo) == prod_keys  # prod's data is all there
    assert json.loads((repo / "data/prod.state.json").read_text()) == prod_state


def test_teardown_names_the_stores_left_behind(repo: Path) -> None:
    apply(repo)
    incremental(repo, h(24))
    use_store(repo, "data/b.db")
    apply(repo)
    incremental(repo, h(25))
    with open_workspace(repo) as ws:
        result = teardown(ws.project, publisher(ws))
        assert ws.online_store().views("sw") == set()
    assert result.other_stores == (A,)
    assert "loaded before still hold its tables: sqlite:data/a.db." in render(result, "text")
    assert list(state_document(repo)["stores"]) == [A]
    use_store(repo, "data/a.db")
    with open_workspace(repo) as ws:  # nothing of the project is in the registry: A can go
        drop = drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state())
        assert (drop.dropped, drop.store, drop.views) == (True, A, ("stats",))
        assert ws.online_store().views("sw") == set()
        again = teardown(ws.project, publisher(ws))
    assert again.other_stores == () and not again.written
    assert render(again, "text") == "No changes. Registry data/registry.json stays at version 3."


# --- upgrading: a registry and a state written before stores were recorded -----------------


def forget_stores(root: Path) -> None:
    """Rewrite the registry and the state document as an older fsctl wrote them."""
    registry = registry_document(root)
    del registry["online_store"]
    (root / "data/registry.json").write_text(json.dumps(registry))
    state = state_document(root)
    state["views"] = {name: mark for marks in state.pop("stores").values() for name, mark in marks.items()}
    for run in state["runs"]:
        del run["store"]
    (root / "data/registry.state.json").write_text(json.dumps(state))


def test_an_older_registry_and_state_are_read_sensibly(repo: Path) -> None:
    apply(repo)
    incremental(repo, h(24))
    forget_stores(repo)

    with open_workspace(repo) as ws:
        planned, _ = make_plan(ws.project, ws.registry_reader())
    assert not planned.has_changes and planned.store_unrecorded  # no surprise change on upgrade
    assert apply(repo).version_after == 1  # nothing to apply: nothing written
    assert "online_store" not in registry_document(repo)

    # The old watermark's store is unknown: reload from END minus the TTL (no gap possible).
    run = incremental(repo, h(48))
    assert (run.start, run.note) == (h(24), "no watermark in this online store: from END minus the TTL")
    state = state_document(repo)
    assert state["views"] == {} and state["stores"][A]["stats"]["watermark"] == "2025-06-03T00:00:00Z"

    # The next apply that changes something records the store.
    (repo / "defs.yaml").write_text(DEFS.replace("name: driver\n", "name: driver\ndescription: A driver\n", 1))
    assert apply(repo).version_after == 2
    assert registry_document(repo)["online_store"] == A
