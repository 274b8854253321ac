"""An in-memory state store: the reference implementation for tests and dry runs.

It keeps the serialised document (``data``), exactly as a file or object would, so reads
parse it like the other stores do and a test can plant a corrupt one.
"""

from __future__ import annotations

import dataclasses
import threading

from fsctl.errors import ConflictError
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document


class MemoryStateStore:
    def __init__(self, location: str = "memory://state") -> None:
        self.location = location
        self.data: bytes | None = None
        self._lock = threading.Lock()

    def _read(self) -> StateSnapshot:
        if self.data is None:
            return empty_state(self.location)
        snapshot = parse_document(self.data, self.location)
        return dataclasses.replace(snapshot, token=str(snapshot.serial))

    def read(self) -> StateSnapshot:
        with self._lock:
            return self._read()

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        with self._lock:
            current = self._read()
            if current.token != expected.token:
                raise ConflictError(
                    f"the materialization state {self.location} moved from serial {expected.serial} "
                    f"to {current.serial} since it was read",
                    hint="read it again and re-apply the change (fsctl.state.update does this)",
                )
            stored = dataclasses.replace(
                new, location=self.location, serial=current.serial + 1, token=str(current.serial + 1)
            )
            self.data = dumps(stored)
            return stored
