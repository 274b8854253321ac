"""The Redis online store (``online_store: {type: redis, url: redis://host:6379/0}``).

Each record is a hash at ``fsctl:{project}:{view}:{encoded key}`` with fields ``e``
(event time), ``c`` (created time, absent when null) and ``v`` (the JSON text of
:mod:`fsctl.online.codec`). The set ``fsctl:{project}:__views__`` lists the project's
created views. A write runs a small Lua script per record, pipelined in batches, so the
never-older rule is checked inside Redis; a read is one pipelined round trip of ``HMGET``.
Dropping a view deletes its keys with ``SCAN`` + ``UNLINK`` in batches.

Timeouts are a few seconds, so a server that does not answer fails fast with a message
naming the URL (its password masked).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fsctl.definitions.config import PortConfig
from fsctl.errors import ConfigError, StoreError, masked_url
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import codec_for
from fsctl.online.format import StoredRecord, encode_key
from fsctl.online.rules import missing_view

_BATCH = 1000

# KEYS[1]: the record's hash; ARGV: event_ts, created_ts ('' for null), vals. Returns 1 if stored.
# Times are integer microseconds: exact in Lua's doubles until the year 2255.
_WRITE_SCRIPT = """
local old = redis.call('HMGET', KEYS[1], 'e', 'c')
if old[1] then
  local e, oe = tonumber(ARGV[1]), tonumber(old[1])
  if e < oe then return 0 end
  if e == oe then
    if ARGV[2] == '' then
      if old[2] then return 0 end
    elseif old[2] and tonumber(ARGV[2]) < tonumber(old[2]) then
      return 0
    end
  end
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'c')
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 'v', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 'c', ARGV[2], 'v', ARGV[3])
end
return 1
"""


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisOnlineStore:
    """Online views as Redis hashes under ``fsctl:{project}:{view}:``."""

    def __init__(self, url: str = "redis://localhost:6379/0", *, timeout: float = 5.0) -> None:
        self.url = url
        self.location = masked_url(url)
        self.timeout = timeout
        self._client: Any = None
        self._script: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import redis

                try:
                    client = redis.Redis.from_url(
                        self.url,
                        socket_connect_timeout=min(self.timeout, 3.0),
                        socket_timeout=self.timeout,
                        decode_responses=True,
                    )
                except ValueError as exc:
                    raise StoreError(
                        f"online store {self.location}: not a valid Redis URL: {exc}",
                        hint="write online_store.url as redis://host:6379/0 (rediss:// for TLS)",
                    ) from None
                self._script = client.register_script(_WRITE_SCRIPT)
                self._client = client
            return self._client

    def _fail(self, exc: BaseException, action: str) -> StoreError:
        import redis

        if isinstance(exc, redis.AuthenticationError) or "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            hint = "check the user name and password in online_store.url"
        elif isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            hint = "check that the Redis server is running and reachable, and online_store.url in fsctl.yaml"
        else:
            hint = "check that the database in online_store.url is used by fsctl only"
        return StoreError(f"cannot {action} the Redis online store at {self.location}: {exc}", hint=hint)

    def _run(self, action: str, fn: Any, *args: Any) -> Any:
        import redis

        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise self._fail(exc, action) from None

    @staticmethod
    def _views_key(project: str) -> str:
        return f"fsctl:{project}:__views__"

    @staticmethod
    def _prefix(project: str, view: str) -> str:
        return f"fsctl:{project}:{view}:"

    # -- the interface ----------------------------------------------------------------

    def create(self, view: OnlineView) -> None:
        self._run("write to", self.client.sadd, self._views_key(view.project), view.name)

    def drop(self, project: str, view: str) -> None:
        self._run("write to", self._drop, project, view)

    def _drop(self, project: str, view: str) -> None:
        client = self.client
        client.srem(self._views_key(project), view)  # first: a half-done drop lists no view
        pattern = _glob_escape(self._prefix(project, view)) + "*"
        batch: list[str] = []
        for key in client.scan_iter(match=pattern, count=_BATCH):
            batch.append(key)
            if len(batch) >= _BATCH:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)

    def views(self, project: str) -> set[str]:
        return set(self._run("read from", self.client.smembers, self._views_key(project)))

    def write(self, view: OnlineView, rows: Sequence[StoredRecord]) -> int:
        return int(self._run("write to", self._write, view, rows))

    def _write(self, view: OnlineView, rows: Sequence[StoredRecord]) -> int:
        client = self.client
        if not client.sismember(self._views_key(view.project), view.name):
            raise missing_view(self.location, view.project, view.name)
        prefix = self._prefix(view.project, view.name)
        stored = 0
        for start in range(0, len(rows), _BATCH):
            pipe = client.pipeline(transaction=False)
            for key, event_ts, created_ts, vals in rows[start : start + _BATCH]:
                self._script(
                    keys=[prefix + key],
                    args=[str(event_ts), "" if created_ts is None else str(created_ts), vals],
                    client=pipe,
                )
            stored += sum(int(result) for result in pipe.execute())
        return stored

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        return list(self._run("read from", self._read, view, keys))

    def _read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        client = self.client
        codec = codec_for(view)
        prefix = self._prefix(view.project, view.name)
        encoded = [encode_key(key) for key in keys]
        unique = list(dict.fromkeys(encoded))
        found: dict[str, list[str | None]] = {}
        for start in range(0, max(len(unique), 1), _BATCH):
            chunk = unique[start : start + _BATCH]
            pipe = client.pipeline(transaction=False)
            if start == 0:
                pipe.sismember(self._views_key(view.project), view.name)
            for text in chunk:
                pipe.hmget(prefix + text, "e", "c", "v")
            results = pipe.execute()
            if start == 0:
                if not results[0]:
                    raise missing_view(self.location, view.project, view.name)
                results = results[1:]
            found.update(zip(chunk, results, strict=True))
        out: list[OnlineRecord | None] = []
        for key, text in zip(keys, encoded, strict=True):
            event_ts, created_ts, vals = found.get(text) or (None, None, None)
            if event_ts is None or vals is None:
                out.append(None)
                continue
            out.append(
                OnlineRecord(
                    tuple(key),
                    int(event_ts),
                    None if created_ts is None else int(created_ts),
                    codec.decode(vals),
                )
            )
        return out

    def sync(self) -> None:
        pass  # durability is the server's persistence setting (appendonly / fsync policy)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


@dataclass(frozen=True)
class RedisOnlineStoreConfig(PortConfig):
    """``online_store: {type: redis, url: redis://host:6379/0}``."""

    type: str = "redis"
    url: str = "redis://localhost:6379/0"

    def identity(self, root: Path) -> str:
        """``redis:host:port/db`` (``redis:unix:/path/db`` for a socket): where the keys live,
        without the user, password or TLS setting of the URL."""
        return redis_identity(self.url)


def redis_identity(url: str) -> str:
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        db = parts.path.strip("/") if parts.scheme != "unix" else ""
        db = db or (query.get("db") or ["0"])[0]
        if parts.scheme == "unix":
            return f"redis:unix:{parts.path}/{int(db)}"
        host = (parts.hostname or "localhost").lower()
        where = f"[{host}]" if ":" in host else host
        return f"redis:{where}:{parts.port or 6379}/{int(db)}"
    except ValueError:
        raise ConfigError(
            f"fsctl.yaml: field 'online_store.url': not a valid Redis URL: {masked_url(url)}",
            hint="write it as redis://host:6379/0 (rediss:// for TLS, unix:///path/to/socket?db=0)",
        ) from None

def create_store(config: RedisOnlineStoreConfig, root: Path) -> RedisOnlineStore:
    return RedisOnlineStore(config.url)
