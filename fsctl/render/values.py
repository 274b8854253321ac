"""Short, stable text for values shown in plans (shared by the text and Markdown renderers)."""

from __future__ import annotations

import json
from typing import Any

from fsctl.model.fields import format_duration

_DURATION_PATHS = ("ttl", "freshness")


def show(path: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if path.split(".")[-1] in _DURATION_PATHS and isinstance(value, int):
        return format_duration(value) if value else "0 (no limit)"
    if value == "*":
        return "(whole view)"
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


SYMBOL = {"add": "+", "update": "~", "delete": "-"}
