"""Registries: where applied definitions live, versioned, written only by compare-and-swap.

A planner or a browser gets a :class:`RegistryReader`; apply gets a :class:`Registry`
(reader and compare-and-swap writer). Implementations: ``local`` (a JSON file), ``s3`` (one
object, conditional writes) and ``memory`` (for tests), passing one contract suite. Which
one a URI means is decided by the composition root (:mod:`fsctl.workspace`).
"""

from __future__ import annotations

from fsctl.registry.base import Registry, RegistryReader, RegistryWriter
from fsctl.registry.document import FORMAT_VERSION, RegistrySnapshot, VersionInfo

__all__ = ["FORMAT_VERSION", "Registry", "RegistryReader", "RegistrySnapshot", "RegistryWriter", "VersionInfo"]
