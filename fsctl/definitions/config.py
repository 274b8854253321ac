"""The project configuration, ``fsctl.yaml``: project name, registry and the store sections.

``offline_store`` and ``online_store`` are :class:`PortSection`\\ s here: a ``type`` and
the fields that type takes. Each implementation declares its own fields as a
:class:`PortConfig` subclass in its own module (``SQLiteOnlineStoreConfig`` in
:mod:`fsctl.online.sqlite`, ...), and the composition root (:mod:`fsctl.workspace`)
validates a section against the config of its type, so adding a store or an engine needs
no change here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


class PortConfig(BaseModel):
    """Base of every store or engine config: strict, frozen, no unknown fields."""

    model_config = _STRICT


class PortSection(BaseModel):
    """A store section of fsctl.yaml before its type's config validates it."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)
    type: str

    def fields(self) -> dict[str, Any]:
        """Every field as written, ``type`` included."""
        return {"type": self.type, **(self.model_extra or {})}


class RepoConfig(BaseModel):
    """The validated contents of ``fsctl.yaml``."""

    model_config = _STRICT
    project: str
    registry: str = "data/registry.json"
    offline_store: PortSection = Field(default_factory=lambda: PortSection(type="duckdb"))
    online_store: PortSection = Field(default_factory=lambda: PortSection(type="sqlite"))

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not value or not all(c.islower() or c.isdigit() or c == "_" for c in value) or not value.isascii():
            raise ValueError(f"invalid project name {value!r}: use lowercase letters, digits and '_'")
        return value

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("registry must be a path or an s3://bucket/key URI")
        return value
