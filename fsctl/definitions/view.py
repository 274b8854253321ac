"""The FeatureView kind: features read from one source, keyed by entities; its Fields, data
Checks, and FeatureSelection (a view, whole or a subset of its features, as a service lists it).

Data checks (issue 14) are run by ``materialize`` on each window before it writes, and by
``fsctl check``; the engine computes them (:meth:`fsctl.offline.base.OfflineEngine.check`)::

    checks:                       # per feature
      conv_rate: {min: 0, max: 1, max_null_fraction: 0.05}
      city: {allowed: [paris, lyon]}
    row_checks: {min_rows: 100, unique: true}   # per window: at least 100 rows; no two rows
                                                # with the same join keys and event time
    check_policy: reject          # reject (the default): write nothing for a failing window
                                  # and keep the watermark; warn: write, and record the failures

Rules that need the feature's dtype (``min``/``max`` on numbers, ``allowed`` values of the
feature's type) are checked by the loader (:mod:`fsctl.loader.validate`).

Canonical form: ``allowed``, ``row_checks`` and ``check_policy`` (added with issue 14) are
left out while unset (``check_policy`` while it is ``reject``), so a registry applied before
they existed reads exactly as the same definitions do now: no plan change on upgrade.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field as PydanticField
from pydantic import ValidationInfo, field_validator, model_validator

from fsctl.definitions.aggregation import Aggregation, check_aggregations
from fsctl.definitions.base import FsctlObject, StrictModel, ref
from fsctl.definitions.fields import Dtype, Duration, FeatureName, Name
from fsctl.definitions.graph import join_keys

__all__ = ["CHECK_POLICIES", "Aggregation", "Check", "FeatureSelection", "FeatureView", "Field", "RowChecks", "join_keys"]

CHECK_POLICIES = ("reject", "warn")  # the first is the default


class Field(StrictModel):
    """One feature of a view: a name and a dtype."""

    KIND: ClassVar[str] = "Field"
    name: FeatureName
    dtype: Dtype
    description: str = ""
    tags: dict[str, str] = PydanticField(default_factory=dict)


class Check(StrictModel):
    """Data checks run on each materialized window of one feature: every non-null value at
    least ``min`` and at most ``max`` (a NaN is neither), at most ``max_null_fraction`` of
    the rows null, every non-null value one of ``allowed``."""

    KIND: ClassVar[str] = "Check"
    min: float | None = None
    max: float | None = None
    max_null_fraction: float | None = PydanticField(default=None, ge=0, le=1)
    allowed: list[bool | int | float | str] | None = PydanticField(default=None, min_length=1)

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value

    @field_validator("allowed")
    @classmethod
    def _distinct(cls, value: list[Any] | None) -> list[Any] | None:
        if value is not None:
            seen: list[tuple[type, Any]] = []
            for item in value:
                if (type(item), item) in seen:
                    raise ValueError(f"{item!r} is listed more than once")
                seen.append((type(item), item))
        return value

    @model_validator(mode="after")
    def _range(self) -> Check:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g}): no value can pass")
        return self


class RowChecks(StrictModel):
    """Data checks on the rows of each materialized window of a view: at least ``min_rows``
    rows, and (``unique``) no two rows with the same join keys and event time."""

    KIND: ClassVar[str] = "RowChecks"
    min_rows: int | None = None
    unique: bool = False

    @field_validator("min_rows")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1 (leave min_rows out for no minimum), got {value}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The checks that are set (the canonical form leaves the others out)."""
        out: dict[str, Any] = {}
        if self.min_rows is not None:
            out["min_rows"] = self.min_rows
        if self.unique:
            out["unique"] = True
        return out


