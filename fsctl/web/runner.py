"""``fsctl ui``: read the registry once before listening (a bad configuration or an
unreadable registry fails at once, with one message), bind (loopback by default), say where,
and serve until SIGINT or SIGTERM (:mod:`fsctl.asgi`, shared with ``fsctl serve``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fsctl.asgi import bind, is_loopback, run_app, url_of
from fsctl.services.registry_cache import DEFAULT_INTERVAL, LiveRegistry, PinnedRegistry
from fsctl.web.app import create_app, require_ui_packages
from fsctl.web.pages import ReadModel
from fsctl.web.security import allowed_hosts

if TYPE_CHECKING:
    from fsctl.workspace import Workspace


def read_model(workspace: Workspace, *, interval: float = DEFAULT_INTERVAL) -> ReadModel:
    """What the UI reads, from the workspace's ports (opened on first use)."""
    from fsctl.services.plan import Lookouts
    from fsctl.services.status import status

    project = workspace.project

    def take_status(pinned: PinnedRegistry) -> Any:
        return status(project, pinned, workspace.state(), workspace.online_reader(), workspace.offline_engine())

    def take_stats(pinned: PinnedRegistry, view: str, start: datetime | None, end: datetime | None) -> Any:
        """``fsctl stats VIEW --start --end``, with the bins and thresholds of fsctl.yaml."""
        from fsctl.results.stats import Thresholds
        from fsctl.services.stats import StatsOptions, view_stats

        config = workspace.config.stats
        options = StatsOptions(bins=config.bins, thresholds=Thresholds(warn=config.psi_warn, fail=config.psi_fail))
        return view_stats(project, pinned, workspace.offline_engine(), view, start=start, end=end, options=options)

    return ReadModel(
        project=project,
        live=LiveRegistry(workspace.registry_reader(), interval=interval),
        state=workspace.state,
        lookouts=Lookouts(state=workspace.state, online=workspace.online_reader),
        take_status=take_status,
        take_stats=take_stats,
    )


def run_ui(
    workspace: Workspace,
    host: str = "127.0.0.1",
    port: int = 8888,
    *,
    access_log: bool = True,
    debug: bool = False,
    allow_hosts: tuple[str, ...] = (),
    announce: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> int:
    """Serve the read-only UI of the workspace's project on ``host:port``; returns 0 when stopped."""
    require_ui_packages()
    model = read_model(workspace)
    version = model.live.current().version  # fails here, with one message, if unreadable
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    url = url_of(host, bound)
    app = create_app(model, allowed_hosts(host, bound, allow_hosts), debug=debug)
    where = (
        "bound to loopback only"
        if is_loopback(host)
        else f"WARNING: bound to {host}, reachable from other machines; the UI has no login, "
        "so anyone who can reach this address can read the registry"
    )
    announce(
        f"fsctl: read-only UI of project '{workspace.project.name}' (registry version {version}) at {url}; "
        f"{where}\nfsctl: JSON under {url}/api/; Ctrl-C to stop"
    )
    run_app(app, sock, access_log=access_log)
    announce("fsctl: UI stopped")
    return 0
