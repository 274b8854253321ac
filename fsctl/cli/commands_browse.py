"""Commands that browse the registry: list, describe and registry history/show/diff."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, PlanFormat, RegistryOpt, RepoOpt
from fsctl.cli.output import show

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
    from fsctl.services.browse import list_objects
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(list_objects(ws.registry_reader(), kind), fmt)
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
    from fsctl.services.browse import describe as describe_service
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(describe_service(ws.project, ws.registry_reader(), kind, name), fmt)
    return 0


@registry_app.command("history")
def history(
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Every registry version: when, who, which commit, which plan."""
    from fsctl.services.browse import history as history_service
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(history_service(ws.registry_reader()), fmt)
    return 0


@registry_app.command("show")
def show_cmd(
    version: Annotated[Optional[int], typer.Argument(help="Version (default: the current one).")] = None,  # noqa: UP045
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """The registry document at a version."""
    from fsctl.services.browse import show_version
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(show_version(ws.project, ws.registry_reader(), version), fmt)
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
    from fsctl.services.browse import diff_versions
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(diff_versions(ws.project, ws.registry_reader(), a, b), fmt)
    return 0


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command()(describe)
    app.add_typer(registry_app, name="registry")
