"""An online store kept in dictionaries: the real implementation unit tests run against.

It follows the same contract as the sqlite, dynamodb and redis stores (it passes the same
suite), including encoding values through :mod:`fsctl.online.codec`, so a value read back
has exactly the type and precision the other stores would give.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.codec import codec_for
from fsctl.online.format import StoredRecord, encode_key
from fsctl.online.rules import keeps_stored, missing_view


class MemoryOnlineStore:
    """Records of every view in process memory; thread-safe."""

    def __init__(self, name: str = "memory") -> None:
        self.location = f"memory://{name}"
        self._tables: dict[tuple[str, str], dict[str, tuple[int, int | None, str]]] = {}
        self._lock = threading.Lock()

    def _table(self, view: OnlineView) -> dict[str, tuple[int, int | None, str]]:
        table = self._tables.get((view.project, view.name))
        if table is None:
            raise missing_view(self.location, view.project, view.name)
        return table

    def create(self, view: OnlineView) -> None:
        with self._lock:
            self._tables.setdefault((view.project, view.name), {})

    def drop(self, project: str, view: str) -> None:
        with self._lock:
            self._tables.pop((project, view), None)

    def views(self, project: str) -> set[str]:
        with self._lock:
            return {name for p, name in self._tables if p == project}

    def write(self, view: OnlineView, encoded: Sequence[StoredRecord]) -> int:
        stored = 0
        with self._lock:
            table = self._table(view)
            for key, event_ts, created_ts, vals in encoded:
                old = table.get(key)
                if old is not None and keeps_stored(event_ts, created_ts, old[0], old[1]):
                    continue
                table[key] = (event_ts, created_ts, vals)
                stored += 1
        return stored

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        codec = codec_for(view)
        with self._lock:
            table = self._table(view)
            found = [table.get(encode_key(key)) for key in keys]
        return [
            None if row is None else OnlineRecord(tuple(key), row[0], row[1], codec.decode(row[2]))
            for key, row in zip(keys, found, strict=True)
        ]

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass
