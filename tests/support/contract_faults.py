"""Ports that fail the way a bug inside fsctl would: plugged into the workspace's adapter
tables (``monkeypatch.setitem(fsctl.workspace.REGISTRIES, "local", BROKEN_REGISTRY)``) to
check how the CLI reports an internal error."""

from __future__ import annotations

from typing import Any

from fsctl.workspace import Adapter


class BrokenRegistry:
    """A registry whose every read raises a plain RuntimeError (not an FsctlError)."""

    def __init__(self, location: str) -> None:
        self.location = location

    def read(self) -> Any:
        raise RuntimeError("boom")

    def read_version(self, version: int) -> Any:
        raise RuntimeError("boom")

    def write(self, new: Any, expected: Any) -> None:
        raise RuntimeError("boom")


def create_broken_registry(location: Any) -> BrokenRegistry:
    return BrokenRegistry(location.uri)


BROKEN_REGISTRY = Adapter(__name__, None, "create_broken_registry")
