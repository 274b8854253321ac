"""A materialization state document kept in a local JSON file beside the registry.

Writes are compare-and-swap under a file lock (``<file>.lock``), like the local registry:
the document is re-read under the lock and its serial must still be the one the writer
read; the new document goes to a fsynced temp file renamed over the old one
(:func:`fsctl.storage.local.atomic_write`), so readers see the old or the new document,
never half of one. A file that does not parse is never overwritten.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fsctl.errors import ConflictError, StoreError
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document
from fsctl.storage import Location
from fsctl.storage.local import atomic_write, locked_write


class LocalStateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)

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
        with locked_write(self.path, "the materialization state", StoreError):
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


def create(location: Location) -> LocalStateStore:
    assert location.path is not None
    return LocalStateStore(location.path)
