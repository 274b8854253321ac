"""The FileSource kind: parquet or CSV files, or a Delta Lake table, with event times, local
or on S3.

A Delta table (``format: delta``) may be pinned to a ``version`` (an integer) or to a
``timestamp`` (the table as it was then), for reproducible training sets; the two are
mutually exclusive. Unpinned, every read sees the table's latest version. The pins are
left out of the canonical form while unset, so a registry applied before they existed
reads as the same definitions do now.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator, model_serializer, model_validator

from fsctl.definitions.base import FsctlObject
from fsctl.definitions.fields import Column

FORMATS = ("parquet", "csv", "delta")


def delta_timestamp(value: Any) -> str:
    """A Delta ``timestamp`` pin as ISO 8601 in UTC (a time without offset is UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"invalid timestamp {value!r}: write ISO 8601, e.g. 2024-05-01T12:00:00Z") from None
    if not isinstance(value, datetime):
        raise ValueError(f"a timestamp must be ISO 8601 text, got {type(value).__name__}")
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return str(value.isoformat()).replace("+00:00", "Z")


class FileSource(FsctlObject):
    """Parquet or CSV files (a file, a directory or a glob; local or s3://), or a Delta table
    (its folder), with event times."""

    KIND: ClassVar[str] = "FileSource"
    path: str = PydanticField(min_length=1)
    format: str = "parquet"
    timestamp_field: Column = "event_timestamp"
    created_timestamp_field: Column | None = None
    field_mapping: dict[str, Column] = PydanticField(default_factory=dict)
    version: int | None = PydanticField(default=None, ge=0)  # format: delta only
    timestamp: str | None = None  # format: delta only; ISO 8601, stored in UTC

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}: use parquet, csv or delta")
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> Any:
        return None if value is None else delta_timestamp(value)

    @model_validator(mode="after")
    def _pins(self) -> FileSource:
        if self.format != "delta" and (self.version is not None or self.timestamp is not None):
            pin = "version" if self.version is not None else "timestamp"
            raise ValueError(f"'{pin}' pins a Delta table: it needs format: delta (the format is {self.format})")
        if self.version is not None and self.timestamp is not None:
            raise ValueError("pin a Delta table to a version or to a timestamp, not both")
        return self

    @model_serializer(mode="wrap")
    def _canonical(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for pin in ("version", "timestamp"):
            if data.get(pin) is None:
                data.pop(pin, None)
        return data

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
