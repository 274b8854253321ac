"""From a feature view to what an online store needs to know about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fsctl.definitions.graph import join_keys
from fsctl.online.base import OnlineView


def _field(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def online_view(project: str, view: Any, entities: Mapping[str, Any]) -> OnlineView:
    """The OnlineView of ``view`` (a FeatureView or its canonical dict): its entities' join
    keys in order (``entities`` maps names to Entities or their dicts) and its features
    with dtypes."""
    schema = view["schema"] if isinstance(view, Mapping) else view.schema_
    return OnlineView(
        project=project,
        name=_field(view, "name"),
        join_keys=join_keys(view, entities),
        features=tuple((_field(f, "name"), _field(f, "dtype")) for f in schema),
    )
