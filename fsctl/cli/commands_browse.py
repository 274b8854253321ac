"""Commands that browse the registry: list, describe, lineage and registry history/show/diff."""

from __future__ import annotations

from pathlib import Path

import click

from fsctl.cli.options import LINEAGE_FORMATS, PLAN_FORMATS, debug_option, format_option, repo_options
from fsctl.cli.output import show


@click.group("registry", no_args_is_help=True, short_help="Browse past registry versions.")
def registry_group() -> None:
    """Past registry versions: history, show, diff."""


@click.command("list", short_help="List the registry's objects (of one kind).")
@click.argument("kind", required=False)
@repo_options
@format_option()
@debug_option
def list_cmd(kind: str | None, repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """List the objects of one KIND in the registry (entities, sources, views, services, models,
    or the kind names: FeatureView, feature-views, ...); without KIND, everything, by kind."""
    from fsctl.services.browse import list_all, list_objects
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(list_objects(ws.registry_reader(), kind) if kind else list_all(ws.registry_reader()), fmt)
    return 0


@click.command(short_help="Show one object of the registry.")
@click.argument("kind")
@click.argument("name")
@repo_options
@format_option()
@debug_option
def describe(kind: str, name: str, repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """Show one object from the registry: KIND (entities, views, services, sources or models) and NAME."""
    from fsctl.services.browse import describe as describe_service
    from fsctl.services.plan import Lookouts
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        lookouts = Lookouts(state=ws.state, online=ws.online_store)  # opened only for a model's gates
        show(describe_service(ws.project, ws.registry_reader(), kind, name, ws.state(), lookouts), fmt)
    return 0


@click.command(short_help="What an object reads and what reads it.")
@click.argument("obj", metavar="OBJECT")
@click.option("--upstream", is_flag=True, help="Only what OBJECT reads.")
@click.option("--downstream", is_flag=True, help="Only what reads OBJECT (services, model versions, aliases).")
@repo_options
@format_option(LINEAGE_FORMATS)
@debug_option
def lineage(
    obj: str, upstream: bool, downstream: bool, repo: Path | None, registry: str | None, fmt: str, debug: bool
) -> int:
    """Upstream and downstream of OBJECT in the registry: NAME, Kind/NAME when several kinds
    use the name (FeatureView/NAME, FeatureService/NAME, ...), VIEW:FEATURE, MODEL/VERSION or
    MODEL@ALIAS. Mermaid output is a fenced block to paste into a pull-request comment."""
    from fsctl.results.lineage import BOTH, DOWNSTREAM, UPSTREAM
    from fsctl.services.lineage import lineage as lineage_service
    from fsctl.workspace import open_workspace

    direction = UPSTREAM if upstream and not downstream else DOWNSTREAM if downstream and not upstream else BOTH
    with open_workspace(repo, registry) as ws:
        show(lineage_service(ws.project, ws.registry_reader(), obj, direction), fmt)
    return 0


@registry_group.command("history", short_help="Every version: when, who, commit, plan.")
@repo_options
@format_option()
@debug_option
def history(repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """Every registry version: when, who, which commit, which plan."""
    from fsctl.services.browse import history as history_service
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(history_service(ws.registry_reader()), fmt)
    return 0


@registry_group.command("show", short_help="The registry document at a version.")
@click.argument("version", type=int, required=False)
@repo_options
@format_option()
@debug_option
def show_cmd(version: int | None, repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """The registry document at VERSION (default: the current one)."""
    from fsctl.services.browse import show_version
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(show_version(ws.project, ws.registry_reader(), version), fmt)
    return 0


@registry_group.command("diff", short_help="What changed between two versions.")
@click.argument("a", type=int)
@click.argument("b", type=int)
@repo_options
@format_option(PLAN_FORMATS)
@debug_option
def diff(a: int, b: int, repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """What changed from version A (0 for empty) to version B, rendered like a plan."""
    from fsctl.services.browse import diff_versions
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        show(diff_versions(ws.project, ws.registry_reader(), a, b), fmt)
    return 0
