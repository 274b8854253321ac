"""Every definition kind by its YAML name, in plan order, and rebuilding objects from their
canonical (registry) form."""

from __future__ import annotations

from typing import Any

from fsctl.definitions.base import FsctlObject
from fsctl.definitions.entity import Entity
from fsctl.definitions.model import Model
from fsctl.definitions.service import FeatureService
from fsctl.definitions.source import FileSource
from fsctl.definitions.sql_source import SqlSource
from fsctl.definitions.values import KIND_ORDER
from fsctl.definitions.view import FeatureView

__all__ = ["KINDS", "KIND_ORDER", "object_from_dict"]


KINDS: dict[str, type[FsctlObject]] = {
    cls.KIND: cls for cls in (Entity, FileSource, SqlSource, FeatureView, FeatureService, Model)
}


def object_from_dict(data: dict[str, Any]) -> FsctlObject:
    """Rebuild an object from its canonical form (as stored in the registry)."""
    body = {k: v for k, v in data.items() if k != "kind"}
    return KINDS[data["kind"]].from_data(body)
