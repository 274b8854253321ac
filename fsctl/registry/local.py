"""A registry kept in a local JSON file.

Writes are compare-and-swap under a file lock (``<file>.lock``): the current
version is re-read under the lock and must equal the version the writer read;
the new document goes to a temp file that is fsynced and renamed over the old
one, so readers see the old or the new document, never half of one. Each
version is also kept as ``<file>.history/<version>.json``. A file that does not
parse is never overwritten.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fsctl.errors import ConflictError, CorruptRegistryError, RegistryError
from fsctl.registry.document import RegistrySnapshot, check_version, dumps, empty_snapshot, parse_document
from fsctl.storage import Location
from fsctl.storage.local import atomic_write, locked_write


class LocalRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.history_dir = path.with_name(path.name + ".history")

    def read(self) -> RegistrySnapshot:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty_snapshot(self.location)
        except OSError as exc:
            raise RegistryError(
                f"cannot read the registry {self.path}: {exc.strerror}",
                hint="check the path and its permissions",
            ) from None
        snapshot = parse_document(raw, self.location)
        return dataclasses.replace(snapshot, token=str(snapshot.version))

    def read_version(self, version: int) -> dict[str, Any]:
        import json

        current = self.read()
        if check_version(current, version):
            return current.to_document()
        file = self.history_dir / f"{version:08d}.json"
        try:
            return dict(json.loads(file.read_bytes()))
        except FileNotFoundError:
            raise RegistryError(f"version {version} is not kept in {self.history_dir}") from None
        except ValueError as exc:
            raise CorruptRegistryError(f"{file} is not valid JSON: {exc}") from None

    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        with locked_write(self.path, "the registry", RegistryError):
            current = self.read()
            if current.version != expected.version:
                raise ConflictError(
                    f"the registry {self.path} moved from version {expected.version} to "
                    f"{current.version} since it was read",
                    hint="re-run `fsctl plan` (or `fsctl apply` without a plan file) against the new version",
                )
            if new.version != current.version + 1:
                raise RegistryError(f"internal: writing version {new.version} on top of {current.version}")
            data = dumps(new.to_document())
            atomic_write(self.history_dir / f"{new.version:08d}.json", data)
            atomic_write(self.path, data)


def create(location: Location) -> LocalRegistry:
    assert location.path is not None
    return LocalRegistry(location.path)
