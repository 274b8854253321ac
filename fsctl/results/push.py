"""The answer to a push of rows into the online store (:class:`PushResult`): per feature view,
how many rows came, how many distinct keys they held, and how many of those were stored
(the others kept a newer value already stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fsctl.json_values import iso_timestamp


@dataclass(frozen=True)
class ViewPush:
    view: str
    rows: int
    keys: int
    keys_written: int
    newest_event: datetime | None

    @property
    def keys_kept_newer(self) -> int:
        return self.keys - self.keys_written

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "rows": self.rows,
            "keys": self.keys,
            "keys_written": self.keys_written,
            "keys_kept_newer": self.keys_kept_newer,
            "newest_event": iso_timestamp(self.newest_event) if self.newest_event else None,
        }


@dataclass(frozen=True)
class PushResult:
    views: list[ViewPush] = field(default_factory=list)
    # set when the rows were written but the push could not be recorded in the state document
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"views": [v.to_dict() for v in self.views]}
        if self.warning is not None:
            out["warning"] = self.warning
        return out
