"""The composition root (fsctl.workspace): one adapter table per port, configs validated
against the chosen type's model, ports built once and owned, injection for tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fsctl.errors import ConfigError, UsageError
from fsctl.online.memory import MemoryOnlineStore
from fsctl.registry.memory import MemoryRegistry
from fsctl.state.memory import MemoryStateStore
from fsctl.storage import parse_location
from fsctl.workspace import OFFLINE_ENGINES, ONLINE_STORES, REGISTRIES, STATE_STORES, Adapter, open_workspace


def repo(tmp_path: Path, config: str) -> Path:
    (tmp_path / "fsctl.yaml").write_text(config)
    return tmp_path


def test_every_row_of_every_table_names_a_real_module_config_and_factory() -> None:
    for table in (OFFLINE_ENGINES, ONLINE_STORES):
        for kind, adapter in table.items():
            assert adapter.config is not None
            config = adapter.attribute(adapter.config)
            assert {f.name: f.default for f in dataclasses.fields(config)}["type"] == kind
            assert callable(adapter.attribute(adapter.factory))
    for table in (REGISTRIES, STATE_STORES):
        assert set(table) == {"local", "s3"}
        for adapter in table.values():
            assert callable(adapter.attribute(adapter.factory))


def test_defaults_build_sqlite_duckdb_and_local_files(tmp_path: Path) -> None:
    with open_workspace(repo(tmp_path, "project: demo\n")) as ws:
        assert type(ws.online_store()).__name__ == "SQLiteOnlineStore"
        assert ws.online_store().location == str(tmp_path / "data/online.db")
        assert ws.online_store() is ws.online_store()  # built once
        assert ws.offline_engine().name == "duckdb"
        assert ws.registry().location == str(tmp_path / "data/registry.json")
        assert ws.registry_reader() is ws.registry()
        assert ws.state().location == str(tmp_path / "data/registry.state.json")
        assert ws.project.name == "demo" and ws.project.registry_uri == "data/registry.json"


def test_each_online_store_type_is_built_from_its_section(tmp_path: Path) -> None:
    cases = {
        "{type: sqlite, path: /tmp/x.db}": ("SQLiteOnlineStore", "/tmp/x.db"),
        "{type: dynamodb, region: eu-west-1, table_prefix: t_}": ("DynamoDBOnlineStore", "dynamodb eu-west-1 tables t_*"),
        "{type: redis, url: 'redis://:pw@h:1/2'}": ("RedisOnlineStore", "redis://:***@h:1/2"),
    }
    for section, (cls, location) in cases.items():
        with open_workspace(repo(tmp_path, f"project: demo\nonline_store: {section}\n")) as ws:
            store = ws.online_store()
            assert (type(store).__name__, store.location) == (cls, location)


def test_a_bad_section_is_one_config_error_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"field 'online_store.type': unknown online store type 'mongodb': use sqlite, dynamodb, redis"):
        open_workspace(repo(tmp_path, "project: demo\nonline_store: {type: mongodb}\n"))
    with pytest.raises(ConfigError, match=r"fsctl.yaml: field 'online_store.host': unknown field"):
        open_workspace(repo(tmp_path, "project: demo\nonline_store: {type: redis, host: h}\n"))
    with pytest.raises(ConfigError, match=r"field 'offline_store.type': unknown offline store type 'spork': use duckdb"):
        open_workspace(repo(tmp_path, "project: demo\noffline_store: {type: spork}\n"))


def test_the_registry_uri_is_parsed_only_when_the_registry_is_used(tmp_path: Path) -> None:
    ws = open_workspace(repo(tmp_path, "project: demo\n"), "ftp://x/registry.json")
    with pytest.raises(UsageError, match="unknown scheme"):
        ws.registry()
    with pytest.raises(UsageError, match="an S3 location is s3://bucket/key"):
        open_workspace(tmp_path, "s3://bucket-only").registry()


def test_a_missing_extra_names_the_package_and_the_extra() -> None:
    adapter = Adapter("fsctl.online.memory", None, "MemoryOnlineStore", ("no_such_package_xyz", "thing"))
    with pytest.raises(UsageError) as caught:
        adapter.check_installed("online_store type 'thing'")
    assert caught.value.message == "online_store type 'thing' needs the no_such_package_xyz package, which is not installed"
    assert caught.value.hint == "install fsctl with the thing extra: pip install 'fsctl[thing]'"


def test_injected_ports_are_used_as_they_are_and_closed_with_the_workspace(tmp_path: Path) -> None:
    closed: list[str] = []

    class Store(MemoryOnlineStore):
        def close(self) -> None:
            closed.append("online")

    registry, state, online = MemoryRegistry(), MemoryStateStore(), Store()
    ws = open_workspace(repo(tmp_path, "project: demo\n"), registry, state=state, online=online)
    assert ws.registry() is registry and ws.state() is state and ws.online_store() is online
    ws.close()
    assert closed == ["online"]


def test_locations() -> None:
    local = parse_location("data/registry.json", Path("/repo"))
    assert (local.scheme, local.path, local.uri) == ("local", Path("/repo/data/registry.json"), "/repo/data/registry.json")
    assert parse_location("/abs/r.json", Path("/repo")).path == Path("/abs/r.json")
    s3 = parse_location("s3://b/k/registry.json", Path("/repo"))
    assert (s3.scheme, s3.bucket, s3.key) == ("s3", "b", "k/registry.json")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        ("postgresql://app:s3cret@db:5432/features", "postgresql://app:***@db:5432/features"),
        ("http://user@host/path", "http://user@host/path"),  # no password: as it is
        ("redis://u:p@h:notaport/0", "redis://u:***@h:notaport/0"),  # masked even when unparsable
    ],
)
def test_passwords_in_urls_are_masked(url: str, shown: str) -> None:
    from fsctl.errors import masked_text, masked_url

    assert masked_url(url) == shown
    assert masked_text(f"cannot connect to {url}: refused") == f"cannot connect to {shown}: refused"
