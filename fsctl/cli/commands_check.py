"""``fsctl check``: a view's data checks on a window, alone (materialize runs them too)."""

from __future__ import annotations

from pathlib import Path

import click

from fsctl.cli.options import debug_option, format_option, repo_options, text_option
from fsctl.cli.output import show


@click.command("check", short_help="Run a view's data checks on a window.")
@click.argument("view")
@text_option("--start", "Window start, inclusive (ISO 8601; UTC without an offset). Default: the earliest event.", "<time>")
@click.option("--end", required=True, metavar="<time>", help="Window end, exclusive (ISO 8601; UTC without an offset).")
@repo_options
@format_option()
@debug_option
def check(
    view: str, start: str | None, end: str, repo: Path | None, registry: str | None, fmt: str, debug: bool
) -> int:
    """Run VIEW's data checks (checks: and row_checks: in its definition, as applied) on the
    source rows with START <= event time < END.

    Exit 1 when any check fails, whatever the view's check_policy; each failing check is
    named with the count of rows at fault and an example key."""
    from fsctl.cli.commands_data import parse_time
    from fsctl.services.checks import check_view
    from fsctl.workspace import open_workspace

    end_time = parse_time(end, "--end")
    start_time = parse_time(start, "--start") if start is not None else None
    with open_workspace(repo, registry) as ws:
        report = check_view(ws.project, ws.registry_reader(), ws.offline_engine(), view, end_time, start_time)
    show(report, fmt)
    return 1 if report.failed else 0
