"""Use case: data checks. A view's checks (``checks``, ``row_checks`` in its definition) over
a window of its source, computed by the offline engine
(:meth:`fsctl.offline.base.OfflineEngine.check`).

``fsctl check VIEW`` runs them alone (:func:`check_view`); materialize runs them on each
window before it writes (:mod:`fsctl.services.materialize`) and then, by the view's
``check_policy``, writes nothing for a failing window and keeps the watermark (``reject``,
the default) or writes it and records the failures in the run (``warn``). Checks are read
from the registry, as materialize reads every definition.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline import CheckRequest, CheckResult, OfflineEngine, Window, check_request
from fsctl.registry import RegistryReader
from fsctl.results.checks import CheckOutcome, CheckReport, WindowChecks, describe, json_value
from fsctl.services.catalog import Catalog
from fsctl.services.project import Project
from fsctl.state import CheckRecord

DEFAULT_POLICY = "reject"


def policy_of(view: dict[str, Any]) -> str:
    """What materialize does with a window that fails the view's checks."""
    return str(view.get("check_policy") or DEFAULT_POLICY)


def window_request(objects: Catalog, view: dict[str, Any], window: Window) -> CheckRequest:
    """The view's checks (its canonical dict) over ``window``."""
    return check_request(view, objects.view_spec(view["name"]), window)


def window_checks(result: CheckResult, policy: str) -> WindowChecks:
    """The engine's answer as a plain result (example keys as JSON values)."""
    return WindowChecks(
        policy=policy,
        rows=result.rows,
        outcomes=tuple(
            CheckOutcome(
                check=o.check,
                feature=o.feature,
                limit=o.limit,
                failed=o.failed,
                rows=o.rows,
                passed=o.passed,
                example_key={k: json_value(v) for k, v in o.example_key.items()} if o.example_key else None,
                example_time=o.example_time,
            )
            for o in result.outcomes
        ),
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def check_view(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    view: str,
    end: datetime,
    start: datetime | None = None,
) -> CheckReport:
    """Run the checks of ``view`` on the source rows with ``start <= event time < end`` (no
    lower bound when ``start`` is None), whatever its policy."""
    end = _utc(end)
    start = _utc(start) if start is not None else None
    if start is not None and start >= end:
        raise UsageError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    objects = Catalog(project, registry)
    doc = objects.view(view)
    request = window_request(objects, doc, Window(start, end))
    policy = policy_of(doc)
    checks = None if request.empty else window_checks(engine.check(request), policy)
    return CheckReport(view=view, start=start, end=end, policy=policy, checks=checks)


def check_records(checks: WindowChecks) -> tuple[CheckRecord, ...]:
    """The failed checks as the state document records them in a run."""
    return tuple(
        CheckRecord(
            check=o.check,
            feature=o.feature,
            limit=o.limit,
            failed=o.failed,
            rows=o.rows,
            example_key=o.example_key,
            example_time=o.example_time,
        )
        for o in checks.failures
    )


def rejection(result: WindowChecks) -> str:
    """The one-line error of a window rejected by its checks (details: :func:`failure_lines`)."""
    failures = result.failures
    shown = ", ".join(
        f"{o.feature + ' ' if o.feature else ''}{o.check} ({o.failed:,} row{'s' if o.failed != 1 else ''})"
        if o.check != "min_rows"
        else f"min_rows ({o.rows:,} in the window)"
        for o in failures
    )
    count = len(failures)
    return f"rejected by {count} failing data check{'s' if count != 1 else ''} (check_policy: reject), nothing written: {shown}"


def failure_lines(result: WindowChecks) -> list[str]:
    """One line per failed check: the check, what was found, an example key."""
    return [describe(o) for o in result.failures]
