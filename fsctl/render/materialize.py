"""Summaries of materialization runs, as text and JSON."""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.checks import describe
from fsctl.results.materialize import MaterializeResult, ViewRun


def materialize_json(result: MaterializeResult) -> str:
    return dumps({"views": [r.to_dict() for r in result.runs]})


def materialize_text(result: MaterializeResult) -> str:
    runs = result.runs
    if not runs:
        return "No online views to materialize."
    lines = []
    for r in runs:
        window = f"[{r.start.isoformat() if r.start else 'earliest'}, {r.end.isoformat()})"
        if r.status in ("up-to-date", "skipped"):
            why = f" ({r.note})" if r.status == "skipped" else ""
            lines.append(f"{r.view}: {r.status.replace('-', ' ')} {window}{why}")
            continue
        head = f"{r.view}: {'FAILED' if r.status == 'failed' else 'done'} {window} in {r.seconds:.2f}s"
        lines.append(head)
        lines.append(
            f"  rows read {r.rows_read:,}, keys {r.keys:,}, written {r.keys_written:,}"
            + (f", kept newer {r.keys_kept_newer:,}" if r.keys_kept_newer else "")
        )
        if r.note:
            lines.append(f"  ({r.note})")
        if r.error and not r.rejected:  # a rejected window's checks say why, below
            lines.append(f"  error: {r.error}")
        lines.extend(_checks(r))
    return "\n".join(lines)


def _checks(run: ViewRun) -> list[str]:
    """The data checks run on the window: a count when all passed, else each failure."""
    checks = run.checks
    if checks is None:
        return []
    total = len(checks.outcomes)
    if checks.passed:
        return [f"  data checks: all {total} passed"]
    failures = checks.failures
    what = "rejected, nothing written" if run.rejected else f"check_policy {checks.policy}: written anyway"
    return [f"  data checks: {len(failures)} of {total} failed ({what})"] + [
        f"    {describe(o)}" for o in failures
    ]
