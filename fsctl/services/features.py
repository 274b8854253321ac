"""Which features a caller asks for: the one :class:`FeatureRequest` that the CLI, the Python
API and the feature server build and that retrieval, online reads and (later) scoring
take. It is checked once, here: exactly one of feature references, a feature service, or
the feature service bound to a model version or alias."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fsctl.errors import UsageError


def require_one(choices: Sequence[tuple[str, Any]], purpose: str = "") -> None:
    """Raise a UsageError unless exactly one of the ``(label, value)`` choices is given
    (truthy); the message lists the labels as the caller spells them (``--features``)."""
    given = [label for label, value in choices if value]
    if len(given) != 1:
        labels = " | ".join(label for label, _ in choices)
        head = f"{purpose}: " if purpose else ""
        raise UsageError(f"{head}give exactly one of {labels}" + (f" (got {', '.join(given)})" if given else ""))


@dataclass(frozen=True)
class FeatureRequest:
    """Features by reference (``view:feature``), by feature service, or by the feature
    service bound to a model (``NAME@ALIAS`` or ``NAME/VERSION``); output names are
    ``feature`` or, with ``full_feature_names``, ``view__feature``."""

    features: tuple[str, ...] | None = None
    service: str | None = None
    model: str | None = None
    full_feature_names: bool = False

    @classmethod
    def of(
        cls,
        features: Sequence[str] | str | None = None,
        service: str | None = None,
        model: str | None = None,
        full_feature_names: bool = False,
        *,
        labels: tuple[str, str, str] = ("features", "service", "model"),
    ) -> FeatureRequest:
        """The checked request. ``features`` may be a list of references or one
        comma-separated string; ``labels`` are how the caller names the three choices in
        its error message (the CLI says ``--features``, the server ``feature_service``)."""
        if isinstance(features, str):
            features = [ref.strip() for ref in features.split(",") if ref.strip()]
        refs = None if features is None else tuple(features)
        require_one(list(zip(labels, (refs, service, model), strict=True)), "name the features one way")
        return cls(refs, service or None, model or None, bool(full_feature_names))
