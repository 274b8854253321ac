"""Commands that work on a repo's definitions: init, validate, plan, apply, teardown."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, PlanFormat, RegistryOpt, RepoOpt
from fsctl.cli.output import confirm, err, out

if TYPE_CHECKING:
    from fsctl.diff import Plan
    from fsctl.loader import RepoDefinitions
    from fsctl.services.apply import ApplyResult


def render_plan(plan: Plan, fmt: PlanFormat) -> None:
    from fsctl.render.json_format import plan_json
    from fsctl.render.markdown import plan_markdown
    from fsctl.render.text import plan_text

    if fmt is PlanFormat.json:
        out(plan_json(plan))
    elif fmt is PlanFormat.markdown:
        out(plan_markdown(plan))
    else:
        out(plan_text(plan), plan_text(plan, markup=True))


def _warn(definitions: RepoDefinitions) -> None:
    for warning in definitions.warnings:
        err(f"warning: {warning.render()}")


def init(
    name: Annotated[str, typer.Argument(help="Folder to create; its name is the project name.")],
    template: Annotated[str, typer.Option("--template", help="Template: local or aws.")] = "local",
    debug: DebugOpt = False,
) -> int:
    """Scaffold a new feature repo (with sample data) from a template."""
    from fsctl.services.scaffold import init_repo

    target = Path(name)
    files = init_repo(target, template)
    out(f"Created {target}/ with {len(files)} files from template '{template}'.")
    out(f"Next: cd {target} && fsctl validate && fsctl plan && fsctl apply")
    return 0


def validate(
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Load and check every definition; no registry access (--registry is accepted, not contacted)."""
    from fsctl.errors import DefinitionErrors
    from fsctl.loader import load_repo

    if fmt is DataFormat.json:
        from fsctl.render.json_format import dumps

        try:
            definitions = load_repo(repo)
        except DefinitionErrors as exc:
            out(dumps({"valid": False, "problems": [p.__dict__ | {"detail": None} for p in exc.problems]}))
            return 1
        counts = {kind: len(objs) for kind, objs in definitions.objects.items()}
        out(
            dumps(
                {
                    "valid": True,
                    "objects": counts,
                    "files": definitions.files,
                    "warnings": [w.render() for w in definitions.warnings],
                }
            )
        )
        return 0
    definitions = load_repo(repo)
    _warn(definitions)
    summary = ", ".join(f"{len(objs)} {kind}" for kind, objs in definitions.objects.items() if objs)
    out(f"Valid: {definitions.count()} objects ({summary or 'none'}) in {len(definitions.files)} files.")
    return 0


def plan(
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.text,
    out_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--out", help="Save the plan to this file for `fsctl apply PLAN`.", show_default=False),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 2 when there are changes, 0 when there are none."),
    ] = False,
    debug: DebugOpt = False,
) -> int:
    """Show what apply would change in the registry."""
    from fsctl.loader import load_repo
    from fsctl.services.plan import make_plan, save_plan
    from fsctl.services.project import open_project

    project = open_project(repo, registry)
    definitions = load_repo(project.root)
    _warn(definitions)
    result, _ = make_plan(project, definitions)
    render_plan(result, fmt)
    if result.is_blocked:
        err("error: the plan is blocked (see above); it cannot be applied")
        return 1
    if out_file is not None:
        save_plan(result, out_file)
        err(f"Saved the plan to {out_file}; apply it with `fsctl apply {out_file}`.")
    if detailed_exitcode and result.has_changes:
        return 2
    return 0


def _confirmer(yes: bool) -> Callable[[Plan], bool]:
    from fsctl.errors import UsageError
    from fsctl.render.text import plan_text

    def ask(p: Plan) -> bool:
        out(plan_text(p), plan_text(p, markup=True))
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(
                "refusing to apply without confirmation: there is no terminal to ask on",
                hint="review the plan above and pass --yes (or apply a saved plan file with --yes)",
            )
        return confirm("Apply these changes?")

    return ask


def _report(result: ApplyResult, registry: str, started: float) -> int:
    elapsed = time.perf_counter() - started
    if result.cancelled:
        out("Cancelled; nothing was written.")
        return 1
    if not result.written:
        if not result.plan.has_changes:
            out(f"No changes. Registry {registry} stays at version {result.version_before}.")
        return 0
    s = result.plan.summary
    retried = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    out(
        f"Applied: registry {registry} version {result.version_before} -> {result.version_after} "
        f"({s['add']} added, {s['update']} changed, {s['delete']} deleted) in {elapsed:.2f}s{retried}."
    )
    return 0


def apply(
    plan_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(
            help="A plan saved with `fsctl plan --out`; applied exactly, or refused if stale.",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")] = False,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Publish the definitions (or exactly a saved PLAN) to the registry."""
    from fsctl.services.apply import apply_definitions, apply_saved
    from fsctl.services.project import open_project

    started = time.perf_counter()
    project = open_project(repo, registry)
    ask = _confirmer(yes)
    if plan_file is not None:
        result = apply_saved(project, plan_file, confirm=ask)
    else:
        result = apply_definitions(project, confirm=ask)
    return _report(result, project.registry_uri, started)


def teardown(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Remove the project's objects from the registry (history is kept)."""
    from fsctl.services.apply import teardown as teardown_service
    from fsctl.services.project import open_project

    started = time.perf_counter()
    project = open_project(repo, registry)
    result = teardown_service(project, confirm=_confirmer(yes))
    return _report(result, project.registry_uri, started)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(validate)
    app.command()(plan)
    app.command()(apply)
    app.command()(teardown)