class FeatureView(FsctlObject):
    """A group of features read from one source and keyed by one or more entities."""

    KIND: ClassVar[str] = "FeatureView"
    entities: list[Name] = PydanticField(min_length=1)
    source: Name
    ttl: Duration = 0
    online: bool = True
    freshness: Duration | None = None
    checks: dict[str, Check] = PydanticField(default_factory=dict)
    row_checks: RowChecks | None = None
    check_policy: Literal["reject", "warn"] = "reject"
    schema_: list[Field] = PydanticField(alias="schema", default_factory=list)
    # Time-window aggregations (issue 17, :mod:`fsctl.definitions.aggregation`): the source
    # columns they read, the granularity of their values, the aggregations themselves.
    inputs: list[Field] = PydanticField(default_factory=list)
    slide: Duration | None = None
    aggregations: list[Aggregation] = PydanticField(default_factory=list)

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

    @field_validator("row_checks", mode="before")
    @classmethod
    def _row_checks(cls, value: Any) -> Any:
        return value.model_dump() if isinstance(value, RowChecks) else value

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

    @field_validator("inputs", mode="before")
    @classmethod
    def _unique_inputs(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            names = [f.name if isinstance(f, Field) else f.get("name") for f in value if isinstance(f, (Field, dict))]
            dupes = sorted({n for n in names if names.count(n) > 1 and n is not None})
            if dupes:
                raise ValueError(f"input column {dupes[0]!r} is listed more than once")
            return list(value)
        return value

    @field_validator("slide")
    @classmethod
    def _slide(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError("slide must be longer than 0 (e.g. 1h), or left out")
        return value

    @field_validator("aggregations", mode="before")
    @classmethod
    def _aggregation_objects(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [a.model_dump() if isinstance(a, Aggregation) else a for a in value]
        return value

    @field_validator("aggregations")
    @classmethod
    def _aggregations(cls, value: list[Aggregation], info: ValidationInfo) -> list[Aggregation]:
        if value:
            inputs = {f.name: f.dtype for f in info.data.get("inputs") or []}
            check_aggregations(value, inputs, info.data.get("slide"), info.data.get("ttl") or 0)
            if info.data.get("checks"):
                raise ValueError(
                    "checks run on source rows, and this view's features are computed from them: "
                    "leave checks out (row_checks still apply to the source rows)"
                )
        return value

    @model_validator(mode="after")
    def _derived_schema(self) -> FeatureView:
        if not self.aggregations:
            if not self.schema_:
                raise ValueError("schema is missing: a view needs at least one feature under schema (or aggregations)")
            for field_name in ("inputs", "slide"):
                if getattr(self, field_name):
                    raise ValueError(f"{field_name} applies only to a view with aggregations: remove it")
            return self
        inputs = {f.name: f.dtype for f in self.inputs}
        derived = check_aggregations(self.aggregations, inputs, self.slide, self.ttl)
        given = [{"name": f.name, "dtype": f.dtype} for f in self.schema_]
        if given and given != derived:
            shown = ", ".join(f"{f['name']} {f['dtype']}" for f in derived)
            raise ValueError(
                f"schema: the features of a view with aggregations are derived from them ({shown}): leave schema out"
            )
        if not given:
            described = [f | {"description": a.description} for f, a in zip(derived, self.aggregations, strict=True)]
            object.__setattr__(self, "schema_", [Field(**f) for f in described])
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.schema_]

    @property
    def read_columns(self) -> list[Field]:
        """The source columns the view reads (besides keys and timestamps), with dtypes: its
        inputs when it aggregates, else its features."""
        return list(self.inputs) if self.aggregations else list(self.schema_)

    def to_dict(self) -> dict[str, Any]:
        """The canonical form, without the check keys of issue 14 while they are unset (see
        the module docstring)."""
        out = super().to_dict()
        for rules in out["checks"].values():
            if rules.get("allowed") is None:
                del rules["allowed"]
        rows = self.row_checks.to_dict() if self.row_checks is not None else {}
        if rows:
            out["row_checks"] = rows
        else:
            del out["row_checks"]
        if out["check_policy"] == CHECK_POLICIES[0]:
            del out["check_policy"]
        if not self.aggregations:  # issue 17's keys, left out when unused
            for key in ("inputs", "slide", "aggregations"):
                del out[key]
        elif out["slide"] is None:
            del out["slide"]
        return out

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

