"""``fsctl check`` as text and JSON."""

from __future__ import annotations

from fsctl.json_values import iso_timestamp as iso
from fsctl.render.json_format import dumps
from fsctl.results.checks import CheckReport, describe


def check_json(report: CheckReport) -> str:
    return dumps(report.to_dict())


def check_text(report: CheckReport) -> str:
    window = f"[{iso(report.start) if report.start else 'earliest'}, {iso(report.end)})"
    checks = report.checks
    if checks is None:
        return (
            f"{report.view}: no data checks to run on {window} "
            "(add checks: or row_checks: to its definition)"
        )
    total, failures = len(checks.outcomes), checks.failures
    rows = f"{checks.rows:,} row{'s' if checks.rows != 1 else ''}"
    if not failures:
        head = f"{report.view}: all {total} data check{'s' if total != 1 else ''} passed on {window}, {rows}"
    else:
        head = f"{report.view}: {len(failures)} of {total} data checks FAILED on {window}, {rows}"
    lines = [head]
    lines += [f"  {'FAIL' if not o.passed else 'ok  '} {describe(o)}" for o in checks.outcomes]
    if failures:
        if checks.policy == "reject":
            lines.append("materialize rejects this window (check_policy: reject): nothing written, the watermark stays")
        else:
            lines.append("materialize writes this window and records the failures (check_policy: warn)")
    return "\n".join(lines)
