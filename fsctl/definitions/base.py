"""What every definition kind shares: strict, frozen pydantic models that remember where
they were defined, and the translation of pydantic's errors into fsctl Problems.

Definitions are built either from YAML documents (by the loader, which reports every
problem with its line) or directly in a user's Python file, where a bad argument raises a
:class:`~fsctl.errors.DefinitionError` naming the file and line of the call. Objects refer
to each other by name; in Python an object may be passed where a name is expected.
No module of this package does I/O.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydanticField

from fsctl.definitions.fields import Name
from fsctl.errors import DefinitionError, DefinitionErrors, Problem


class Origin(BaseModel):
    """Where an object was defined: a file (relative to the repo when known) and a 1-based line."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int | None = None


def ref(value: Any) -> Any:
    """Accept an fsctl object where its name is expected."""
    return value.name if isinstance(value, FsctlObject) else value


def field_errors(error: ValidationError) -> list[tuple[str, str]]:
    """``(dotted field, message)`` for each problem of a pydantic error, in fsctl's words:
    the one translation of pydantic errors (definitions, fsctl.yaml, server requests)."""
    out = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        out.append((loc, message))
    return out


def problems_from_validation(
    error: ValidationError, kind: str, name: str | None, origin: Origin | None
) -> list[Problem]:
    """Turn a pydantic error into one :class:`Problem` per failing field."""
    return [
        Problem(
            message=message,
            file=origin.file if origin else None,
            line=origin.line if origin else None,
            kind=kind,
            name=name,
            field=loc or None,
        )
        for loc, message in field_errors(error)
    ]


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
