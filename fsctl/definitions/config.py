"""The project configuration, ``fsctl.yaml``: project name, registry and stores."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)


class DuckDBOfflineStore(BaseModel):
    model_config = _STRICT
    type: Literal["duckdb"] = "duckdb"


class SQLiteOnlineStore(BaseModel):
    model_config = _STRICT
    type: Literal["sqlite"] = "sqlite"
    path: str = "data/online.db"


class DynamoDBOnlineStore(BaseModel):
    model_config = _STRICT
    type: Literal["dynamodb"]
    region: str = "us-east-1"
    table_prefix: str = "fsctl_"
    endpoint_url: str | None = None


class RedisOnlineStore(BaseModel):
    model_config = _STRICT
    type: Literal["redis"]
    url: str = "redis://localhost:6379/0"


OnlineStore = Annotated[
    SQLiteOnlineStore | DynamoDBOnlineStore | RedisOnlineStore, Field(discriminator="type")
]


class RepoConfig(BaseModel):
    """The validated contents of ``fsctl.yaml``."""

    model_config = _STRICT
    project: str
    registry: str = "data/registry.json"
    offline_store: DuckDBOfflineStore = Field(default_factory=DuckDBOfflineStore)
    online_store: OnlineStore = Field(default_factory=SQLiteOnlineStore)

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not value or not all(c.islower() or c.isdigit() or c == "_" for c in value) or not value.isascii():
            raise ValueError(f"invalid project name {value!r}: use lowercase letters, digits and '_'")
        return value

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("registry must be a path or an s3://bucket/key URI")
        return value
