"""The default online store: one SQLite file (``data/online.db``), for one machine.

Each online view is a table ``"{project}__{view}"`` with columns ``key TEXT PRIMARY KEY,
event_ts INTEGER, created_ts INTEGER, vals TEXT`` (see :mod:`fsctl.online.codec`). A write
is one transaction of conditional upserts, so the never-older rule holds inside SQLite
itself, and a materialize in another process can run while ``fsctl serve`` reads: the file
is in WAL mode and every connection waits (``busy_timeout``) rather than failing.

One connection per store object, shared by threads under a lock (the HTTP server reads
from its worker threads). The file and its folder are created on first use.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.definitions.config import PortConfig
from fsctl.errors import StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import ViewCodec, codec_for
from fsctl.online.format import StoredRecord, encode_key
from fsctl.online.rules import missing_view

_BUSY_TIMEOUT_S = 30.0
_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's bound-parameter limit
_LOWEST = -(2**63)  # a null created time sorts before every real one


def table_name(project: str, view: str) -> str:
    return f"{project}__{view}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Statements:
    """The SQL of one view's table, built once."""

    __slots__ = ("create", "select_many", "select_one", "table", "upsert")

    def __init__(self, project: str, view: str) -> None:
        self.table = table_name(project, view)
        t = _quote(self.table)
        self.create = (
            f"CREATE TABLE IF NOT EXISTS {t} "
            "(key TEXT PRIMARY KEY, event_ts INTEGER NOT NULL, created_ts INTEGER, vals TEXT NOT NULL) "
            "WITHOUT ROWID"  # one B-tree keyed by the key: faster writes and point reads
        )
        self.select_one = f"SELECT event_ts, created_ts, vals FROM {t} WHERE key = ?"
        self.select_many = f"SELECT key, event_ts, created_ts, vals FROM {t} WHERE key IN "
        self.upsert = (
            f"INSERT INTO {t} (key, event_ts, created_ts, vals) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET event_ts = excluded.event_ts, "
            "created_ts = excluded.created_ts, vals = excluded.vals "
            "WHERE excluded.event_ts > event_ts OR (excluded.event_ts = event_ts AND "
            f"coalesce(excluded.created_ts, {_LOWEST}) >= coalesce(created_ts, {_LOWEST}))"
        )


