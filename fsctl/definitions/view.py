"""The FeatureView kind: features read from one source, keyed by entities; its Fields, data
Checks, and FeatureSelection (a view, whole or a subset of its features, as a service lists it)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator, model_validator

from fsctl.definitions.base import FsctlObject, StrictModel, ref
from fsctl.definitions.fields import Dtype, Duration, FeatureName, Name
from fsctl.definitions.graph import join_keys

__all__ = ["Check", "FeatureSelection", "FeatureView", "Field", "join_keys"]


class Field(StrictModel):
    """One feature of a view: a name and a dtype."""

    KIND: ClassVar[str] = "Field"
    name: FeatureName
    dtype: Dtype
    description: str = ""
    tags: dict[str, str] = PydanticField(default_factory=dict)


class Check(StrictModel):
    """Data checks run on each materialized window of one feature."""

    KIND: ClassVar[str] = "Check"
    min: float | None = None
    max: float | None = None
    max_null_fraction: float | None = PydanticField(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> Check:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class FeatureView(FsctlObject):
    """A group of features read from one source and keyed by one or more entities."""

    KIND: ClassVar[str] = "FeatureView"
    entities: list[Name] = PydanticField(min_length=1)
    source: Name
    ttl: Duration = 0
    online: bool = True
    freshness: Duration | None = None
    checks: dict[str, Check] = PydanticField(default_factory=dict)
    schema_: list[Field] = PydanticField(alias="schema", min_length=1)

    @field_validator("entities", mode="before")
    @classmethod
    def _entity_refs(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return value
        names = [ref(v) for v in value]
        dupes = sorted({str(n) for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"entity {dupes[0]!r} is listed more than once")
        return names

    @field_validator("source", mode="before")
    @classmethod
    def _source_ref(cls, value: Any) -> Any:
        return ref(value)

    @field_validator("schema_", mode="before")
    @classmethod
    def _unique_features(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            names = [
                f.name if isinstance(f, Field) else f.get("name")
                for f in value
                if isinstance(f, (Field, dict))
            ]
            dupes = sorted({n for n in names if names.count(n) > 1 and n is not None})
            if dupes:
                raise ValueError(f"feature {dupes[0]!r} is declared more than once")
            return list(value)
        return value

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.schema_]

    def __getitem__(self, features: list[str]) -> FeatureSelection:
        """``view[["a", "b"]]`` selects some features, for a FeatureService."""
        return FeatureSelection(view=self.name, features=list(features))



class FeatureSelection(StrictModel):
    """A view, whole (``features`` is None) or a subset of its features."""

    KIND: ClassVar[str] = "FeatureSelection"
    view: Name
    features: list[FeatureName] | None = None

    @field_validator("view", mode="before")
    @classmethod
    def _view_ref(cls, value: Any) -> Any:
        return ref(value)

    @model_validator(mode="after")
    def _subset(self) -> FeatureSelection:
        if self.features is None:
            return self
        if not self.features:
            raise ValueError(
                f"an empty feature list for view '{self.view}' selects nothing: list features, or name the view alone"
            )
        dupes = sorted({f for f in self.features if self.features.count(f) > 1})
        if dupes:
            raise ValueError(f"feature {dupes[0]!r} of view '{self.view}' is listed more than once")
        return self

