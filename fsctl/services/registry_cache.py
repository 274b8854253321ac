"""Use case: a registry that long-running readers (``fsctl ui``) browse as it is *now*, and
as it was at any past version.

:class:`LiveRegistry` re-reads the registry at most every ``interval`` seconds (two by
default) and keeps one snapshot per version: a reader never sees a version older than the
last check, never a cached one forever, and what was derived from a snapshot (its status,
its search index) can be cached beside it because a version never changes. A past version
(``at``) is read once and kept (it cannot change either).

Both hand out a :class:`PinnedRegistry`: a :class:`~fsctl.registry.RegistryReader` whose
``read`` answers that one snapshot, so every browse service (``describe``, ``lineage``,
``history``, ...) sees one consistent version for the whole of a page.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fsctl.errors import UsageError
from fsctl.registry import RegistryReader, RegistrySnapshot
from fsctl.registry.document import parse_document

DEFAULT_INTERVAL = 2.0
_MAX_PAST = 64  # past versions kept, least recently used dropped first
_MAX_MEMO = 256  # derived values kept across versions (see LiveRegistry.memo)


class PinnedRegistry:
    """A registry reader fixed at one snapshot; past versions are read through ``source``."""

    def __init__(self, snapshot: RegistrySnapshot, source: RegistryReader, *, current: bool) -> None:
        self.snapshot = snapshot
        self.source = source
        self.location = source.location
        self.current = current  # the newest version at the last check (not a past one)
        self.extras: dict[str, Any] = {}  # what callers derive from this version and keep

    @property
    def version(self) -> int:
        return self.snapshot.version

    def read(self) -> RegistrySnapshot:
        return self.snapshot

    def read_version(self, version: int) -> dict[str, Any]:
        if version == self.snapshot.version and self.current:
            return self.snapshot.to_document()
        return self.source.read_version(version)


class LiveRegistry:
    """The registry, re-read when ``interval`` seconds have passed since the last check.

    Thread-safe. A failed re-read raises (a browser is told the registry cannot be read,
    rather than shown a version that may be stale); the next request tries again."""

    def __init__(
        self,
        source: RegistryReader,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.location = source.location
        self.interval = interval
        self._clock = clock
        self._current: PinnedRegistry | None = None
        self._checked_until = -math.inf
        self._past: OrderedDict[int, PinnedRegistry] = OrderedDict()
        self._memo: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def current(self) -> PinnedRegistry:
        with self._lock:
            pinned = self._current
            if pinned is not None and self._clock() < self._checked_until:
                return pinned
            snapshot = self.source.read()
            if pinned is None or snapshot.version != pinned.version or snapshot.project != pinned.snapshot.project:
                pinned = self._current = PinnedRegistry(snapshot, self.source, current=True)
            self._checked_until = self._clock() + self.interval
            return pinned

    def at(self, version: int | None) -> PinnedRegistry:
        """The registry at ``version`` (None or the current version: the current one); a
        version that does not exist is a UsageError."""
        current = self.current()
        if version is None or version == current.version:
            return current
        if version < 1 or version > current.version:
            raise UsageError(
                f"the registry {self.location} has no version {version} (versions 1..{current.version})"
                if current.version
                else f"the registry {self.location} has no versions yet",
                hint="see the registry history",
            )
        with self._lock:
            pinned = self._past.get(version)
            if pinned is not None:
                self._past.move_to_end(version)
        if pinned is None:
            document = self.source.read_version(version)
            snapshot = parse_document(json.dumps(document), self.location)
            pinned = PinnedRegistry(snapshot, self.source, current=False)
            with self._lock:
                self._past[version] = pinned
                while len(self._past) > _MAX_PAST:
                    self._past.popitem(last=False)
        return pinned

    def memo(self, key: Any, default: Any = None) -> Any:
        """What a caller derived from past versions and keeps across them (they never
        change), e.g. an object's history up to some version; the least recently used of
        ``_MAX_MEMO`` entries are dropped."""
        with self._lock:
            if key not in self._memo:
                return default
            self._memo.move_to_end(key)
            return self._memo[key]

    def remember(self, key: Any, value: Any) -> None:
        with self._lock:
            self._memo[key] = value
            self._memo.move_to_end(key)
            while len(self._memo) > _MAX_MEMO:
                self._memo.popitem(last=False)
