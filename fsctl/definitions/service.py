"""The FeatureService kind: the named set of features a model consumes."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject, ref
from fsctl.definitions.view import FeatureSelection, FeatureView


class FeatureService(FsctlObject):
    """A named set of features a model consumes: whole views or subsets of them."""

    KIND: ClassVar[str] = "FeatureService"
    features: list[FeatureSelection] = PydanticField(min_length=1)

    @field_validator("features", mode="before")
    @classmethod
    def _selections(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return value
        out = []
        for item in value:
            if isinstance(item, (str, FeatureView)):
                item = {"view": ref(item)}
            elif isinstance(item, FeatureSelection):
                item = item.model_dump()
            out.append(item)
        views = [i.get("view") for i in out if isinstance(i, dict)]
        dupes = sorted({str(v) for v in views if views.count(v) > 1})
        if dupes:
            raise ValueError(f"view {dupes[0]!r} is listed more than once; list its features once")
        return out

