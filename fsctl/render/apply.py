"""What an apply or a teardown did (or, for ``teardown --tables-only``, is about to do), as text."""

from __future__ import annotations

from fsctl.render.values import plural
from fsctl.results.apply import ApplyResult, TablesDrop


def apply_text(result: ApplyResult) -> str:
    registry = result.plan.registry
    if result.cancelled:
        return "Cancelled; nothing was written."
    if not result.written:
        if result.plan.has_changes:
            return ""
        return f"No changes. Registry {registry} stays at version {result.version_before}." + _left_behind(result)
    s = result.plan.summary
    retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    switch = result.plan.store_change
    switched = f"; online store switched to {switch.after}" if switch else ""
    return (
        f"Applied: registry {registry} version {result.version_before} -> {result.version_after} "
        f"({s['add']} added, {s['update']} changed, {s['delete']} deleted{switched}) in {result.seconds:.2f}s{retried}."
    ) + _left_behind(result)


def _left_behind(result: ApplyResult) -> str:
    if not result.other_stores:
        return ""
    return (
        f"\nOnline stores the project loaded before still hold its tables: {', '.join(result.other_stores)}. "
        "To remove them, run `fsctl teardown --tables-only` with online_store set to each."
    )


def tables_drop_text(result: TablesDrop) -> str:
    """``teardown --tables-only``: what it drops (asked before), dropped, or finds nothing to drop."""
    views = plural(len(result.views), "view")
    where = f"online store {result.store}"
    if not result.views:
        return f"No tables of project {result.project} in {where}; nothing to drop."
    if result.cancelled:
        return "Cancelled; nothing was dropped."
    if result.dropped:
        return f"Dropped the tables of {views} of project {result.project} from {where}; the registry is unchanged."
    lines = [f"Drop the tables of {views} of project {result.project} from {where} (the registry is unchanged):"]
    lines.extend(f"  - {view} (its online values are deleted)" for view in result.views)
    return "\n".join(lines) + "\n"
