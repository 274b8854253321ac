"""Markdown rendering of a plan for a pull-request comment (templates/render/plan.md.j2)."""

from __future__ import annotations

from fsctl.diff import Plan
from fsctl.render.text import switch_notes, unrecorded_note
from fsctl.render.values import SYMBOL, plural, show
from fsctl.results.browse import VersionDiff


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`"


def plan_markdown(plan: Plan, title: str | None = None) -> str:
    import jinja2

    from fsctl.template_paths import templates_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "render")),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md
    template = env.get_template("plan.md.j2")
    breaking = [c for c in plan.changes if c.breaking]
    updated = [c for c in plan.changes if c.fields]
    switch = plan.store_change
    text = template.render(
        plan=plan,
        title=title,
        s=plan.summary,
        breaking=breaking,
        updated=updated,
        symbol=SYMBOL,
        show=show,
        plural=plural,
        switch_notes=switch_notes(switch.before, _code) if switch else [],
        unrecorded_note=unrecorded_note(plan, _code),
    )
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def diff_markdown(result: VersionDiff) -> str:
    return plan_markdown(
        result.plan, title=f"changes in `{result.plan.project}` from version {result.before} to {result.after}"
    )
