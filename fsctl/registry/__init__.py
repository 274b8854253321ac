"""Registries: where applied definitions live, versioned, written only by compare-and-swap."""

from __future__ import annotations

from pathlib import Path

from fsctl.errors import UsageError
from fsctl.registry.base import Registry, RegistryReader, RegistryWriter
from fsctl.registry.document import FORMAT_VERSION, RegistrySnapshot, VersionInfo

__all__ = [
    "FORMAT_VERSION",
    "Registry",
    "RegistryReader",
    "RegistrySnapshot",
    "RegistryWriter",
    "VersionInfo",
    "open_registry",
]

_MEMORY: dict[str, Registry] = {}


def open_registry(uri: str, root: Path) -> Registry:
    """Build the registry for ``uri``: a local path (relative to ``root``), ``s3://bucket/key``
    or ``memory://NAME``."""
    if uri.startswith("memory://"):
        from fsctl.registry.memory import MemoryRegistry

        return _MEMORY.setdefault(uri, MemoryRegistry(uri))
    if uri.startswith("s3://"):
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise UsageError(
                f"registry {uri}: S3 registries need boto3",
                hint="install fsctl with the aws extra: pip install 'fsctl[aws]'",
            ) from None
        from fsctl.registry.s3 import S3Registry

        return S3Registry(uri)
    if "://" in uri:
        raise UsageError(f"registry {uri}: unknown scheme; use a local path or s3://bucket/key")
    from fsctl.registry.local import LocalRegistry

    path = Path(uri)
    return LocalRegistry(path if path.is_absolute() else root / path)
