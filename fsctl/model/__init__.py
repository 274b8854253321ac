"""Definition objects: frozen, strict pydantic models with no I/O and no printing."""

from fsctl.model.objects import (
    KIND_ORDER,
    KINDS,
    Check,
    Entity,
    FeatureSelection,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    FsctlObject,
    Model,
    ModelVersion,
    Origin,
    object_from_dict,
)

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
    "object_from_dict",
]
