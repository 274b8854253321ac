"""Plain-text rendering of a plan; with ``markup=True`` the same lines carry rich styles.

The plain form is stable (the golden files pin it); the CLI uses the markup
form only when stdout is a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

from fsctl.diff import Plan
from fsctl.diff.plan import ADD, BREAKING, DELETE, METADATA, UPDATE
from fsctl.render.values import (
    SYMBOL,
    alias_fields,
    alias_item,
    chain_text,
    group_gates,
    object_summary,
    plural,
    show,
)
from fsctl.results.browse import VersionDiff

_COLOR = {ADD: "green", UPDATE: "yellow", DELETE: "bold red"}
_GATE_COLOR = {"pass": "green", "fail": "bold red", "unknown": "yellow"}


def plan_rich(plan: Plan) -> str:
    """The plan with rich markup, for a terminal."""
    return plan_text(plan, markup=True)


def plan_text(plan: Plan, markup: bool = False, *, title: str | None = None, no_changes: str | None = None) -> str:
    """The plan as text; ``title`` and ``no_changes`` replace the first line and the
    no-change sentence (``registry diff`` shows two versions, not a plan)."""

    def line(text: str, style: str | None = None) -> str:
        if not markup:
            return text
        from rich.markup import escape

        return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)

    lines = [
        title or f"Plan for project {plan.project} against registry {plan.registry} (version {plan.registry_version})",
        "",
    ]
    if not plan.has_changes:
        lines.append(no_changes or "No changes. The registry matches the definitions.")
        lines.extend(_unrecorded_note(plan))
        return "\n".join(lines) + "\n"

    for change in plan.changes:
        moves = alias_fields(change)
        fields = [f for f in change.fields if f not in moves]
        # an alias move is its own item (churn_classifier: Production 1 -> 2), after the model's other fields
        items = [line(f"  {alias_item(change.name, f, plan)}", _COLOR[UPDATE]) for f in moves]
        if moves and not fields and not change.breaks:
            lines.extend(items)
            continue
        head = f"  {SYMBOL[change.action]} {change.kind} {change.name}"
        if change.action == DELETE:
            head += "  [DELETE]"
        elif change.action == ADD:
            added = plan.desired.get(change.kind, {}).get(change.name)
            head += f"  ({object_summary(added)})" if added else ""
        elif change.impact in (BREAKING, METADATA):
            head += "  [breaking]" if change.impact == BREAKING else "  [metadata only]"
        lines.append(line(head, _COLOR[change.action]))
        for field in fields:
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
        for gap in change.breaks:  # published model versions it leaves without their training features
            lines.append(line(f"      ! {gap.reason}"))
        lines.extend(items)
    if plan.changes:
        lines.append("")
    switch = plan.store_change
    if plan.online_changes or switch:
        if switch:
            lines.append(line(f"Online store: switches from {switch.before} to {switch.after}", "bold yellow"))
        else:
            lines.append("Online store:")
        for action, view in plan.online_changes:
            if action == "create":
                lines.append(line(f"  + create the online table of view {view}", "green"))
            else:
                lines.append(line(f"  - drop the online table of view {view} (its online values are deleted)", "red"))
        if switch and title is None:
            lines.extend(line(text) for text in _wrap(switch_notes(switch.before)))
        lines.append("")
    if plan.blocked:
        count = plural(len(plan.blocked), "change")
        lines.append(line(f"BLOCKED: {count} would break objects that depend on them:", "bold red"))
        for b in plan.blocked:
            lines.append(line(f"  x {b.kind} {b.name}: {b.reason}"))
            lines.extend(line(f"      chain: {chain_text(c)}") for c in b.chains)
            if b.dependents:
                lines.append(line(f"      used by: {', '.join(b.dependents)}"))
        lines.append("")
    if plan.warnings:
        count = plural(len(plan.warnings), "breaking change")
        verb = "reaches" if len(plan.warnings) == 1 else "reach"
        lines.append(line(f"WARNING: {count} {verb} only model versions no protected alias names (not blocked):", "bold yellow"))
        for w in plan.warnings:
            lines.append(line(f"  ! {w.kind} {w.name}: {w.reason}"))
            lines.extend(line(f"      chain: {chain_text(c)}") for c in w.chains)
        lines.append("")
    for (model, alias, version, left), gates in group_gates(plan).items():
        moved = f"moved from version {left}" if left is not None else "added"
        lines.append(line(f"Promotion gates: {model} version {version} -> {alias} ({moved}):", "bold"))
        for gate in gates:
            lines.append(line(f"  {gate.status:<8} {gate.name}: {gate.detail}", _GATE_COLOR[gate.status]))
            if gate.status != "pass" and gate.fix:
                lines.append(line(f"           fix: {gate.fix}"))
        lines.append("")
    if plan.allowed:
        count = plural(len(plan.allowed), "blocked change")
        lines.append(line(f"ALLOWED by --allow-breaking: {count}, applied on purpose:", "bold yellow"))
        for b in plan.allowed:
            override = next(o for o in plan.overrides if o.matches(b))
            lines.append(line(f"  ! {b.kind} {b.name}: {b.reason}"))
            lines.append(line(f"      --allow-breaking {override.target}: {override.reason}"))
        lines.append("")
    s = plan.summary
    tail = f"{'Changes' if title else 'Plan'}: {s['add']} to add, {s['update']} to change, {s['delete']} to delete"
    extras = []
    if s["breaking"]:
        # As loud as the JSON's summary.breaking: deletions count, since whatever used a
        # deleted object loses it.
        breaking = plural(s["breaking"], "breaking change")
        if s["delete"]:
            breaking += f", {plural(s['delete'], 'deletion')} among them"
        extras.append(breaking)
    if s["blocked"]:
        extras.append(f"{s['blocked']} blocked")
    if plan.warnings:
        extras.append(plural(len(plan.warnings), "warning"))
    if s["allowed_breaking"]:
        extras.append(f"{s['allowed_breaking']} allowed by --allow-breaking")
    if switch:
        tail += ", and a switch of online store"
    if extras:
        tail += f" ({'; '.join(extras)})"
    lines.append(line(tail + ".", "bold red" if s["breaking"] else "bold"))
    lines.extend(_unrecorded_note(plan))
    return "\n".join(lines) + "\n"


def switch_notes(before: str, code: Callable[[str], str] = str) -> list[str]:
    """What a switch of online store means for the new store and the old one (text and
    Markdown, where ``code`` puts a store's identity in a code span)."""
    return [
        "New store: watermarks are kept per store, so a view never loaded into it starts afresh: the next "
        "`fsctl materialize-incremental` loads it from END minus its TTL (or from its earliest event). "
        "Load it before readers use it.",
        "Old store: left as it is; its tables and data stay for readers still using it. To remove them, "
        f"run `fsctl teardown --tables-only` with online_store set to {code(before)}.",
    ]


def unrecorded_note(plan: Plan, code: Callable[[str], str] = str) -> str | None:
    """The note of a registry that does not record its online store (text and Markdown)."""
    if not plan.store_unrecorded:
        return None
    return (
        "The registry does not record which online store its views were applied to (an older fsctl "
        f"wrote it); the next apply that changes something records {code(str(plan.online_store))}."
    )


def _unrecorded_note(plan: Plan) -> list[str]:
    note = unrecorded_note(plan)
    return [] if note is None else ["", *_wrap([f"Note: {note}"], first="", rest="  ")]


def _wrap(paragraphs: list[str], first: str = "  ", rest: str = "    ") -> list[str]:
    import textwrap

    return [
        text
        for paragraph in paragraphs
        for text in textwrap.wrap(
            paragraph, width=100, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
        )
    ]


def diff_text(result: VersionDiff, markup: bool = False) -> str:
    plan = result.plan
    return plan_text(
        plan,
        markup,
        title=f"Changes in project {plan.project} from registry version {result.before} to {result.after} ({plan.registry})",
        no_changes=f"No changes between versions {result.before} and {result.after}.",
    )


def diff_rich(result: VersionDiff) -> str:
    return diff_text(result, markup=True)
