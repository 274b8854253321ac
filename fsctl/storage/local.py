"""Bytes in local files, written so that readers never see half of them.

:func:`atomic_write` writes through a fsynced temp file renamed over the target (and
fsyncs the folder); :func:`locked_write` holds ``<file>.lock`` for a read-check-write, so
a compare-and-swap on a local document (the registry, the state document) is safe between
processes. Plan files are written with :func:`atomic_write` too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsctl.errors import FsctlError

LOCK_TIMEOUT_SECONDS = 60.0


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsynced temp file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name no other writer uses, created exclusively with mkstemp's 0600 (without importing
    # tempfile, ~4 ms on every materialize).
    tmp = str(path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(str(path) + ".lock", LOCK_TIMEOUT_SECONDS):
            yield
    except TimeoutError:  # before OSError: TimeoutError is an OSError too
        raise error(
            f"timed out after {LOCK_TIMEOUT_SECONDS:.0f}s waiting for the lock {path}.lock",
            hint="another fsctl is writing; if none is running, the lock is stale",
        ) from None
    except OSError as exc:
        raise error(
            f"cannot write {what} {path}: {exc.strerror or exc}",
            hint="check the folder exists and is writable",
        ) from None


@contextmanager
def file_lock(lock_path: str, timeout: float) -> Iterator[None]:
    """An exclusive lock on the file ``lock_path`` for the block; TimeoutError after
    ``timeout`` seconds. On POSIX it is ``fcntl.flock``, the lock filelock takes too (so
    both interoperate), without importing filelock (~15 ms on every materialize); elsewhere
    it is filelock's."""
    try:
        import fcntl
    except ImportError:  # Windows
        from filelock import FileLock

        with FileLock(lock_path, timeout=timeout):
            yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"timed out waiting for {lock_path}") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
