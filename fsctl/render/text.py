"""Plain-text rendering of a plan; with ``markup=True`` the same lines carry rich styles.

The plain form is stable (the golden files pin it); the CLI uses the markup
form only when stdout is a terminal.
"""

from __future__ import annotations

from fsctl.diff import Plan
from fsctl.diff.plan import ADD, BREAKING, DELETE, METADATA, UPDATE
from fsctl.render.values import SYMBOL, object_summary, plural, show

_COLOR = {ADD: "green", UPDATE: "yellow", DELETE: "bold red"}


def plan_rich(plan: Plan) -> str:
    """The plan with rich markup, for a terminal."""
    return plan_text(plan, markup=True)


def plan_text(plan: Plan, markup: bool = False) -> str:
    def line(text: str, style: str | None = None) -> str:
        if not markup:
            return text
        from rich.markup import escape

        return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)

    lines = [
        f"Plan for project {plan.project} against registry {plan.registry} (version {plan.registry_version})",
        "",
    ]
    if not plan.has_changes:
        lines.append("No changes. The registry matches the definitions.")
        return "\n".join(lines) + "\n"

    for change in plan.changes:
        head = f"  {SYMBOL[change.action]} {change.kind} {change.name}"
        if change.action == DELETE:
            head += "  [DELETE]"
        elif change.action == ADD:
            added = plan.desired.get(change.kind, {}).get(change.name)
            head += f"  ({object_summary(added)})" if added else ""
        elif change.impact in (BREAKING, METADATA):
            head += "  [breaking]" if change.impact == BREAKING else "  [metadata only]"
        lines.append(line(head, _COLOR[change.action]))
        for field in change.fields:
            before, after = show(field.path, field.before), show(field.path, field.after)
            if field.before is None:
                text = f"      + {field.path}: {after}"
            elif field.after is None:
                text = f"      - {field.path}: {before}"
            else:
                text = f"      ~ {field.path}: {before} -> {after}"
            if field.impact == BREAKING:
                text += f"   (breaking: {field.reason})"
            lines.append(line(text))
    lines.append("")
    if plan.online_changes:
        lines.append("Online store:")
        for action, view in plan.online_changes:
            if action == "create":
                lines.append(line(f"  + create the online table of view {view}", "green"))
            else:
                lines.append(line(f"  - drop the online table of view {view} (its online values are deleted)", "red"))
        lines.append("")
    if plan.blocked:
        count = plural(len(plan.blocked), "change")
        lines.append(line(f"BLOCKED: {count} would break objects that depend on them:", "bold red"))
        for b in plan.blocked:
            lines.append(line(f"  x {b.kind} {b.name}: {b.reason}"))
            lines.append(line(f"      used by: {', '.join(b.dependents)}"))
        lines.append("")
    s = plan.summary
    tail = f"Plan: {s['add']} to add, {s['update']} to change, {s['delete']} to delete"
    breaking_updates = sum(1 for c in plan.changes if c.action == UPDATE and c.breaking)
    extras = []
    if breaking_updates:
        extras.append(f"{plural(breaking_updates, 'breaking change')}")
    if s["blocked"]:
        extras.append(f"{s['blocked']} blocked")
    if extras:
        tail += f" ({', '.join(extras)})"
    lines.append(line(tail + ".", "bold"))
    return "\n".join(lines) + "\n"
