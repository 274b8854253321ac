"""Commands that browse the registry: list, describe and registry history/show/diff."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, PlanFormat, RegistryOpt, RepoOpt
from fsctl.cli.output import out

registry_app = typer.Typer(
    help="Past registry versions: history, show, diff.", no_args_is_help=True, rich_markup_mode=None
)

KindArg = Annotated[str, typer.Argument(help="entities, views, services, sources or models")]


def list_cmd(
    kind: KindArg,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """List the objects of one kind in the registry."""
    from fsctl.render import browse
    from fsctl.services.browse import list_objects
    from fsctl.services.project import open_project

    resolved, objects = list_objects(open_project(repo, registry), kind)
    out(browse.objects_json(objects) if fmt is DataFormat.json else browse.objects_table(resolved, objects))
    return 0


def describe(
    kind: KindArg,
    name: Annotated[str, typer.Argument(help="The object's name.")],
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Show one object from the registry."""
    from fsctl.render import browse
    from fsctl.services.browse import describe as describe_service
    from fsctl.services.project import open_project

    obj = describe_service(open_project(repo, registry), kind, name)
    out(browse.objects_json(obj) if fmt is DataFormat.json else browse.object_text(obj))
    return 0


@registry_app.command("history")
def history(
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Every registry version: when, who, which commit, which plan."""
    from fsctl.render import browse
    from fsctl.services.browse import history as history_service
    from fsctl.services.project import open_project

    entries = history_service(open_project(repo, registry))
    out(browse.history_json(entries) if fmt is DataFormat.json else browse.history_table(entries))
    return 0


@registry_app.command("show")
def show(
    version: Annotated[Optional[int], typer.Argument(help="Version (default: the current one).")] = None,  # noqa: UP045
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """The registry document at a version."""
    from fsctl.render import browse
    from fsctl.services.browse import show_version
    from fsctl.services.project import open_project

    document: dict[str, Any] = show_version(open_project(repo, registry), version)
    out(browse.objects_json(document) if fmt is DataFormat.json else browse.document_text(document))
    return 0


@registry_app.command("diff")
def diff(
    a: Annotated[int, typer.Argument(help="The older version (0 for empty).")],
    b: Annotated[int, typer.Argument(help="The newer version.")],
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.text,
    debug: DebugOpt = False,
) -> int:
    """What changed between two registry versions (rendered like a plan)."""
    from fsctl.cli.commands_repo import render_plan
    from fsctl.services.browse import diff_versions
    from fsctl.services.project import open_project

    render_plan(diff_versions(open_project(repo, registry), a, b), fmt)
    return 0


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command()(describe)
    app.add_typer(registry_app, name="registry")
