"""The MySQL / MariaDB online store (``online_store: {type: mysql, host, port, database,
table_prefix, writer: {user, password}, reader: {user, password}}``), with PyMySQL.

Tables are named as :mod:`.sql_server` says, InnoDB, with a binary collation on the key
(so ``A`` and ``a`` are two keys, as in every other store). A write is, per batch, one
transaction of two statements: ``SELECT ... FOR UPDATE`` of the batch's stored times (which
locks those keys and says how many records the write will store: MySQL's affected-rows
count cannot tell an insert from a replaced or a kept record) and one multi-row ``INSERT
... ON DUPLICATE KEY UPDATE col = IF(newer, VALUES(col), col)``. MySQL assigns left to
right, so ``vals`` and ``created_us`` are assigned before ``event_us``, and the condition
still holds for the later columns once the earlier are replaced. A read of many keys is one
``WHERE entity_key IN (...)``.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.online.format import StoredRecord
from fsctl.online.rules import keeps_stored
from fsctl.online.sql_server import LOWEST, SQLServerConfig, SQLServerStore, ssl_files

# MySQL error codes
_NO_SUCH_TABLE = 1146
_DENIED = (1142, 1143, 1044, 1227)  # table, column, database access; needs a privilege
_LOGIN = (1045, 1698)
_CONNECTION = (2002, 2003, 2005, 2006, 2013, 2055)

_NEWER = (
    "(VALUES(event_us) > event_us OR (VALUES(event_us) = event_us AND "
    f"COALESCE(VALUES(created_us), {LOWEST}) >= COALESCE(created_us, {LOWEST})))"
)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySQLOnlineStore(SQLServerStore):
    """Online views as tables of one MySQL (or MariaDB) database."""

    scheme = "mysql"
    max_name = 64
    batch = 1000

    def _ssl(self) -> ssl.SSLContext | None:
        mode = self.config.sslmode
        files = ssl_files(self.config, self.root)
        if mode == "disable" or (mode in ("allow", "prefer") and not files):
            return None
        context = ssl.create_default_context(cafile=files.get("sslrootcert"))
        if "sslcert" in files:
            context.load_cert_chain(files["sslcert"], files.get("sslkey"))
        context.check_hostname = mode == "verify-full"
        if mode not in ("verify-ca", "verify-full"):
            context.verify_mode = ssl.CERT_NONE
        return context

    def _open(self) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.config.host,
            port=self.config.server_port,
            database=self.config.database,
            user=self.login.user,
            password=self.login.password,
            ssl=self._ssl(),
            connect_timeout=self.config.connect_timeout,
            charset="utf8mb4",
            autocommit=True,
        )

    def _kind(self, exc: BaseException) -> str | None:
        import pymysql

        if not isinstance(exc, pymysql.err.Error):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code == _NO_SUCH_TABLE:
            return "missing"
        if code in _DENIED:
            return "denied"
        if code in _LOGIN:
            return "login"
        if code in _CONNECTION or isinstance(exc, pymysql.err.InterfaceError):
            return "connection"
        return "other"

    def _create_sql(self, table: str) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {_quote(table)} ("
            "entity_key VARCHAR(700) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, "
            "event_us BIGINT NOT NULL, created_us BIGINT NULL, "
            "vals LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
            ") ENGINE=InnoDB ROW_FORMAT=DYNAMIC"
        )

    def _drop_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {_quote(table)}"

    def _tables(self, cursor: Any, prefix: str) -> list[str]:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND LEFT(table_name, %s) = %s",
            (len(prefix), prefix),
        )
        return [row[0] for row in cursor.fetchall()]

    def _select(self, cursor: Any, table: str, keys: list[str]) -> list[tuple[Any, ...]]:
        marks = ",".join(["%s"] * len(keys))
        cursor.execute(
            f"SELECT entity_key, event_us, created_us, vals FROM {_quote(table)} WHERE entity_key IN ({marks})",
            keys,
        )
        return list(cursor.fetchall())

    def _upsert(self, conn: Any, table: str, rows: Sequence[StoredRecord]) -> int:
        t = _quote(table)
        marks = ",".join(["%s"] * len(rows))
        upsert = (
            f"INSERT INTO {t} (entity_key, event_us, created_us, vals) VALUES (%s, %s, %s, %s) "
            f"ON DUPLICATE KEY UPDATE vals = IF({_NEWER}, VALUES(vals), vals), "
            f"created_us = IF({_NEWER}, VALUES(created_us), created_us), "
            f"event_us = IF({_NEWER}, VALUES(event_us), event_us)"
        )
        conn.begin()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    f"SELECT entity_key, event_us, created_us FROM {t} WHERE entity_key IN ({marks}) FOR UPDATE",
                    [row[0] for row in rows],
                )
                stored = {key: (event_us, created_us) for key, event_us, created_us in cursor.fetchall()}
                kept = 0
                for key, event_us, created_us, _ in rows:
                    old = stored.get(key)
                    if old is not None and keeps_stored(event_us, created_us, old[0], old[1]):
                        kept += 1
                cursor.executemany(upsert, rows)  # PyMySQL sends one multi-row INSERT
            conn.commit()
        except BaseException:
            with suppress(Exception):  # a broken connection cannot roll back; the server does
                conn.rollback()
            raise
        return len(rows) - kept


@dataclass(frozen=True)
class MySQLOnlineStoreConfig(SQLServerConfig):
    """``online_store: {type: mysql, ...}``: the fields of :class:`SQLServerConfig`."""

    type: str = "mysql"

    default_port = 3306

    def identity(self, root: Path) -> str:
        """``mysql:host:port/database/prefix``: where the tables are, never a login."""
        return f"mysql:{self.where()}/{self.table_prefix}"


def create_store(config: MySQLOnlineStoreConfig, root: Path) -> MySQLOnlineStore:
    """The store as the writer (apply, materialize, push, teardown)."""
    return MySQLOnlineStore(config, config.login("writer", root), "writer", root)


def create_reader(config: MySQLOnlineStoreConfig, root: Path) -> MySQLOnlineStore:
    """The store as the reader (online, serve, the UI, score --online)."""
    return MySQLOnlineStore(config, config.login("reader", root), "reader", root)
