"""The state store interface: read the whole state document, write it by compare-and-swap.

A :class:`StateStore` keeps one materialization state document (see
:mod:`fsctl.state.document`) beside the registry. :meth:`StateStore.write` replaces the
document only if it is still the one ``expected`` was read from and raises
:class:`~fsctl.errors.ConflictError` otherwise; :func:`fsctl.state.update` turns that into
a read-change-write loop that never loses a concurrent update. Implementations (local
file, S3 object, in-memory) pass one contract suite in ``tests/contract``.
"""

from __future__ import annotations

from typing import Protocol

from fsctl.state.document import StateSnapshot


class StateStore(Protocol):
    location: str

    def read(self) -> StateSnapshot:
        """The current document; a missing one reads as an empty snapshot with token None."""
        ...

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        """Store ``new`` if the document is still the one ``expected`` was read from, else raise
        ConflictError. The store assigns the next serial; returns what was stored, with its token."""
        ...
