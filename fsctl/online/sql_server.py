"""What the Postgres and MySQL online stores share: their config, their logins, a small
connection pool and the store itself, with the dialect (:mod:`.postgres`, :mod:`.mysql`)
supplying the driver and the SQL.

Each online view is a table ``{table_prefix}{project}__{view}`` with columns ``entity_key``
(the key of :mod:`fsctl.online.format`, primary key), ``event_us``, ``created_us`` (null
when the source has no created time) and ``vals`` (the JSON text). A write is one upsert
statement per batch whose condition keeps a stored record with a later ``(event_us,
created_us)``, so the never-older rule holds inside the server; a read of many keys is one
query per batch.

Two logins: ``writer`` (apply's table creation, materialize, push, teardown) and
``reader`` (online, serve, the UI, score --online), built by ``create_store`` and
``create_reader``. Without a ``reader`` section both use the writer. A login's user and
password come from fsctl.yaml's ``${VAR}`` expansion or from files (``user_file``,
``password_file``: mounted secrets); messages never show a password.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsctl.definitions.config import CONFIG_FILE, PortConfig
from fsctl.errors import ConfigError, StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import codec_for
from fsctl.online.format import StoredRecord, encode_key
from fsctl.online.rules import missing_view

LOWEST = -(2**63) + 1  # a null created time sorts before every real one
POOL_SIZE = 8  # idle connections kept per store; more are opened when threads need them
LOGIN_FIELDS = ("user", "password", "user_file", "password_file")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Login:
    user: str
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class SQLServerConfig(PortConfig):
    """The fields both server stores have (see README, "Postgres and MySQL online stores")."""

    type: str = ""
    host: str = "localhost"
    port: int | str = 0  # 0: the server's default port; a string from ${VAR} is a number too
    database: str = "fsctl"
    table_prefix: str = "fsctl_"
    writer: dict[str, str] = field(default_factory=dict)
    reader: dict[str, str] = field(default_factory=dict)
    sslmode: str = "prefer"
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    connect_timeout: int = 5

    default_port = 0

    @property
    def server_port(self) -> int:
        try:
            port = int(self.port)
        except ValueError:
            raise ConfigError(
                f"{CONFIG_FILE}: field 'online_store.port': not a port number: {self.port!r}"
            ) from None
        return port or self.default_port

    def where(self) -> str:
        """``host:port/database`` (IPv6 hosts in brackets)."""
        host = self.host.lower()
        return f"{f'[{host}]' if ':' in host else host}:{self.server_port}/{self.database}"

    def login(self, role: str, root: Path) -> Login:
        """The ``writer`` or ``reader`` login (the writer's when there is no reader section),
        reading ``*_file`` secrets relative to the repo."""
        section = self.reader if role == "reader" and self.reader else self.writer
        name = "reader" if role == "reader" and self.reader else "writer"
        where = f"{CONFIG_FILE}: field 'online_store.{name}"
        unknown = sorted(set(section) - set(LOGIN_FIELDS))
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}': unknown field", hint=f"a login has {', '.join(LOGIN_FIELDS)}"
            )
        values: dict[str, str] = {}
        for part in ("user", "password"):
            if part in section and f"{part}_file" in section:
                raise ConfigError(f"{where}': give {part} or {part}_file, not both")
            if f"{part}_file" in section:
                path = Path(section[f"{part}_file"]).expanduser()
                path = path if path.is_absolute() else root / path
                try:
                    values[part] = path.read_text(encoding="utf-8").rstrip("\r\n")
                except OSError as exc:
                    raise ConfigError(
                        f"{where}.{part}_file': cannot read {path}: {exc.strerror or exc}",
                        hint="mount the secret there, or point the field at the file that holds it",
                    ) from None
            else:
                values[part] = section.get(part, "")
        if not values["user"]:
            raise ConfigError(
                f"{where}.user': required: the database user fsctl logs in as",
                hint="write user: ${DB_USER} (or user_file:) and password: ${DB_PASSWORD} "
                "(or password_file:) under online_store.writer",
            )
        return Login(values["user"], values["password"])

    def check(self) -> None:
        if self.sslmode not in SSL_MODES:
            raise ConfigError(
                f"{CONFIG_FILE}: field 'online_store.sslmode': unknown mode {self.sslmode!r}",
                hint=f"use one of {', '.join(SSL_MODES)}",
            )


class ConnectionPool:
    """Open connections kept for reuse: a thread takes one (or opens one), and gives it back
    when it is done; one that failed is closed instead."""

    def __init__(self, connect: Callable[[], Any], size: int = POOL_SIZE) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self, fresh: bool = False) -> Iterator[tuple[Any, bool]]:
        """``(connection, whether it was idle in the pool)``; ``fresh``: a new one."""
        conn = None
        if not fresh:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
        reused = conn is not None
        if conn is None:
            conn = self._connect()
        try:
            yield conn, reused
        except BaseException:
            _close(conn)
            raise
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        _close(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone anyway
        pass


class SQLServerStore:
    """An online store in a Postgres or MySQL database; the subclass is the dialect."""

    scheme = ""
    max_name = 63  # the longest table name the server keeps whole
    batch = 1000  # records per upsert and keys per read query

    def __init__(
        self, config: SQLServerConfig, login: Login, role: str = "writer", root: Path = Path(".")
    ) -> None:
        config.check()
        self.config = config
        self.root = root
        self.login = login
        self.role = role
        self.location = f"{self.scheme}://{login.user}@{config.where()}"
        self._pool = ConnectionPool(self._open)

    # -- the dialect ------------------------------------------------------------------------

    def _open(self) -> Any:
        """A new connection, autocommit on; StoreError when it cannot be made."""
        raise NotImplementedError

    def _kind(self, exc: BaseException) -> str | None:
        """What a driver error means: 'missing' (no such table), 'denied', 'login',
        'connection', 'other'; None when ``exc`` is not the driver's."""
        raise NotImplementedError

    def _create_sql(self, table: str) -> str:
        raise NotImplementedError

    def _drop_sql(self, table: str) -> str:
        raise NotImplementedError

    def _tables(self, cursor: Any, prefix: str) -> list[str]:
        raise NotImplementedError

    def _select(self, cursor: Any, table: str, keys: list[str]) -> list[tuple[Any, ...]]:
        """``(entity_key, event_us, created_us, vals)`` rows of the keys (key as str)."""
        raise NotImplementedError

    def _upsert(self, conn: Any, table: str, rows: Sequence[StoredRecord]) -> int:
        """Write one batch in one transaction; return how many records were stored."""
        raise NotImplementedError

    # -- plumbing -------------------------------------------------------------------------

    def table(self, project: str, view: str) -> str:
        return f"{self.config.table_prefix}{project}__{view}"

    def _fail(self, exc: BaseException, action: str) -> StoreError:
        kind = self._kind(exc)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self.login.password:
            text = text.replace(self.login.password, "***")
        hints = {
            "login": f"check the {self.role} login (online_store.{self.role}.user and password or "
            "password_file) and that the user may connect to this database",
            "connection": f"check that the server is running and reachable at {self.config.host}:"
            f"{self.config.server_port}, and online_store.host, port and database in fsctl.yaml",
            "denied": f"the {self.role} user lacks a privilege: grant what README "
            "('Postgres and MySQL online stores') lists"
            + (" (the reader may only read: writes use the writer)" if self.role == "reader" else ""),
        }
        return StoreError(
            f"online store {self.location}: cannot {action}: {text}",
            hint=hints.get(kind or "", "check the online_store section of fsctl.yaml and the server's log"),
        )

    def _run(self, action: str, fn: Callable[[Any], Any], view: OnlineView | None = None) -> Any:
        """``fn(connection)`` on a pooled connection; a connection that went stale while idle
        is replaced once. Driver errors become one StoreError naming host and database."""
        for attempt in (0, 1):
            reused = False
            try:
                with self._pool.connection(fresh=attempt == 1) as (conn, reused):
                    return fn(conn)
            except StoreError:
                raise
            except Exception as exc:
                kind = self._kind(exc)
                if kind is None:
                    raise
                if kind == "connection" and reused:
                    continue
                if kind == "missing" and view is not None:
                    raise missing_view(self.location, view.project, view.name) from None
                raise self._fail(exc, action) from None
        raise AssertionError("unreachable")

    # -- the interface --------------------------------------------------------------------

    def create(self, view: OnlineView) -> None:
        table = self.table(view.project, view.name)
        if len(table.encode()) > self.max_name:
            raise StoreError(
                f"online store {self.location}: table name {table!r} is longer than the "
                f"{self.max_name} bytes the server keeps",
                hint="use a shorter online_store.table_prefix, project or view name",
            )

        def create(conn: Any) -> None:
            with conn.cursor() as cursor:
                cursor.execute(self._create_sql(table))

        self._run(f"create table {table}", create)

    def drop(self, project: str, view: str) -> None:
        table = self.table(project, view)

        def drop(conn: Any) -> None:
            with conn.cursor() as cursor:
                cursor.execute(self._drop_sql(table))

        self._run(f"drop table {table}", drop)

    def views(self, project: str) -> set[str]:
        prefix = self.table(project, "")

        def tables(conn: Any) -> list[str]:
            with conn.cursor() as cursor:
                return self._tables(cursor, prefix)

        names: list[str] = self._run("list tables", tables)
        # View names never contain '__', so the view is what follows the project's prefix.
        return {n[len(prefix) :] for n in names if n.startswith(prefix) and "__" not in n[len(prefix) :]}

    def write(self, view: OnlineView, rows: Sequence[StoredRecord]) -> int:
        table = self.table(view.project, view.name)
        stored = 0
        for start in range(0, len(rows), self.batch):
            chunk = rows[start : start + self.batch]

            def upsert(conn: Any, chunk: Sequence[StoredRecord] = chunk) -> int:
                return self._upsert(conn, table, chunk)

            stored += int(self._run(f"write to table {table}", upsert, view))
        return stored

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        table = self.table(view.project, view.name)
        codec = codec_for(view)
        encoded = [encode_key(key) for key in keys]
        unique = list(dict.fromkeys(encoded))
        found: dict[str, tuple[Any, ...]] = {}

        def select(conn: Any) -> None:
            with conn.cursor() as cursor:
                for start in range(0, len(unique), self.batch):
                    for row in self._select(cursor, table, unique[start : start + self.batch]):
                        found[row[0]] = row

        if unique:
            self._run(f"read from table {table}", select, view)
        out: list[OnlineRecord | None] = []
        for key, text in zip(keys, encoded, strict=True):
            row = found.get(text)
            out.append(
                None if row is None else OnlineRecord(tuple(key), int(row[1]), row[2], codec.decode(row[3]))
            )
        return out

    def sync(self) -> None:
        pass  # a committed transaction is durable as the server's settings make it (fsync)

    def close(self) -> None:
        self._pool.close()


def ssl_files(config: SQLServerConfig, root: Path) -> Mapping[str, str]:
    """The configured certificate and key files, relative paths resolved against the repo."""
    out: dict[str, str] = {}
    for name in ("sslrootcert", "sslcert", "sslkey"):
        value = getattr(config, name)
        if value:
            path = Path(value).expanduser()
            out[name] = str(path if path.is_absolute() else root / path)
    return out
