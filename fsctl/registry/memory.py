"""An in-memory registry: the reference implementation for tests and dry runs."""

from __future__ import annotations

import copy
import threading
from typing import Any

from fsctl.errors import ConflictError, RegistryError
from fsctl.registry.document import RegistrySnapshot, empty_snapshot


class MemoryRegistry:
    def __init__(self, location: str = "memory://") -> None:
        self.location = location
        self._lock = threading.Lock()
        self._versions: dict[int, dict[str, Any]] = {}
        self._current: RegistrySnapshot = empty_snapshot(location)

    def read(self) -> RegistrySnapshot:
        with self._lock:
            return copy.deepcopy(self._current)

    def read_version(self, version: int) -> dict[str, Any]:
        with self._lock:
            if version not in self._versions:
                raise RegistryError(f"the registry {self.location} has no version {version}")
            return copy.deepcopy(self._versions[version])

    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        with self._lock:
            if self._current.version != expected.version:
                raise ConflictError(
                    f"the registry {self.location} moved from version {expected.version} to "
                    f"{self._current.version} since it was read",
                    hint="re-run the plan against the new version",
                )
            if new.version != self._current.version + 1:
                raise RegistryError(
                    f"internal: writing version {new.version} on top of {self._current.version}"
                )
            stored = copy.deepcopy(new)
            self._current = RegistrySnapshot(
                location=self.location,
                project=stored.project,
                version=stored.version,
                objects=stored.objects,
                history=stored.history,
                token=str(stored.version),
                online_store=stored.online_store,
            )
            self._versions[stored.version] = stored.to_document()
