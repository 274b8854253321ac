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
    "local_path",
    "location_kind",
    "open_registry",
]

_MEMORY: dict[str, Registry] = {}


def location_kind(uri: str, what: str = "registry") -> str:
    """``memory``, ``s3`` or ``local`` for a registry URI (also used for the state document
    beside it); a UsageError for an unknown scheme or an S3 URI without boto3."""
    if uri.startswith("memory://"):
        return "memory"
    if uri.startswith("s3://"):
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise UsageError(
                f"{what} {uri}: S3 locations need boto3",
                hint="install fsctl with the aws extra: pip install 'fsctl[aws]'",
            ) from None
        return "s3"
    if "://" in uri:
        raise UsageError(f"{what} {uri}: unknown scheme; use a local path or s3://bucket/key")
    return "local"


def local_path(uri: str, root: Path) -> Path:
    path = Path(uri)
    return path if path.is_absolute() else root / path


def open_registry(uri: str, root: Path) -> Registry:
    """Build the registry for ``uri``: a local path (relative to ``root``), ``s3://bucket/key``
    or ``memory://NAME``."""
    kind = location_kind(uri)
    if kind == "memory":
        from fsctl.registry.memory import MemoryRegistry

        return _MEMORY.setdefault(uri, MemoryRegistry(uri))
    if kind == "s3":
        from fsctl.registry.s3 import S3Registry

        return S3Registry(uri)
    from fsctl.registry.local import LocalRegistry

    return LocalRegistry(local_path(uri, root))
