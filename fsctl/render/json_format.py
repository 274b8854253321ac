"""JSON rendering: the stable machine formats (plan, objects, history)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsctl.diff import Plan
    from fsctl.results.browse import VersionDiff


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False, default=str)


def plan_json(plan: Plan) -> str:
    return dumps(plan.to_dict())


def diff_json(result: VersionDiff) -> str:
    return dumps(result.to_dict())
