"""A materialization state document kept in a local JSON file beside the registry.

Writes are compare-and-swap under a file lock (``<file>.lock``), like the local registry:
the document is re-read under the lock and its serial must still be the one the writer
read; the new document goes to a fsynced temp file renamed over the old one
(:func:`fsctl.registry.local.atomic_write`), so readers see the old or the new document,
never half of one. A file that does not parse is never overwritten.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fsctl.errors import ConflictError, StoreError
from fsctl.registry.local import LOCK_TIMEOUT_SECONDS, atomic_write
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document


class LocalStateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)

    def _lock(self) -> Any:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)

    def read(self) -> StateSnapshot:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty_state(self.location)
        except OSError as exc:
            raise StoreError(
                f"cannot read the materialization state {self.path}: {exc.strerror or exc}",
                hint="check the path and its permissions",
            ) from None
        snapshot = parse_document(raw, self.location)
        return dataclasses.replace(snapshot, token=str(snapshot.serial))

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        try:
            with self._lock():
                current = self.read()
                if current.token != expected.token:
                    raise ConflictError(
                        f"the materialization state {self.path} moved from serial {expected.serial} "
                        f"to {current.serial} since it was read",
                        hint="read it again and re-apply the change (fsctl.state.update does this)",
                    )
                serial = current.serial + 1
                stored = dataclasses.replace(new, location=self.location, serial=serial, token=str(serial))
                atomic_write(self.path, dumps(stored))
                return stored
        except TimeoutError:  # before OSError: filelock's Timeout is an OSError too
            raise StoreError(
                f"timed out after {LOCK_TIMEOUT_SECONDS:.0f}s waiting for the lock {self.path}.lock",
                hint="another fsctl is writing; if none is running, the lock is stale",
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot write the materialization state {self.path}: {exc.strerror or exc}",
                hint="check the folder exists and is writable",
            ) from None
