"""Plain-text rendering of a plan (rich styling is added by the CLI on a terminal).

Lines carry style tags understood by rich markup only when ``markup=True``;
otherwise the text is plain and stable, which the golden files pin.
"""

from __future__ import annotations

from fsctl.diff import Plan
from fsctl.diff.plan import BREAKING, DELETE, METADATA
from fsctl.render.values import SYMBOL, show

_COLOR = {"add": "green", "update": "yellow", "delete": "bold red"}


def _esc(text: str, markup: bool) -> str:
    if not markup:
        return text
    from rich.markup import escape

    return escape(text)


def plan_text(plan: Plan, markup: bool = False) -> str:
    def style(text: str, tag: str) -> str:
        return f"[{tag}]{text}[/{tag}]" if markup else text

    lines = [
        f"Plan for project {plan.project} against registry {plan.registry} (version {plan.registry_version})",
        "",
    ]
    if not plan.has_changes:
        lines.append("No changes. The registry matches the definitions.")
        return "\n".join(lines) + "\n"

    for change in plan.changes:
        label = {BREAKING: "breaking", METADATA: "metadata only"}.get(change.impact, "")
        if change.action == DELETE:
            label = "DELETE"
        head = f"  {SYMBOL[change.action]} {change.kind} {change.name}"
        if label:
            head += f"  [{label}]" if not markup else f"  \\[{label}]"
        lines.append(style(_esc(head, False) if markup else head, _COLOR[change.action]))
        for field in change.fields:
            sym = "+" if field.before is None else "-" if field.after is None else "~"
            if sym == "+":
                text = f"      + {field.path}: {show(field.path, field.after)}"
            elif sym == "-":
                text = f"      - {field.path}: {show(field.path, field.before)}"
            else:
                text = f"      ~ {field.path}: {show(field.path, field.before)} -> {show(field.path, field.after)}"
            if field.impact == BREAKING:
                text += f"   (breaking: {field.reason})"
            lines.append(_esc(text, markup))
    lines.append("")
    if plan.blocked:
        lines.append(
            style(
                f"BLOCKED: {len(plan.blocked)} change(s) would break objects that depend on them:", "bold red"
            )
        )
        for b in plan.blocked:
            lines.append(_esc(f"  x {b.kind} {b.name}: {b.reason}", markup))
            lines.append(_esc(f"      used by: {', '.join(b.dependents)}", markup))
        lines.append("")
    s = plan.summary
    tail = f"Plan: {s['add']} to add, {s['update']} to change, {s['delete']} to delete"
    extras = []
    if s["breaking"]:
        extras.append(f"{s['breaking']} breaking")
    if s["blocked"]:
        extras.append(f"{s['blocked']} blocked")
    if extras:
        tail += f" ({', '.join(extras)})"
    lines.append(style(tail + ".", "bold"))
    return "\n".join(lines) + "\n"
