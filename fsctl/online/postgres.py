"""The Postgres online store (``online_store: {type: postgres, host, port, database, schema,
writer: {user, password}, reader: {user, password}}``), with psycopg 3.

Tables live in ``schema`` (default ``public``), named as :mod:`.sql_server` says; the key
column is ``bytea`` (a key may hold the NUL of a null part, which ``text`` cannot). A write
is one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (entity_key) DO UPDATE ... WHERE
(new event, new created) >= (stored event, stored created)`` per batch: four array
parameters, so a batch of a thousand records is one round trip. A read of many keys is one
``WHERE entity_key = ANY(%s)``; psycopg prepares each statement after a few uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.online.format import StoredRecord
from fsctl.online.sql_server import LOWEST, SQLServerConfig, SQLServerStore, ssl_files


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresOnlineStore(SQLServerStore):
    """Online views as tables of one Postgres schema."""

    scheme = "postgres"
    max_name = 63
    batch = 5000  # records per upsert (four binary array parameters) and keys per read
    config: PostgresOnlineStoreConfig

    def _name(self, table: str) -> str:
        return f"{_quote(self.config.schema)}.{_quote(table)}"

    def _open(self) -> Any:
        import psycopg

        params: dict[str, Any] = {
            "host": self.config.host,
            "port": self.config.server_port,
            "dbname": self.config.database,
            "user": self.login.user,
            "password": self.login.password or None,
            "sslmode": self.config.sslmode,
            "connect_timeout": self.config.connect_timeout,
            "application_name": f"fsctl-{self.role}",
            **ssl_files(self.config, self.root),
        }
        return psycopg.connect(autocommit=True, **params)

    def _kind(self, exc: BaseException) -> str | None:
        import psycopg
        from psycopg import errors

        if not isinstance(exc, psycopg.Error):
            return None
        if isinstance(exc, errors.UndefinedTable):
            return "missing"
        if isinstance(exc, errors.InsufficientPrivilege):
            return "denied"
        if isinstance(exc, (errors.InvalidPassword, errors.InvalidAuthorizationSpecification)):
            return "login"
        if isinstance(exc, psycopg.OperationalError):
            text = str(exc)
            if "password authentication failed" in text or "no password supplied" in text:
                return "login"
            if "permission denied" in text:
                return "denied"
            return "connection"
        if isinstance(exc, psycopg.InterfaceError):
            return "connection"
        return "other"

    def _create_sql(self, table: str) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self._name(table)} (entity_key bytea PRIMARY KEY, "
            "event_us bigint NOT NULL, created_us bigint, vals text NOT NULL)"
        )

    def _drop_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self._name(table)}"

    def _tables(self, cursor: Any, prefix: str) -> list[str]:
        cursor.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
            "AND left(c.relname, %s) = %s",
            (self.config.schema, len(prefix), prefix),
        )
        return [row[0] for row in cursor.fetchall()]

    def _select(self, cursor: Any, table: str, keys: list[str]) -> list[tuple[Any, ...]]:
        columns = f"SELECT entity_key, event_us, created_us, vals FROM {self._name(table)} WHERE entity_key"
        if len(keys) == 1:
            cursor.execute(f"{columns} = %b", (keys[0].encode(),))
        else:
            cursor.execute(f"{columns} = ANY(%b)", ([key.encode() for key in keys],))
        return [(bytes(k).decode(), e, c, v) for k, e, c, v in cursor.fetchall()]

    def _upsert(self, conn: Any, table: str, rows: Sequence[StoredRecord]) -> int:
        keys, events, created, vals = [], [], [], []
        for key, event_us, created_us, text in rows:
            keys.append(key.encode())
            events.append(event_us)
            created.append(created_us)
            vals.append(text)
        sql = (
            f"INSERT INTO {self._name(table)} AS t (entity_key, event_us, created_us, vals) "
            "SELECT * FROM unnest(%b::bytea[], %b::bigint[], %b::bigint[], %b::text[]) "
            "ON CONFLICT (entity_key) DO UPDATE SET event_us = excluded.event_us, "
            "created_us = excluded.created_us, vals = excluded.vals "
            f"WHERE (excluded.event_us, coalesce(excluded.created_us, {LOWEST})) "
            f">= (t.event_us, coalesce(t.created_us, {LOWEST}))"
        )
        with conn.cursor() as cursor:
            cursor.execute(sql, (keys, events, created, vals))
            return int(cursor.rowcount)


@dataclass(frozen=True)
class PostgresOnlineStoreConfig(SQLServerConfig):
    """``online_store: {type: postgres, ...}``: the fields of :class:`SQLServerConfig` and
    ``schema``."""

    type: str = "postgres"
    schema: str = "public"

    default_port = 5432

    def identity(self, root: Path) -> str:
        """``postgres:host:port/database/schema.prefix``: where the tables are, never a login."""
        return f"postgres:{self.where()}/{self.schema}.{self.table_prefix}"


def create_store(config: PostgresOnlineStoreConfig, root: Path) -> PostgresOnlineStore:
    """The store as the writer (apply, materialize, push, teardown)."""
    return PostgresOnlineStore(config, config.login("writer", root), "writer", root)


def create_reader(config: PostgresOnlineStoreConfig, root: Path) -> PostgresOnlineStore:
    """The store as the reader (online, serve, the UI, score --online)."""
    return PostgresOnlineStore(config, config.login("reader", root), "reader", root)
