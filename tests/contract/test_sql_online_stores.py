"""What only the Postgres and MySQL online stores do (the shared contract is
``test_online_contract.py``): their two logins and README's grants, credentials from the
environment and from files, the tables they lay out, and connection errors that name the
server without its password. Both run against real servers the tests start (Postgres and
MariaDB, see ``tests/support``), as the ``fsctl_writer`` and ``fsctl_reader`` users.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fsctl.errors import ConfigError, StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import stored_records
from fsctl.online.mysql import MySQLOnlineStore, MySQLOnlineStoreConfig
from fsctl.online.postgres import PostgresOnlineStore, PostgresOnlineStoreConfig
from fsctl.online.sql_server import SQLServerConfig, SQLServerStore
from fsctl.online.sqlite import SQLiteOnlineStore
from fsctl.workspace import ONLINE_STORES, open_workspace
from tests.support import mariadb_server, postgres_server
from tests.support.s3 import free_port

T0 = 1_700_000_000_000_000


@dataclass
class Server:
    """One of the two servers, as the tests here need it."""

    kind: str  # the online_store type
    server: Any
    support: Any  # its tests.support module

    def config(self, reader: bool = True, **fields: Any) -> SQLServerConfig:
        values: dict[str, Any] = {
            "host": self.server.host,
            "port": self.server.port,
            "database": self.server.database,
            "writer": {"user": self.support.WRITER[0], "password": self.support.WRITER[1]},
            "reader": {"user": self.support.READER[0], "password": self.support.READER[1]} if reader else {},
            **fields,
        }
        if self.kind == "postgres":
            return PostgresOnlineStoreConfig(schema=postgres_server.SCHEMA, **values)
        return MySQLOnlineStoreConfig(**values)

    def store(self, role: str, tmp: Path, **fields: Any) -> SQLServerStore:
        adapter = ONLINE_STORES[self.kind]
        factory = adapter.attribute(adapter.factory if role == "writer" else str(adapter.reader))
        store: SQLServerStore = factory(self.config(**fields), tmp)
        return store

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(column, type) of a table, as the admin sees it."""
        if self.kind == "postgres":
            with self.server.connect() as conn:
                rows = conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    (postgres_server.SCHEMA, table),
                ).fetchall()
            return [(r[0], r[1]) for r in rows]
        conn = self.server.admin(self.server.database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT column_name, column_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
                return [(r[0], r[1]) for r in cursor.fetchall()]
        finally:
            conn.close()


@pytest.fixture(params=["postgres", "mysql"])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param == "postgres":
        return Server("postgres", request.getfixturevalue("postgres_server"), postgres_server)
    return Server("mysql", request.getfixturevalue("mariadb_server"), mariadb_server)


@pytest.fixture
def view() -> OnlineView:
    project = f"p{uuid.uuid4().hex[:12]}"
    return OnlineView(project, "stats", ("driver_id",), (("conv", "float64"), ("trips", "int64")))


def records(view: OnlineView, *keys: Any, event_ts: int = T0, trips: int = 1) -> list[Any]:
    return stored_records(view, [OnlineRecord((k,), event_ts, None, {"conv": 0.5, "trips": trips}) for k in keys])


# -- two logins ------------------------------------------------------------------------------


def test_the_reader_reads_what_the_writer_wrote_and_cannot_write(server: Server, view: OnlineView, tmp_path: Path) -> None:
    writer, reader = server.store("writer", tmp_path), server.store("reader", tmp_path)
    try:
        writer.create(view)
        assert writer.write(view, records(view, 1, 2)) == 2
        assert reader.login.user == "fsctl_reader" and writer.login.user == "fsctl_writer"
        assert reader.views(view.project) == {"stats"}
        got = reader.read(view, [(1,), (2,), (3,)])
        assert [r.values["trips"] if r else None for r in got] == [1, 1, None]

        for attempt in (
            lambda: reader.write(view, records(view, 1, trips=9, event_ts=T0 + 1)),
            lambda: reader.create(OnlineView(view.project, "other", ("driver_id",), ())),
            lambda: reader.drop(view.project, "stats"),
        ):
            with pytest.raises(StoreError) as err:
                attempt()
            message = str(err.value)
            assert "fsctl_reader@" in message and f"{server.server.port}/{server.server.database}" in message
            assert "lacks a privilege" in message and "reader-secret" not in message
        assert reader.read(view, [(1,)])[0].values["trips"] == 1  # type: ignore[union-attr]
        assert writer.views(view.project) == {"stats"}
    finally:
        writer.drop(view.project, "stats")
        writer.close()
        reader.close()


def test_without_a_reader_section_reads_use_the_writer(server: Server, tmp_path: Path) -> None:
    store = server.store("reader", tmp_path, reader=False)
    assert store.login.user == "fsctl_writer"
    store.close()


def test_the_workspace_reads_with_the_reader_and_writes_with_the_writer(server: Server, tmp_path: Path) -> None:
    section = server.support.online_section(server.server)
    (tmp_path / "fsctl.yaml").write_text(f"project: demo\nonline_store: {section}\n")
    with open_workspace(tmp_path) as ws:
        writer, reader = ws.online_store(), ws.online_reader()
        assert isinstance(writer, SQLServerStore) and isinstance(reader, SQLServerStore)
        assert (writer.login.user, reader.login.user) == ("fsctl_writer", "fsctl_reader")
        assert ws.online_reader() is reader and ws.online_store() is writer
        assert ws.online_store_identity == ws.online_config.identity(tmp_path)  # type: ignore[attr-defined]
    (tmp_path / "fsctl.yaml").write_text("project: demo\n")
    with open_workspace(tmp_path) as ws:
        assert isinstance(ws.online_reader(), SQLiteOnlineStore) and ws.online_reader() is ws.online_store()


def test_a_read_path_never_builds_the_writer(server: Server, tmp_path: Path) -> None:
    """The writer's secret is not mounted on a serving host: reads still work."""
    section = server.support.online_section(server.server)
    section = section.replace(f"password: {server.support.WRITER[1]}", "password_file: /nonexistent/writer")
    (tmp_path / "fsctl.yaml").write_text(f"project: demo\nonline_store: {section}\n")
    with open_workspace(tmp_path) as ws:
        assert ws.online_reader().views("nobody") == set()
        with pytest.raises(ConfigError, match=r"'online_store\.writer\.password_file': cannot read /nonexistent/writer"):
            ws.online_store()


# -- credentials -----------------------------------------------------------------------------


def test_logins_come_from_the_environment_or_from_mounted_files(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "reader_user").write_text("fsctl_reader\n")
    (secrets / "reader_password").write_text(server.support.READER[1] + "\n")
    monkeypatch.setenv("FSCTL_TEST_WRITER_PASSWORD", server.support.WRITER[1])
    monkeypatch.setenv("FSCTL_TEST_DB_PORT", str(server.server.port))
    (tmp_path / "fsctl.yaml").write_text(
        "project: demo\n"
        "online_store:\n"
        f"  type: {server.kind}\n  host: {server.server.host}\n  port: ${{FSCTL_TEST_DB_PORT}}\n"
        f"  database: {server.server.database}\n"
        + (f"  schema: {postgres_server.SCHEMA}\n" if server.kind == "postgres" else "")
        + "  writer: {user: fsctl_writer, password: '${FSCTL_TEST_WRITER_PASSWORD}'}\n"
        f"  reader: {{user_file: secrets/reader_user, password_file: '{secrets / 'reader_password'}'}}\n"
    )
    with open_workspace(tmp_path) as ws:
        assert ws.online_reader().views("nobody") == set()
        assert ws.online_store().views("nobody") == set()
        assert "secret" not in ws.online_store_identity and "secret" not in ws.online_reader().location


def test_a_login_that_is_incomplete_or_unreadable_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    def login(section: dict[str, str], role: str = "writer") -> Any:
        field = "reader" if role == "reader" else "writer"
        return PostgresOnlineStoreConfig(**{field: section}).login(role, tmp_path)  # type: ignore[arg-type]

    with pytest.raises(ConfigError, match=r"'online_store.writer.user': required"):
        login({"password": "x"})
    with pytest.raises(ConfigError, match=r"'online_store.writer.password_file': cannot read .*missing"):
        login({"user": "u", "password_file": "missing"})
    with pytest.raises(ConfigError, match=r"'online_store.reader': give password or password_file, not both"):
        login({"user": "u", "password": "x", "password_file": "f"}, "reader")
    with pytest.raises(ConfigError, match=r"'online_store.writer.pasword': unknown field"):
        login({"user": "u", "pasword": "x"})
    with pytest.raises(ConfigError, match=r"'online_store.sslmode': unknown mode 'on'"):
        PostgresOnlineStore(PostgresOnlineStoreConfig(sslmode="on"), login({"user": "u"}))
    (tmp_path / "pw").write_text("s3cret\r\n")
    assert login({"user": "u", "password_file": "pw"}).password == "s3cret"


def test_identity_names_where_the_tables_are_and_never_a_login(tmp_path: Path) -> None:
    secret = {"user": "admin", "password": "hunter2"}
    postgres = PostgresOnlineStoreConfig(host="DB.internal", database="features", schema="online", writer=secret)
    assert postgres.identity(tmp_path) == "postgres:db.internal:5432/features/online.fsctl_"
    mysql = MySQLOnlineStoreConfig(host="rds.aws", port=3307, table_prefix="fs_", reader=secret)
    assert mysql.identity(tmp_path) == "mysql:rds.aws:3307/fsctl/fs_"
    assert MySQLOnlineStore(mysql, mysql.login("reader", tmp_path)).location == "mysql://admin@rds.aws:3307/fsctl"
    from_env = PostgresOnlineStoreConfig(host="h", port="6543")  # port: ${DB_PORT} expands to a string
    assert from_env.identity(tmp_path) == "postgres:h:6543/fsctl/public.fsctl_"
    with pytest.raises(ConfigError, match=r"'online_store.port': not a port number: 'x'"):
        PostgresOnlineStoreConfig(port="x").identity(tmp_path)


def test_mysql_tls_follows_sslmode(tmp_path: Path) -> None:
    def context(mode: str, **files: str) -> ssl.SSLContext | None:
        config = MySQLOnlineStoreConfig(sslmode=mode, writer={"user": "u"}, **files)  # type: ignore[arg-type]
        return MySQLOnlineStore(config, config.login("writer", tmp_path), root=tmp_path)._ssl()

    assert context("disable") is None and context("prefer") is None
    required = context("require")
    assert required is not None and required.verify_mode == ssl.CERT_NONE and not required.check_hostname
    full = context("verify-full")
    assert full is not None and full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname
    with pytest.raises(FileNotFoundError):  # a relative CA file is the repo's
        context("verify-ca", sslrootcert="certs/ca.pem")


# -- errors ----------------------------------------------------------------------------------


def test_a_server_that_is_not_there_is_a_store_error_naming_host_port_and_database(tmp_path: Path) -> None:
    port = free_port()
    for config in (
        PostgresOnlineStoreConfig(host="127.0.0.1", port=port, database="feats", writer={"user": "w", "password": "pw-1"}),
        MySQLOnlineStoreConfig(host="127.0.0.1", port=port, database="feats", writer={"user": "w", "password": "pw-1"}),
    ):
        store = ONLINE_STORES[config.type].attribute("create_store")(config, tmp_path)
        started = time.monotonic()
        with pytest.raises(StoreError) as err:
            store.views("p")
        assert time.monotonic() - started < 10
        message = str(err.value)
        assert f"w@127.0.0.1:{port}/feats" in message and "pw-1" not in message
        assert "check that the server is running" in message


def test_a_wrong_password_says_to_check_the_login(server: Server, tmp_path: Path) -> None:
    store = server.store("writer", tmp_path, writer={"user": "fsctl_writer", "password": "not-it"})
    with pytest.raises(StoreError) as err:
        store.views("p")
    message = str(err.value)
    assert f"fsctl_writer@127.0.0.1:{server.server.port}/fsctl" in message
    assert "check the writer login" in message and "not-it" not in message


def test_a_view_without_a_table_says_to_apply_for_both_logins(server: Server, view: OnlineView, tmp_path: Path) -> None:
    for role in ("writer", "reader"):
        store = server.store(role, tmp_path)
        with pytest.raises(StoreError, match="has no online table") as err:
            store.read(view, [(1,)])
        assert "fsctl apply" in str(err.value)
        store.close()


# -- layout ----------------------------------------------------------------------------------


def test_layout_one_table_per_view_with_a_case_sensitive_key(server: Server, view: OnlineView, tmp_path: Path) -> None:
    store = server.store("writer", tmp_path)
    try:
        store.create(view)
        table = f"fsctl_{view.project}__stats"
        names = [c for c, _ in server.columns(table)]
        assert names == ["entity_key", "event_us", "created_us", "vals"]
        assert store.write(view, records(view, "A", "a")) == 2  # two keys, not one
        assert [r is not None for r in store.read(view, [("A",), ("a",), ("b",)])] == [True, True, False]
        with pytest.raises(StoreError, match="longer than the"):
            store.create(OnlineView(view.project, "v" * 70, ("driver_id",), ()))
    finally:
        store.drop(view.project, "stats")
        store.close()


def test_a_stale_pooled_connection_is_replaced(server: Server, view: OnlineView, tmp_path: Path) -> None:
    store = server.store("writer", tmp_path)
    try:
        store.create(view)
        store.write(view, records(view, 1))
        kill: Callable[[], None]
        if server.kind == "postgres":
            kill = lambda: server.server.execute(  # noqa: E731
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'fsctl_writer'"
            )
        else:

            def kill() -> None:
                conn = server.server.admin()
                with conn.cursor() as cursor:
                    cursor.execute("SELECT id FROM information_schema.processlist WHERE user = 'fsctl_writer'")
                    for (pid,) in cursor.fetchall():
                        cursor.execute(f"KILL {int(pid)}")
                conn.close()

        kill()
        time.sleep(0.2)
        assert store.read(view, [(1,)])[0] is not None
    finally:
        store.drop(view.project, "stats")
        store.close()
