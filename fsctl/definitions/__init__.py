"""Definitions: the objects a feature repo declares, as frozen, strict pydantic models with
no I/O and no printing. One module per kind (``entity``, ``source``, ``view``, ``service``,
``model`` for model bindings), what they share (``base``, ``fields``), the kind table
(``kinds``), the project configuration (``config``) and the one dependency graph over
definitions (``graph``)."""

from fsctl.definitions.base import FsctlObject, Origin, StrictModel
from fsctl.definitions.entity import Entity
from fsctl.definitions.kinds import KIND_ORDER, KINDS, object_from_dict
from fsctl.definitions.model import Model, ModelVersion
from fsctl.definitions.service import FeatureService
from fsctl.definitions.source import FileSource
from fsctl.definitions.view import Check, FeatureSelection, FeatureView, Field, join_keys

__all__ = [
    "KINDS",
    "KIND_ORDER",
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
    "StrictModel",
    "join_keys",
    "object_from_dict",
]
