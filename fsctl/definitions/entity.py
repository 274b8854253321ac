"""The Entity kind: a thing features describe (a driver, a customer), with its join keys."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject
from fsctl.definitions.fields import Column


class Entity(FsctlObject):
    """A thing features describe (a driver, a customer), identified by one or more join keys."""

    KIND: ClassVar[str] = "Entity"
    join_keys: list[Column] = PydanticField(min_length=1)

    @field_validator("join_keys", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        if isinstance(value, list) and len(set(map(str, value))) != len(value):
            raise ValueError("join keys must not repeat")
        return value
