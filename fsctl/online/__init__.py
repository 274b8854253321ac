"""Online stores: the latest feature values per entity key (see :mod:`fsctl.online.base`).

``open_online_store`` is the one place that turns the ``online_store`` section of
``fsctl.yaml`` into a store object; services only ever see the :class:`OnlineStore`
interface. The implementations are imported on demand, so their client libraries
(boto3, redis) are needed only by repos that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fsctl.errors import UsageError
from fsctl.online.base import OnlineRecord, OnlineStore, OnlineView

__all__ = ["OnlineRecord", "OnlineStore", "OnlineView", "open_online_store"]


def _require(module: str, extra: str, kind: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise UsageError(
            f"online_store type '{kind}' needs the {module} package, which is not installed",
            hint=f"install fsctl with the {extra} extra: pip install 'fsctl[{extra}]'",
        ) from None


def open_online_store(config: Any, root: Path) -> OnlineStore:
    """The store described by ``config`` (a ``fsctl.definitions.config`` online store section);
    a relative sqlite path is relative to the repo ``root``."""
    kind = getattr(config, "type", None)
    if kind == "sqlite":
        from fsctl.online.sqlite import SQLiteOnlineStore

        path = Path(config.path).expanduser()
        return SQLiteOnlineStore(path if path.is_absolute() else root / path)
    if kind == "dynamodb":
        _require("boto3", "aws", kind)
        from fsctl.online.dynamodb import DynamoDBOnlineStore

        return DynamoDBOnlineStore(
            region=config.region, table_prefix=config.table_prefix, endpoint_url=config.endpoint_url
        )
    if kind == "redis":
        _require("redis", "redis", kind)
        from fsctl.online.redis_store import RedisOnlineStore

        return RedisOnlineStore(config.url)
    raise UsageError(
        f"unknown online_store type {kind!r}", hint="use one of: sqlite, dynamodb, redis (in fsctl.yaml)"
    )
