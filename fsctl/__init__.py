"""fsctl: declarative feature repos with plans CI can trust.

The public authoring API. Definition classes are imported lazily so that
``import fsctl`` (and so ``fsctl --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsctl.version import __version__

__all__ = [
    "Aggregation",
    "Entity",
    "FeatureService",
    "FeatureStore",
    "FeatureView",
    "Field",
    "FileSource",
    "Model",
    "ModelVersion",
    "SqlSource",
    "__version__",
]

if TYPE_CHECKING:
    from fsctl.definitions import (
        Aggregation,
        Entity,
        FeatureService,
        FeatureView,
        Field,
        FileSource,
        Model,
        ModelVersion,
        SqlSource,
    )
    from fsctl.feature_store import FeatureStore

_LAZY = {
    "Aggregation": "fsctl.definitions",
    "Entity": "fsctl.definitions",
    "FeatureService": "fsctl.definitions",
    "FeatureView": "fsctl.definitions",
    "Field": "fsctl.definitions",
    "FileSource": "fsctl.definitions",
    "Model": "fsctl.definitions",
    "ModelVersion": "fsctl.definitions",
    "SqlSource": "fsctl.definitions",
    "FeatureStore": "fsctl.feature_store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fsctl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
