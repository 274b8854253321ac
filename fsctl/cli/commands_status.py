"""``fsctl status``: freshness and materialization runs per online view, for people and cron.

The exit code is the alert: 1 when any view misses its freshness, was never materialized,
or its last run failed (after the whole report is printed, in every format), else 0.
"""

from __future__ import annotations

from pathlib import Path

import click

from fsctl.cli.commands_data import split_names, views_option
from fsctl.cli.options import debug_option, format_option, repo_options
from fsctl.cli.output import show

STATUS_FORMATS = ("text", "json", "prometheus")


@click.command("status", short_help="Freshness and materialization runs per online view.")
@views_option
@repo_options
@format_option(STATUS_FORMATS)
@debug_option
def status_cmd(views: str | None, repo: Path | None, registry: str | None, fmt: str, debug: bool) -> int:
    """Show, per online view, the age of its newest online data against its freshness, its
    watermark, the newest event in its source, and its last materialization run.

    Exits 1 when a view misses its freshness, was never materialized, or its last run
    failed; the text says which and what to run (in every format). --format prometheus
    writes node-exporter's textfile format: write it to a temporary file, then mv it into
    place when it is not empty (README, "Freshness status")."""
    from fsctl.services.status import status
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        report = status(
            ws.project,
            ws.registry_reader(),
            ws.state(),
            ws.online_reader(),
            ws.offline_engine(),
            views=split_names(views),
        )
    show(report, fmt)
    return report.exit_code
