"""What an apply or a teardown did, as text."""

from __future__ import annotations

from fsctl.results.apply import ApplyResult


def apply_text(result: ApplyResult) -> str:
    registry = result.plan.registry
    if result.cancelled:
        return "Cancelled; nothing was written."
    if not result.written:
        return f"No changes. Registry {registry} stays at version {result.version_before}." if not result.plan.has_changes else ""
    s = result.plan.summary
    retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    return (
        f"Applied: registry {registry} version {result.version_before} -> {result.version_after} "
        f"({s['add']} added, {s['update']} changed, {s['delete']} deleted) in {result.seconds:.2f}s{retried}."
    )
