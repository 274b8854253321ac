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
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fsctl.errors import ConflictError, CorruptRegistryError, FsctlError, RegistryError
from fsctl.registry.document import RegistrySnapshot, check_version, dumps, empty_snapshot, parse_document

LOCK_TIMEOUT_SECONDS = 60.0


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temp file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def locked_write(path: Path, what: str, error: type[FsctlError]) -> Iterator[None]:
    """Hold ``<path>.lock`` for a read-check-write of ``path``; a lock that stays taken, or
    an OS failure inside, becomes one ``error`` naming ``what`` and the file."""
    from filelock import FileLock

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS):
            yield
    except TimeoutError:  # before OSError: filelock's Timeout is an OSError too
        raise error(
            f"timed out after {LOCK_TIMEOUT_SECONDS:.0f}s waiting for the lock {path}.lock",
            hint="another fsctl is writing; if none is running, the lock is stale",
        ) from None
    except OSError as exc:
        raise error(
            f"cannot write {what} {path}: {exc.strerror or exc}",
            hint="check the folder exists and is writable",
        ) from None


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
