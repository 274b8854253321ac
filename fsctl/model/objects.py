"""The definition objects a feature repo declares.

These are frozen, strict pydantic models with no I/O. They are built either
from YAML documents (by the loader, which reports every problem with its line)
or directly in a user's Python file, where a bad argument raises a
:class:`~fsctl.errors.DefinitionError` naming the file and line of the call.
Objects refer to each other by name; in Python an object may be passed where a
name is expected.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic import Field as PydanticField

from fsctl.errors import DefinitionError, DefinitionErrors, Problem
from fsctl.model.fields import Column, Dtype, Duration, FeatureName, Name

KIND_ORDER = ("Entity", "FileSource", "FeatureView", "FeatureService", "Model")


class Origin(BaseModel):
    """Where an object was defined: a file (relative to the repo when known) and a 1-based line."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int | None = None


def _ref(value: Any) -> Any:
    """Accept an fsctl object where its name is expected."""
    return value.name if isinstance(value, FsctlObject) else value


def problems_from_validation(
    error: ValidationError, kind: str, name: str | None, origin: Origin | None
) -> list[Problem]:
    """Turn a pydantic error into one :class:`Problem` per failing field."""
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(
            Problem(
                message=message,
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                kind=kind,
                name=name,
                field=loc or None,
            )
        )
    return problems


class StrictModel(BaseModel):
    """Base of every model: frozen and strict. Built in Python, a bad argument raises a
    DefinitionError naming the caller's file and line; built from data (YAML, registry),
    pydantic's ValidationError propagates for the caller to map to lines."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)

    KIND: ClassVar[str] = ""

    def __init__(self, **data: Any) -> None:
        frame = sys._getframe(1)
        origin = Origin(file=frame.f_code.co_filename, line=frame.f_lineno)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = problems_from_validation(exc, self.KIND or type(self).__name__, _label(data), origin)
            if len(problems) == 1:
                raise DefinitionError(problems[0]) from None
            raise DefinitionErrors(problems) from None
        self._built_in_python(origin, data)

    # Only calls from Python code run the __init__ above: pydantic validates nested models and
    # data (YAML, registry) without it, so their errors stay pydantic's, with locations.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def _built_in_python(self, origin: Origin, data: dict[str, Any]) -> None:
        """Called after a successful construction from Python code: remember inline objects."""
        object.__setattr__(self, "_children", _inline_objects(data))

    @property
    def children(self) -> list[FsctlObject]:
        """Objects passed inline (e.g. a FileSource given directly to a FeatureView)."""
        return getattr(self, "_children", [])


def _label(data: dict[str, Any]) -> str | None:
    for key in ("name", "view"):
        if isinstance(data.get(key), str):
            return str(data[key])
    if "version" in data:
        return f"version {data['version']}"
    return None


class FsctlObject(StrictModel):
    """Base of every definition kind: a unique name plus description, owner and tags."""

    name: Name
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = PydanticField(default_factory=dict)

    def _built_in_python(self, origin: Origin, data: dict[str, Any]) -> None:
        super()._built_in_python(origin, data)
        object.__setattr__(self, "_origin", origin)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> FsctlObject:
        """Validate a mapping (YAML document, registry entry); raises pydantic's ValidationError."""
        return cls.model_validate(data)

    @property
    def origin(self) -> Origin | None:
        return getattr(self, "_origin", None)

    def with_origin(self, origin: Origin) -> FsctlObject:
        object.__setattr__(self, "_origin", origin)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The canonical, JSON-ready form stored in the registry and diffed by plan."""
        return {"kind": self.KIND, **self.model_dump(mode="json", by_alias=True)}

    def dependencies(self) -> list[tuple[str, str]]:
        """(kind, name) of the objects this one refers to."""
        return []


def _inline_objects(data: dict[str, Any]) -> list[FsctlObject]:
    """fsctl objects passed as arguments, directly, in lists, or inside parts such as ModelVersion."""
    out: list[FsctlObject] = []
    for value in data.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, FsctlObject):
                out.append(item)
            elif isinstance(item, StrictModel):
                out.extend(item.children)
    return out


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


class FileSource(FsctlObject):
    """Parquet or CSV files (a file, a directory or a glob; local or s3://) with event times."""

    KIND: ClassVar[str] = "FileSource"
    path: str = PydanticField(min_length=1)
    format: str = "parquet"
    timestamp_field: Column = "event_timestamp"
    created_timestamp_field: Column | None = None
    field_mapping: dict[str, Column] = PydanticField(default_factory=dict)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in ("parquet", "csv"):
            raise ValueError(f"unknown format {value!r}: use parquet or csv")
        return value

    @field_validator("field_mapping")
    @classmethod
    def _one_column_per_name(cls, value: dict[str, str]) -> dict[str, str]:
        targets = list(value.values())
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            columns = sorted(c for c, t in value.items() if t == dupes[0])
            raise ValueError(
                f"columns {', '.join(columns)} are all mapped to '{dupes[0]}'; map one column to each name"
            )
        return value

    def column_for(self, name: str) -> str:
        """The source column that provides feature or key ``name`` (after field_mapping)."""
        for column, mapped in self.field_mapping.items():
            if mapped == name:
                return column
        return name


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
        names = [_ref(v) for v in value]
        dupes = sorted({str(n) for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"entity {dupes[0]!r} is listed more than once")
        return names

    @field_validator("source", mode="before")
    @classmethod
    def _source_ref(cls, value: Any) -> Any:
        return _ref(value)

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

    def dependencies(self) -> list[tuple[str, str]]:
        return [("FileSource", self.source)] + [("Entity", e) for e in self.entities]


class FeatureSelection(StrictModel):
    """A view, whole (``features`` is None) or a subset of its features."""

    KIND: ClassVar[str] = "FeatureSelection"
    view: Name
    features: list[FeatureName] | None = None

    @field_validator("view", mode="before")
    @classmethod
    def _view_ref(cls, value: Any) -> Any:
        return _ref(value)

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
                item = {"view": _ref(item)}
            elif isinstance(item, FeatureSelection):
                item = item.model_dump()
            out.append(item)
        views = [i.get("view") for i in out if isinstance(i, dict)]
        dupes = sorted({str(v) for v in views if views.count(v) > 1})
        if dupes:
            raise ValueError(f"view {dupes[0]!r} is listed more than once; list its features once")
        return out

    def dependencies(self) -> list[tuple[str, str]]:
        return [("FeatureView", s.view) for s in self.features]


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
        return _ref(value)


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

    def dependencies(self) -> list[tuple[str, str]]:
        return [("FeatureService", v.feature_service) for v in self.versions]


KINDS: dict[str, type[FsctlObject]] = {
    cls.KIND: cls for cls in (Entity, FileSource, FeatureView, FeatureService, Model)
}


def object_from_dict(data: dict[str, Any]) -> FsctlObject:
    """Rebuild an object from its canonical form (as stored in the registry)."""
    body = {k: v for k, v in data.items() if k != "kind"}
    return KINDS[data["kind"]].from_data(body)
