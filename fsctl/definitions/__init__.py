"""Definitions: the objects a feature repo declares, as frozen, strict pydantic models with
no I/O and no printing. One module per kind (``entity``, ``source``, ``sql_source``, ``view``, ``service``,
``model`` for model bindings), what they share (``base``, ``fields``; the plain values in
``values``), the kind table (``kinds``), the project configuration (``config``) and the one
dependency graph over definitions (``graph``).

Names are imported lazily: ``fsctl.definitions.config``, ``.values`` and ``.graph`` do not
need pydantic, so the data path (materialize, online reads, retrieval) never imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsctl.definitions.aggregation import Aggregation
    from fsctl.definitions.base import FsctlObject, Origin, StrictModel
    from fsctl.definitions.entity import Entity
    from fsctl.definitions.graph import join_keys
    from fsctl.definitions.kinds import KINDS, object_from_dict
    from fsctl.definitions.model import Model, ModelVersion
    from fsctl.definitions.service import FeatureService
    from fsctl.definitions.source import FileSource
    from fsctl.definitions.sql_source import SqlSource
    from fsctl.definitions.values import KIND_ORDER
    from fsctl.definitions.view import Check, FeatureSelection, FeatureView, Field, RowChecks

_LAZY = {
    "Aggregation": "aggregation",
    "FsctlObject": "base",
    "Origin": "base",
    "StrictModel": "base",
    "Entity": "entity",
    "KINDS": "kinds",
    "object_from_dict": "kinds",
    "KIND_ORDER": "values",
    "Model": "model",
    "ModelVersion": "model",
    "FeatureService": "service",
    "FileSource": "source",
    "SqlSource": "sql_source",
    "Check": "view",
    "FeatureSelection": "view",
    "FeatureView": "view",
    "Field": "view",
    "RowChecks": "view",
    "join_keys": "graph",
}

__all__ = [
    "KINDS",
    "KIND_ORDER",
    "Aggregation",
    "Check",
    "Entity",
    "FeatureSelection",
    "FeatureService",
    "FeatureView",
    "Field",
    "FileSource",
    "FsctlObject",
    "Model",
    "ModelVersion",
    "Origin",
    "RowChecks",
    "SqlSource",
    "StrictModel",
    "join_keys",
    "object_from_dict",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fsctl.definitions' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fsctl.definitions.{module}"), name)
    globals()[name] = value
    return value
