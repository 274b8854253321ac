"""The results of data checks: :class:`WindowChecks` (a view's checks on one window, as
the engine answered them, with the view's policy), :class:`CheckReport` for ``fsctl check``,
and the words every output uses for one check (:func:`describe`), so ``fsctl check``, the
materialize summary and its error say the same thing. Plain values: renderers read them
without reaching the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fsctl.json_values import iso_timestamp


def json_value(value: Any) -> Any:
    """A key value as JSON: numbers, strings, bools and null as they are; times in ISO-8601;
    anything else (dates, decimals, bytes) as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return iso_timestamp(value)
    return str(value)


def _number(value: Any) -> str:
    if isinstance(value, float):  # 1000000.0 -> 1000000, 0.05 -> 0.05
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


@dataclass(frozen=True)
class CheckOutcome:
    """One check on one window (see :class:`fsctl.offline.base.CheckOutcome`, which it
    copies): ``failed`` rows at fault of ``rows``, and one of them (join keys as JSON values,
    event time)."""

    check: str
    feature: str | None
    limit: Any
    failed: int
    rows: int
    passed: bool
    example_key: dict[str, Any] | None = None
    example_time: datetime | None = None


@dataclass(frozen=True)
class WindowChecks:
    """A view's data checks on one window, in request order, and the view's ``policy``
    (what materialize does when they fail: ``reject`` or ``warn``)."""

    policy: str
    rows: int
    outcomes: tuple[CheckOutcome, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "passed": self.passed,
            "rows": self.rows,
            "results": [outcome_dict(o) for o in self.outcomes],
        }


def _limit(outcome: CheckOutcome) -> str:
    if outcome.check == "allowed":
        return "[" + ", ".join(str(v) for v in outcome.limit) + "]"
    if outcome.check == "unique":
        return ""
    return _number(outcome.limit)


def example_text(key: dict[str, Any] | None, when: datetime | None) -> str:
    """``driver_id=1001 at 2026-01-02T03:00:00Z``."""
    if not key:
        return ""
    text = ", ".join(f"{k}={json_value(v)}" for k, v in key.items())
    return f"{text} at {iso_timestamp(when)}" if when is not None else text


def describe(outcome: CheckOutcome) -> str:
    """One line: the check, its setting, what was found, and an example row at fault, e.g.
    ``conv_rate max 1: 3 of 120 rows above 1 (e.g. driver_id=1001 at 2026-01-02T03:00:00Z)``."""
    o = outcome
    name = f"{o.feature} {o.check}" if o.feature else o.check
    head = f"{name} {_limit(o)}".rstrip()
    of = f"{o.failed:,} of {o.rows:,} rows"
    if o.check == "min":
        found = f"{of} below {_limit(o)}"
    elif o.check == "max":
        found = f"{of} above {_limit(o)}"
    elif o.check == "max_null_fraction":
        share = o.failed / o.rows if o.rows else 0.0
        found = f"{of} null ({share:.1%})"
    elif o.check == "allowed":
        found = f"{of} with another value"
    elif o.check == "unique":
        found = f"{of} share their join keys and event time with another row"
    else:  # min_rows
        found = f"{o.rows:,} row{'s' if o.rows != 1 else ''} in the window"
    example = example_text(o.example_key, o.example_time)
    if not o.passed and example:
        found += f" (e.g. {example})"
    return f"{head}: {found}"


def outcome_dict(outcome: CheckOutcome) -> dict[str, Any]:
    """The JSON form of one outcome."""
    return {
        "check": outcome.check,
        "feature": outcome.feature,
        "limit": outcome.limit,
        "passed": outcome.passed,
        "failed": outcome.failed,
        "rows": outcome.rows,
        "example_key": outcome.example_key,
        "example_time": iso_timestamp(outcome.example_time) if outcome.example_time else None,
    }


@dataclass
class CheckReport:
    """``fsctl check VIEW``: the view's checks over one window (``checks`` None: the view
    has none); ``policy`` is what materialize does when they fail."""

    view: str
    start: datetime | None
    end: datetime
    policy: str
    checks: WindowChecks | None

    @property
    def failed(self) -> bool:
        return self.checks is not None and not self.checks.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "start": iso_timestamp(self.start) if self.start else None,
            "end": iso_timestamp(self.end),
            "policy": self.policy,
            "passed": not self.failed,
            "rows": self.checks.rows if self.checks is not None else None,
            "checks": [outcome_dict(o) for o in self.checks.outcomes] if self.checks is not None else [],
        }
