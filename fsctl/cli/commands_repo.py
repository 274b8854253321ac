"""Commands that work on a repo's definitions: init, validate, plan, apply, teardown."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fsctl.cli.options import (
    PLAN_FORMATS,
    debug_option,
    format_option,
    override_options,
    overrides_of,
    path_option,
    repo_options,
    strict_gates_option,
)
from fsctl.cli.output import confirm, err, out, show
from fsctl.render import render

if TYPE_CHECKING:
    from fsctl.diff import Plan
    from fsctl.loader import RepoDefinitions
    from fsctl.results.apply import ApplyResult, TablesDrop
    from fsctl.services.apply import Publisher
    from fsctl.workspace import Workspace


def _warn(definitions: RepoDefinitions) -> None:
    for warning in definitions.warnings:
        err(f"warning: {warning.render()}")


@click.command(short_help="Scaffold a new feature repo.")
@click.argument("name")
@click.option("--template", default="local", show_default=True, metavar="<str>", help="Template: local or aws.")
@debug_option
def init(name: str, template: str, debug: bool) -> int:
    """Scaffold a new feature repo NAME (with sample data) from a template.

    NAME is the folder to create; its name is the project name."""
    from fsctl.services.scaffold import init_repo

    target = Path(name)
    files = init_repo(target, template)
    out(f"Created {target}/ with {len(files)} files from template '{template}'.")
    out(f"Next: cd {target} && fsctl validate && fsctl plan && fsctl apply")
    return 0


@click.command(short_help="Check every definition (no registry access).")
@repo_options
@format_option()
@debug_option
def validate(repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """Load and check every definition; no registry access (--registry is accepted, not contacted)."""
    from fsctl.errors import DefinitionErrors
    from fsctl.loader import load_repo
    from fsctl.results.validation import ValidationReport
    from fsctl.workspace import open_workspace

    open_workspace(repo, registry).close()  # fsctl.yaml and its store sections; nothing is opened
    try:
        definitions = load_repo(repo)
    except DefinitionErrors as exc:
        if fmt != "json":
            raise
        show(ValidationReport(valid=False, problems=exc.problems), fmt)
        return 1
    if fmt != "json":
        _warn(definitions)
    counts = {kind: len(objs) for kind, objs in definitions.objects.items()}
    report = ValidationReport(valid=True, objects=counts, files=definitions.files, warnings=definitions.warnings)
    show(report, fmt)
    return 0


@click.command(short_help="Show what apply would change.")
@repo_options
@format_option(PLAN_FORMATS)
@path_option("--out", "Save the plan to this file for `fsctl apply PLAN`.", dest="out_file")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
@override_options
@strict_gates_option
@debug_option
def plan(
    repo: Path | None,
    registry: str | None,
    fmt: str,
    out_file: Path | None,
    detailed_exitcode: bool,
    allow_breaking: tuple[str, ...],
    reasons: tuple[str, ...],
    strict_gates: bool,
    debug: bool,
) -> int:
    """Show what apply would change in the registry."""
    from fsctl.loader import load_repo
    from fsctl.services.plan import Lookouts, make_plan, save_plan
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        definitions = load_repo(ws.root, check_remote=True)
        _warn(definitions)
        lookouts = Lookouts(state=ws.state, online=ws.online_store)
        overrides = overrides_of(allow_breaking, reasons)
        result, _ = make_plan(ws.project, ws.registry_reader(), definitions, overrides, lookouts, strict_gates)
    show(result, fmt)
    if result.is_blocked:
        err("error: the plan is blocked (see above); it cannot be applied")
        return 1
    if out_file is not None:
        save_plan(result, out_file)
        err(f"Saved the plan to {out_file}; apply it with `fsctl apply {out_file}`.")
    if detailed_exitcode and result.has_changes:
        return 2
    return 0


def _confirmer(yes: bool, action: str = "apply") -> Callable[[Plan], bool]:
    from fsctl.errors import UsageError

    hints = {
        "apply": "review the plan above and pass --yes (or apply a saved plan file with --yes)",
        "teardown": "review the objects above and pass --yes to delete them and their online tables",
    }

    def ask(p: Plan) -> bool:
        show(p)
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"refusing to {action} without confirmation: there is no terminal to ask on", hint=hints[action])
        return confirm("Apply these changes?" if action == "apply" else "Delete all of these?")

    return ask


def _report(result: ApplyResult) -> int:
    text = render(result, "text")
    if text:
        out(text)
    return 1 if result.cancelled else 0


@click.command(short_help="Publish the definitions (or a saved plan).")
@click.argument("plan_file", required=False, type=click.Path(path_type=Path), metavar="[PLAN]")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@override_options
@strict_gates_option
@repo_options
@debug_option
def apply(
    plan_file: Path | None,
    yes: bool,
    allow_breaking: tuple[str, ...],
    reasons: tuple[str, ...],
    strict_gates: bool,
    repo: Path | None,
    registry: str | None,
    debug: bool,
) -> int:
    """Publish the definitions (or exactly a saved PLAN) to the registry.

    PLAN is a plan saved with `fsctl plan --out`; it is applied exactly, or refused if stale."""
    from fsctl.services.apply import apply_definitions, apply_saved
    from fsctl.workspace import open_workspace

    ask = _confirmer(yes)
    overrides = overrides_of(allow_breaking, reasons)
    if plan_file is not None and overrides:
        from fsctl.errors import UsageError

        raise UsageError(
            "a saved plan is applied exactly as planned: --allow-breaking goes to `fsctl plan --out`",
            hint="run `fsctl plan --out PLAN --allow-breaking OBJECT --reason TEXT`, review it, then apply PLAN",
        )
    with open_workspace(repo, registry) as ws:
        ports = _publisher(ws)
        if plan_file is not None:
            result = apply_saved(ws.project, ports, plan_file, confirm=ask, strict_gates=strict_gates)
        else:
            result = apply_definitions(ws.project, ports, confirm=ask, overrides=overrides, strict_gates=strict_gates)
    return _report(result)


@click.command("codeowners", short_help="CODEOWNERS rules from model and view owners.")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="<path>",
    help="Write the section into this CODEOWNERS file (replacing the project's section, keeping the rest).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when the file (--output, or the CODEOWNERS GitHub reads) is out of date.",
)
@repo_options
@format_option()
@debug_option
def codeowners_cmd(
    output: Path | None, check: bool, repo: Path | None, registry: str | None, fmt: str, debug: bool
) -> int:
    """Print the CODEOWNERS section that makes the owner of a model approve changes to every
    definition file its versions read (services, views, sources, entities), and the owner of
    a view changes to the view's file. Reads the repo's definitions, not the registry
    (--registry is accepted and not contacted); paths are from the git repository's root."""
    from fsctl.results.codeowners import STALE
    from fsctl.services.codeowners import codeowners

    result = codeowners(repo, output, check)
    for problem in result.problems:
        err(f"warning: {problem}")
    show(result, fmt)
    return 1 if result.status == STALE else 0


