"""The Model kind: a model binding. Versions of an ML model, each bound to the feature service
it was trained on, and aliases (Production, Champion, ...) naming versions.

On the model: description, owner, tags (as every kind), ``aliases`` (name -> version) and
``traffic`` (alias -> integer percentage; issue 13 routes by it). On each version: ``uri``
(any URI; ``models:/NAME/3``, ``models:/NAME@ALIAS`` and ``runs:/...`` are MLflow's), the
bound ``feature_service``, description, tags, ``metrics`` (name -> finite number, e.g. the
validation AUC), an optional expected ``signature`` (the inputs the model reads, feature
name -> dtype, and its one output, name -> dtype) and ``archived: true`` for a retired
version. Rules that need other objects or the whole model (an alias pointing at an archived
version, a signature the bound service does not give, traffic naming no alias) are checked
by the loader (:mod:`fsctl.loader.validate`); what a protected version must carry
(``models.required_metadata``) is a promotion gate's, see :mod:`fsctl.definitions.model_rules`.
``missing_features`` (``error``, the default, or ``null``): what the prediction endpoint does
when a feature of an entity row is missing or expired in the online store: answer 422 for
that request, or pass the model a null (issue 13, :mod:`fsctl.services.predict`).
``gates`` (optional) adds the model's own promotion gates (:mod:`fsctl.diff.gates`):
``min_metrics`` (metric -> the least value a version needs before a protected alias may
point at it) and ``beat_current`` (the version must beat, on those metrics, the version
the alias points at now).

Canonical form: the keys added with issues 12 and 13 (``traffic``, ``gates``,
``missing_features``; a version's ``tags``,
``metrics``, ``signature``, ``archived``) are left out when unset, so a registry applied before they
existed reads exactly as the same definitions do now: no plan change on upgrade. The
registry also keeps, per version, a ``training_snapshot`` that the user never writes (see
:mod:`fsctl.definitions.training`); a definition refuses it as an unknown field.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, Literal

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject, StrictModel, ref
from fsctl.definitions.fields import Column, Dtype, Name

METRIC_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]{0,127}$")
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
# Keys of a version left out of the canonical form while they have these values.
_UNSET_VERSION_KEYS: dict[str, Any] = {"tags": {}, "metrics": {}, "signature": None, "archived": False}


class Signature(StrictModel):
    """What a model version expects: its inputs (feature name, or ``view__feature``, -> dtype)
    and its one output (name -> dtype)."""

    KIND: ClassVar[str] = "Signature"
    inputs: dict[Column, Dtype] = PydanticField(min_length=1)
    output: dict[Column, Dtype]

    @field_validator("output")
    @classmethod
    def _one_output(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) != 1:
            raise ValueError(
                f"the output is one name -> dtype (e.g. {{prediction: float64}}), got {len(value)} entries"
            )
        return value


def _check_metrics(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for name, number in value.items():
        if not isinstance(name, str) or not METRIC_RE.match(name):
            raise ValueError(
                f"invalid metric name {name!r}: start with a letter; use letters, digits, '_', '.', '-', '/'"
            )
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"metric '{name}' must be a number, got {type(number).__name__} {number!r}")
        if not math.isfinite(number):
            raise ValueError(f"metric '{name}' must be a finite number, got {number}")
    return value


class ModelGates(StrictModel):
    """A model's own promotion gates: the least metrics a version behind a protected alias
    needs (``min_metrics``, higher is better) and whether it must beat the version the alias
    points at now on those metrics (``beat_current``)."""

    KIND: ClassVar[str] = "ModelGates"
    min_metrics: dict[str, float] = PydanticField(default_factory=dict)
    beat_current: bool = False

    @field_validator("min_metrics", mode="before")
    @classmethod
    def _metrics(cls, value: Any) -> Any:
        return _check_metrics(value)

    @field_validator("beat_current")
    @classmethod
    def _compared(cls, value: bool, info: Any) -> bool:
        if value and not info.data.get("min_metrics"):
            raise ValueError(
                "beat_current compares the metrics named in min_metrics: name at least one "
                "(e.g. gates: {min_metrics: {auc: 0.8}, beat_current: true})"
            )
        return value


class ModelVersion(StrictModel):
    """One trained version of a model, bound to the feature service it was trained on."""

    KIND: ClassVar[str] = "ModelVersion"
    version: int = PydanticField(ge=1)
    uri: str = ""
    feature_service: Name
    description: str = ""
    tags: dict[str, str] = PydanticField(default_factory=dict)
    metrics: dict[str, float] = PydanticField(default_factory=dict)
    signature: Signature | None = None
    archived: bool = False

    @field_validator("feature_service", mode="before")
    @classmethod
    def _service_ref(cls, value: Any) -> Any:
        return ref(value)

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, value: Any) -> Any:
        return _check_metrics(value)

    @field_validator("signature", mode="before")
    @classmethod
    def _signature(cls, value: Any) -> Any:
        return value.model_dump() if isinstance(value, Signature) else value


class Model(FsctlObject):
    """A model binding: versions bound to feature services, and aliases naming versions."""

    KIND: ClassVar[str] = "Model"
    versions: list[ModelVersion] = PydanticField(min_length=1)
    aliases: dict[str, int] = PydanticField(default_factory=dict)
    traffic: dict[str, int] = PydanticField(default_factory=dict)
    gates: ModelGates | None = None
    missing_features: Literal["error", "null"] = "error"

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

    @field_validator("gates", mode="before")
    @classmethod
    def _gates(cls, value: Any) -> Any:
        return value.model_dump() if isinstance(value, ModelGates) else value

    @field_validator("aliases", "traffic", mode="before")
    @classmethod
    def _alias_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for alias in value:
                if not isinstance(alias, str) or not ALIAS_RE.match(alias):
                    raise ValueError(f"invalid alias name {alias!r}: use letters, digits, '_' and '-'")
        return value

    @field_validator("traffic")
    @classmethod
    def _percentages(cls, value: dict[str, int]) -> dict[str, int]:
        for alias, share in value.items():
            if not 0 <= share <= 100:
                raise ValueError(f"traffic to '{alias}' is {share}: a percentage is a whole number 0..100")
        if value and sum(value.values()) != 100:
            shares = " + ".join(str(v) for v in value.values())
            raise ValueError(f"traffic percentages must add up to 100, got {shares} = {sum(value.values())}")
        return value

    def version(self, number: int) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    def to_dict(self) -> dict[str, Any]:
        """The canonical form, without the keys of issue 12 while they are unset (see the
        module docstring)."""
        out = super().to_dict()
        if not out.get("traffic"):
            del out["traffic"]
        if out.get("gates") is None:
            del out["gates"]
        if out.get("missing_features") == "error":
            del out["missing_features"]
        out["versions"] = [
            {k: v for k, v in version.items() if k not in _UNSET_VERSION_KEYS or v != _UNSET_VERSION_KEYS[k]}
            for version in out["versions"]
        ]
        return out