class SQLiteOnlineStore:
    """Online views as tables of one SQLite file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._sql: dict[tuple[str, str], _Statements] = {}

    # -- plumbing ---------------------------------------------------------------------

    def _fail(self, exc: BaseException, action: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another process holds a write lock on the file for too long; retry when it is done"
        elif "not a database" in text or "malformed" in text:
            hint = "the file is not an fsctl online store (or is damaged); point online_store.path elsewhere"
        else:
            hint = "check that the folder exists or can be created, is writable, and has free space"
        return StoreError(f"online store {self.location}: cannot {action}: {text}", hint=hint)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, (FileExistsError, NotADirectoryError)):
                reason = f"{exc.filename or self.path.parent} is a file, not a folder"
            elif isinstance(exc, OSError):
                reason = f"{exc.strerror or exc}: {exc.filename or self.path.parent}"
            else:
                reason = str(exc)
            raise StoreError(
                f"online store {self.location}: cannot open the SQLite file: {reason}",
                hint=f"check that {self.path.parent} exists or can be created and is writable, "
                "or set online_store.path in fsctl.yaml",
            ) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._fail(exc, "open the SQLite file") from None
        return conn

    def _error(
        self, conn: sqlite3.Connection, exc: sqlite3.Error, action: str, view: OnlineView | None
    ) -> StoreError:
        """Roll back what ``action`` began and describe ``exc`` as one StoreError."""
        if conn.in_transaction:
            conn.rollback()
        if view is not None:
            if "no such table" in str(exc):
                return missing_view(self.location, view.project, view.name)
            action = f"{action} table {table_name(view.project, view.name)}"
        return self._fail(exc, action)

    @contextmanager
    def _connection(self, action: str, view: OnlineView | None = None) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; SQLite errors become one StoreError."""
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._error(self._conn, exc, action, view) from None

    def _statements(self, project: str, view: str) -> _Statements:
        sql = self._sql.get((project, view))
        if sql is None:
            sql = self._sql[(project, view)] = _Statements(project, view)
        return sql

    # -- the interface ----------------------------------------------------------------

    def create(self, view: OnlineView) -> None:
        sql = self._statements(view.project, view.name)
        with self._connection("create", view) as conn:
            conn.execute(sql.create)

    def drop(self, project: str, view: str) -> None:
        table = table_name(project, view)
        with self._connection(f"drop table {table}") as conn:
            conn.execute(f"DROP TABLE IF EXISTS {_quote(table)}")

    def views(self, project: str) -> set[str]:
        prefix = f"{project}__"
        with self._connection("list tables") as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        # View names never contain '__', so the view is what follows the project's prefix.
        return {n[len(prefix) :] for n in names if n.startswith(prefix) and "__" not in n[len(prefix) :]}

    def write(self, view: OnlineView, rows: Sequence[StoredRecord]) -> int:
        sql = self._statements(view.project, view.name)
        with self._connection("write to", view) as conn:
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql.upsert, rows)
            conn.execute("COMMIT")
            return conn.total_changes - before

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        sql = self._statements(view.project, view.name)
        codec = codec_for(view)
        if len(keys) == 1:  # the hot path (one entity per request): no context manager
            key = keys[0]
            with self._lock:
                conn = self._conn
                if conn is None:
                    conn = self._conn = self._connect()
                try:
                    row = conn.execute(sql.select_one, (encode_key(key),)).fetchone()
                except sqlite3.Error as exc:
                    raise self._error(conn, exc, "read from", view) from None
            if row is None:
                return [None]
            return [OnlineRecord(tuple(key), row[0], row[1], codec.decode(row[2]))]
        return self._read_many(view, sql, codec, keys)

    def _read_many(
        self, view: OnlineView, sql: _Statements, codec: ViewCodec, keys: Sequence[tuple[Any, ...]]
    ) -> list[OnlineRecord | None]:
        encoded = [encode_key(key) for key in keys]
        unique = list(dict.fromkeys(encoded))
        found: dict[str, tuple[int, int | None, str]] = {}
        if unique:
            with self._connection("read from", view) as conn:
                for start in range(0, len(unique), _CHUNK):
                    chunk = unique[start : start + _CHUNK]
                    query = sql.select_many + "(" + ",".join("?" * len(chunk)) + ")"
                    for key, event_ts, created_ts, vals in conn.execute(query, chunk):
                        found[key] = (event_ts, created_ts, vals)
        out: list[OnlineRecord | None] = []
        for key, text in zip(keys, encoded, strict=True):
            row = found.get(text)
            out.append(
                None if row is None else OnlineRecord(tuple(key), row[0], row[1], codec.decode(row[2]))
            )
        return out

    def sync(self) -> None:
        # Commits do not fsync (synchronous = NORMAL, WAL). A checkpoint that copies frames
        # fsyncs the WAL first and the database after; PASSIVE never waits for readers, so a
        # reader on an older snapshot can leave frames behind: then fsync the WAL directly.
        with self._connection("sync") as conn:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if row is None or row[1] == row[2]:  # every frame is in the database file now
                return
            wal = f"{self.path}-wal"
            try:
                fd = os.open(wal, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise self._fail(exc, f"sync {wal}") from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@dataclass(frozen=True)
class SQLiteOnlineStoreConfig(PortConfig):
    """``online_store: {type: sqlite, path: data/online.db}`` (the default); a relative
    path is relative to the repo."""

    type: str = "sqlite"
    path: str = "data/online.db"

    def file(self, root: Path) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else root / path

    def identity(self, root: Path) -> str:
        """``sqlite:`` and the file, resolved: relative to the repo when it is inside it (so
        every checkout of the repo names it the same), else absolute."""
        path, base = self.file(root).resolve(), root.resolve()
        try:
            return f"sqlite:{path.relative_to(base).as_posix()}"
        except ValueError:
            return f"sqlite:{path.as_posix()}"


def create_store(config: SQLiteOnlineStoreConfig, root: Path) -> SQLiteOnlineStore:
    return SQLiteOnlineStore(config.file(root))
