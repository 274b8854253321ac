"""``fsctl serve``: the uvicorn runner of the feature server. It checks the registry and the
online store before listening (so a bad configuration fails at once with one message),
binds the socket itself (with TCP_NODELAY), and stops cleanly on SIGINT and SIGTERM (both
shared with ``fsctl ui``: :mod:`fsctl.asgi`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from fsctl.asgi import bind, run_app, url_of
from fsctl.errors import StoreError
from fsctl.services.online import OnlineReader
from fsctl.serving.routes import create_app, require_server_packages
from fsctl.serving.settings import ServerSettings

if TYPE_CHECKING:
    from fsctl.scoring.log import PredictionLog
    from fsctl.services.predict import Predictor
    from fsctl.workspace import Workspace


def run_server(
    workspace: Workspace,
    host: str = "127.0.0.1",
    port: int = 6566,
    *,
    settings: ServerSettings | None = None,
    access_log: bool = True,
    announce: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> int:
    """Serve the workspace's project on ``host:port`` until SIGINT or SIGTERM; returns the
    exit code (0). The workspace (the caller's) owns the online store.

    The registry is read and the online store checked before listening, so a bad
    configuration fails at once with one message rather than on the first request.
    """
    require_server_packages()
    settings = settings or ServerSettings()
    project = workspace.project
    store = workspace.online_reader()
    reader = OnlineReader(project, workspace.registry_reader(), store)
    info = reader.health()
    writer = None
    if settings.push:
        from fsctl.services.push import OnlineWriter

        # one registry cache for reads and writes; writes with the writer login
        writer = OnlineWriter(reader, workspace.state(), store=workspace.online_store())
    predictor, log = _predictor(workspace, reader, settings)
    app = create_app(project.name, reader, settings, writer, predictor)
    sock = bind(host, port)
    url = url_of(host, sock.getsockname()[1])
    version = info["registry_version"]
    writes = f"; POST {url}/push and {url}/write-to-online-store" if settings.push else ""
    announce(
        f"fsctl: serving project '{project.name}' (registry version {version}, online store "
        f"{info['online_store']}) at {url}\n"
        f"fsctl: {settings.describe()}\n"
        f"fsctl: POST {url}/get-online-features, {url}/models/NAME/predict{writes}; metrics at "
        f"{url}/metrics; API docs at {url}/docs; Ctrl-C to stop"
    )
    run_app(app, sock, access_log=access_log)
    code = 0
    if log is not None:  # every prediction answered is written before the process ends
        try:
            log.close()
            announce(f"fsctl: prediction log flushed to {log.location}")
        except StoreError as exc:
            announce(f"fsctl: error: {exc}")
            code = 1
    announce("fsctl: server stopped")
    return code


def _predictor(
    workspace: Workspace, reader: OnlineReader, settings: ServerSettings
) -> tuple[Predictor, PredictionLog | None]:
    """The prediction endpoint's predictor: models loaded through the workspace, predictions
    logged where ``scoring.prediction_log`` says (not at all when it is unset)."""
    from fsctl.services.predict import Predictor

    scoring = workspace.config.scoring
    log = None
    if scoring.prediction_log:
        from fsctl.scoring.log import PredictionLog

        log = PredictionLog(
            scoring.prediction_log,
            workspace.root,
            flush_rows=scoring.log_flush_rows,
            flush_seconds=scoring.log_flush_seconds,
        )
    predictor = Predictor(reader, workspace.load_model, log=log, ignore_ttl=settings.ignore_ttl)
    return predictor, log