@click.command(short_help="Remove the project's objects and tables.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--tables-only",
    is_flag=True,
    help="Drop only the project's tables in the configured online store, one its views moved away "
    "from; the registry is not changed.",
)
@repo_options
@debug_option
def teardown(yes: bool, tables_only: bool, repo: Path | None, registry: str | None, debug: bool) -> int:
    """Remove the project's objects from the registry (history is kept) and their online tables.

    With --tables-only, drop only the project's tables in the online store fsctl.yaml names,
    after a switch to another store: refused for the store the registry's views are in and for
    a store this registry never switched away from."""
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        if tables_only:
            from fsctl.services.online_tables import drop_old_store

            drop = drop_old_store(ws.project, ws.registry_reader(), ws.online_store(), ws.state(), _ask_drop(yes))
            show(drop)
            return 1 if drop.cancelled else 0
        from fsctl.services.apply import teardown as teardown_service

        result = teardown_service(ws.project, _publisher(ws), confirm=_confirmer(yes, "teardown"))
    return _report(result)


def _ask_drop(yes: bool) -> Callable[[TablesDrop], bool]:
    def ask(drop: TablesDrop) -> bool:
        show(drop)
        if yes:
            return True
        if not sys.stdin.isatty():
            from fsctl.errors import UsageError

            raise UsageError(
                "refusing to drop tables without confirmation: there is no terminal to ask on",
                hint="review the tables above and pass --yes to drop them",
            )
        return confirm("Drop these tables?")

    return ask


def _publisher(ws: Workspace) -> Publisher:
    from fsctl.services.apply import Publisher

    return Publisher(registry=ws.registry(), online=ws.online_store(), state=ws.state())
