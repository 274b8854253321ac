"""From a feature view's definition to what an online store needs to know about it."""

from __future__ import annotations

from collections.abc import Mapping

from fsctl.definitions import Entity, FeatureView, join_keys
from fsctl.online.base import OnlineView


def online_view(project: str, view: FeatureView, entities: Mapping[str, Entity]) -> OnlineView:
    """The OnlineView of ``view``: its entities' join keys in order and its features with dtypes."""
    return OnlineView(
        project=project,
        name=view.name,
        join_keys=join_keys(view, entities),
        features=tuple((f.name, f.dtype) for f in view.schema_),
    )
