"""The FileSource kind: parquet or CSV files with event times, local or on S3."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject
from fsctl.definitions.fields import Column


class FileSource(FsctlObject):
    """Parquet or CSV files (a file, a directory or a glob; local or s3://) with event times."""

    KIND: ClassVar[str] = "FileSource"
    path: str = PydanticField(min_length=1)
    format: str = "parquet"
    timestamp_field: Column = "event_timestamp"
    created_timestamp_field: Column | None = None
    field_mapping: dict[str, Column] = PydanticField(default_factory=dict)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in ("parquet", "csv"):
            raise ValueError(f"unknown format {value!r}: use parquet or csv")
        return value

    @field_validator("field_mapping")
    @classmethod
    def _one_column_per_name(cls, value: dict[str, str]) -> dict[str, str]:
        targets = list(value.values())
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            columns = sorted(c for c, t in value.items() if t == dupes[0])
            raise ValueError(
                f"columns {', '.join(columns)} are all mapped to '{dupes[0]}'; map one column to each name"
            )
        return value

    def column_for(self, name: str) -> str:
        """The source column that provides feature or key ``name`` (after field_mapping)."""
        for column, mapped in self.field_mapping.items():
            if mapped == name:
                return column
        return name
