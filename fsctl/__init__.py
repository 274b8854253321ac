"""fsctl: declarative feature repos with plans CI can trust.

The public authoring API. Definition classes are imported lazily so that
``import fsctl`` (and so ``fsctl --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Entity",
    "FeatureService",
    "FeatureStore",
    "FeatureView",
    "Field",
    "FileSource",
    "Model",
    "ModelVersion",
    "__version__",
]

if TYPE_CHECKING:
    from fsctl.model import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
    from fsctl.store import FeatureStore

_LAZY = {
    "Entity": "fsctl.model",
    "FeatureService": "fsctl.model",
    "FeatureView": "fsctl.model",
    "Field": "fsctl.model",
    "FileSource": "fsctl.model",
    "Model": "fsctl.model",
    "ModelVersion": "fsctl.model",
    "FeatureStore": "fsctl.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fsctl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
