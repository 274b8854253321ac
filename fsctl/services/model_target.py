"""Which model version answers, and with which features: what batch scoring
(:mod:`fsctl.services.score`) and the prediction endpoint (:mod:`fsctl.services.predict`)
share.

A :class:`Target` is one applied model version resolved against one registry version: its
artifact URI, the feature request of its bound service (named as its training set was:
``feature``, or ``view__feature`` when its signature's inputs use full names), and the name
of its output. :func:`route` picks the alias of each entity row when a model splits traffic
(``traffic: {Champion: 80, Challenger: 20}``): by a hash of the model name and the row's join
key values, so a given customer always sees the same version while the weights stay put.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fsctl.errors import UsageError, did_you_mean
from fsctl.services.catalog import Catalog
from fsctl.services.features import FeatureRequest

Doc = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One model version, ready to score: ``alias`` is the alias it was reached by (None when
    named by number)."""

    model: str
    version: int
    alias: str | None
    uri: str
    service: str
    request: FeatureRequest
    output: str | None  # the signature's output name (None: "prediction")
    missing_features: str  # "error" or "null"
    registry_version: int

    @property
    def label(self) -> str:
        """``churn v2 (Champion)``: how messages name it."""
        return f"{self.model} v{self.version}" + (f" ({self.alias})" if self.alias else "")


def target(catalog: Catalog, model: str, version: int, alias: str | None = None) -> Target:
    """The target of ``model``'s ``version`` in ``catalog`` (the version must exist)."""
    doc = catalog.get("Model", model)
    found = next((v for v in doc["versions"] if v["version"] == version), None)
    if found is None:
        raise UsageError(
            f"model '{model}' has no version {version}",
            hint=f"its versions: {', '.join(str(v['version']) for v in doc['versions'])}",
        )
    if not found.get("uri"):
        raise UsageError(
            f"model '{model}' version {version} has no uri, so there is no artifact to score with",
            hint="set uri: on the version (python://, file://, s3:// or an MLflow models:/ URI) and apply",
        )
    signature = found.get("signature") or {}
    inputs = list(signature.get("inputs") or {})
    full = bool(inputs) and all("__" in name for name in inputs)
    return Target(
        model=model,
        version=version,
        alias=alias,
        uri=str(found["uri"]),
        service=str(found["feature_service"]),
        request=FeatureRequest(model=f"{model}/{version}", full_feature_names=full),
        output=next(iter(signature.get("output") or {}), None),
        missing_features=str(doc.get("missing_features") or "error"),
        registry_version=catalog.version,
    )


def target_of_ref(catalog: Catalog, ref: str) -> Target:
    """``NAME@ALIAS`` or ``NAME/VERSION`` (or an MLflow-style ``models:/NAME/VERSION``,
    ``models:/NAME@ALIAS``, ``models:/NAME/ALIAS`` naming the fsctl binding of that name)."""
    model, alias, version = catalog.model_version(binding_ref(ref))
    return target(catalog, model, int(version["version"]), alias)


def binding_ref(ref: str) -> str:
    """``models:/NAME/3`` -> ``NAME/3``; ``models:/NAME@A`` and ``models:/NAME/A`` -> ``NAME@A``;
    anything else as it is."""
    if not ref.startswith("models:/"):
        return ref
    rest = ref.removeprefix("models:/")
    if "@" in rest:
        return rest
    name, _, tail = rest.partition("/")
    return f"{name}/{tail}" if tail.isascii() and tail.isdigit() else f"{name}@{tail}"


def default_alias(model: Doc, protected_aliases: Sequence[str]) -> str:
    """The alias a request that names none goes to: the first protected alias the model has."""
    aliases: dict[str, int] = model.get("aliases") or {}
    found = next((a for a in protected_aliases if a in aliases), None)
    if found is None:
        raise UsageError(
            f"model '{model['name']}' has none of the protected aliases ({', '.join(protected_aliases)}) "
            "and no traffic split, so a request must name an alias or a version",
            hint=did_you_mean("", aliases, "its aliases") if aliases else "give the model an alias",
        )
    return found


def route(model: str, traffic: Mapping[str, int], keys: Sequence[Sequence[Any]]) -> list[str]:
    """The alias of each entity row (its join key values, in ``keys``) under ``traffic``
    (alias -> percentage, summing to 100): bucket ``sha256(model, keys) mod 100`` falls in one
    alias's share, aliases taken in name order so the split does not depend on how the YAML
    lists them."""
    bounds: list[tuple[int, str]] = []
    total = 0
    for alias in sorted(traffic):
        if traffic[alias] > 0:
            total += traffic[alias]
            bounds.append((total, alias))
    out = []
    for row in keys:
        bucket = bucket_of(model, row)
        out.append(next(alias for bound, alias in bounds if bucket < bound))
    return out


def bucket_of(model: str, key: Sequence[Any]) -> int:
    """0..99, stable across processes and machines for a model and an entity key."""
    text = "\x1f".join([model, *(str(v) for v in key)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 100
