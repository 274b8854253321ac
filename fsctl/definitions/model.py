"""The Model kind: a model binding. Versions of an ML model, each bound to the feature service
it was trained on, and aliases (Production, Champion, ...) naming versions."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject, StrictModel, ref
from fsctl.definitions.fields import Name


class ModelVersion(StrictModel):
    """One trained version of a model, bound to the feature service it was trained on."""

    KIND: ClassVar[str] = "ModelVersion"
    version: int = PydanticField(ge=1)
    uri: str = ""
    feature_service: Name
    description: str = ""

    @field_validator("feature_service", mode="before")
    @classmethod
    def _service_ref(cls, value: Any) -> Any:
        return ref(value)


class Model(FsctlObject):
    """A model binding: versions bound to feature services, and aliases naming versions."""

    KIND: ClassVar[str] = "Model"
    versions: list[ModelVersion] = PydanticField(min_length=1)
    aliases: dict[str, int] = PydanticField(default_factory=dict)

    @field_validator("versions", mode="before")
    @classmethod
    def _versions(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            value = [v.model_dump() if isinstance(v, ModelVersion) else v for v in value]
            numbers = [v.get("version") for v in value if isinstance(v, dict)]
            dupes = sorted({n for n in numbers if numbers.count(n) > 1 and isinstance(n, int)})
            if dupes:
                raise ValueError(f"version {dupes[0]} is listed more than once")
        return value

    @field_validator("aliases", mode="before")
    @classmethod
    def _alias_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for alias in value:
                if (
                    not isinstance(alias, str)
                    or not alias
                    or not alias[0].isalpha()
                    or not all(c.isalnum() or c in "_-" for c in alias)
                ):
                    raise ValueError(f"invalid alias name {alias!r}: use letters, digits, '_' and '-'")
        return value

    def version(self, number: int) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == number), None)

