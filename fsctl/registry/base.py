"""Registry interfaces: a read-only reader for planning, a compare-and-swap writer for apply.

The planner only ever gets a :class:`RegistryReader`. Writing is a separate,
smaller interface: :meth:`RegistryWriter.write` replaces the document only if
it is still the one ``expected`` was read from, and raises
:class:`~fsctl.errors.ConflictError` otherwise. Implementations (local file,
in-memory, later S3) pass one contract suite in ``tests/contract``.
"""

from __future__ import annotations

from typing import Any, Protocol

from fsctl.registry.document import RegistrySnapshot


class RegistryReader(Protocol):
    location: str

    def read(self) -> RegistrySnapshot:
        """The current document; a missing registry reads as version 0 with no objects."""
        ...

    def read_version(self, version: int) -> dict[str, Any]:
        """The whole document as it was at ``version``."""
        ...


class RegistryWriter(Protocol):
    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        """Store ``new`` if the registry is still at ``expected``; else raise ConflictError."""
        ...


class Registry(RegistryReader, RegistryWriter, Protocol):
    """A registry that can be both read and written."""
