"""Pydantic field types of the definition objects: names, durations and dtypes, validated by
the plain functions of :mod:`fsctl.definitions.values` (re-exported here)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from fsctl.definitions.values import (
    COLUMN_RE,
    NAME_RE,
    SCALAR_DTYPES,
    check_column,
    check_dtype,
    check_feature_name,
    check_name,
    format_duration,
    parse_duration,
)

__all__ = [
    "COLUMN_RE",
    "NAME_RE",
    "SCALAR_DTYPES",
    "Column",
    "Dtype",
    "Duration",
    "FeatureName",
    "Name",
    "check_column",
    "check_dtype",
    "check_feature_name",
    "check_name",
    "format_duration",
    "parse_duration",
]


Name = Annotated[str, BeforeValidator(check_name)]
Column = Annotated[str, BeforeValidator(check_column)]
FeatureName = Annotated[str, BeforeValidator(check_feature_name)]
Duration = Annotated[int, BeforeValidator(parse_duration)]
Dtype = Annotated[str, BeforeValidator(check_dtype)]
