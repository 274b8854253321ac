"""``fsctl ui``: the read-only web UI (:mod:`fsctl.web`)."""

from __future__ import annotations

from pathlib import Path

import click

from fsctl.cli.options import debug_option, repo_options
from fsctl.cli.output import err


@click.command(short_help="Browse the registry in a web browser (read-only).")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="<str>", help="The address to listen on.")
@click.option(
    "--port", default=8888, show_default=True, type=click.IntRange(0, 65535), metavar="<int>", help="The port to listen on."
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="<name>",
    help="Also answer requests for this host name (a proxy's or load balancer's; NAME or NAME:PORT). Repeatable.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log one line per request on stderr.")
@repo_options
@debug_option
def ui(
    host: str,
    port: int,
    allow_hosts: tuple[str, ...],
    access_log: bool,
    repo: Path | None,
    registry: str | None,
    debug: bool,
) -> int:
    """Serve a read-only web UI of the registry: objects, lineage, history, freshness and
    search, every page also as JSON under /api/. Binds to 127.0.0.1 unless --host says otherwise."""
    from fsctl.web.runner import run_ui
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        return run_ui(ws, host, port, access_log=access_log, debug=debug, allow_hosts=allow_hosts, announce=err)
