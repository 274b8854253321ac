"""``fsctl serve``: the uvicorn runner of the feature server. It checks the registry and the
online store before listening (so a bad configuration fails at once with one message),
binds the socket itself (with TCP_NODELAY), and stops cleanly on SIGINT and SIGTERM."""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fsctl.errors import StoreError, UsageError
from fsctl.services.online import OnlineReader
from fsctl.serving.routes import create_app, require_server_packages
from fsctl.serving.settings import ServerSettings

if TYPE_CHECKING:
    from fsctl.scoring.log import PredictionLog
    from fsctl.services.predict import Predictor
    from fsctl.workspace import Workspace


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port}: {reason}",
            hint="another process may be using the port; choose one with --port, or check --host",
        ) from None
    sock.set_inheritable(True)
    return sock


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server cleanly. uvicorn installs its own handlers while it
    runs and re-raises the signal after shutting down; these handlers then absorb it, so the
    process exits 0 instead of dying of the signal."""
    wanted = [signal.SIGINT, signal.SIGTERM]

    def handle(signum: int, frame: Any) -> None:
        stop()

    previous = {sig: signal.signal(sig, handle) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    import gc

    import uvicorn

    gc.enable()  # the CLI turns the collector off for its short-lived commands; a server runs for days

    settings = settings or ServerSettings()
    project = workspace.project
    store = workspace.online_store()
    reader = OnlineReader(project, workspace.registry_reader(), store)
    info = reader.health()
    writer = None
    if settings.push:
        from fsctl.services.push import OnlineWriter

        writer = OnlineWriter(reader, workspace.state())  # one registry cache for reads and writes
    predictor, log = _predictor(workspace, reader, settings)
    app = create_app(project.name, reader, settings, writer, predictor)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    config = uvicorn.Config(
        app, log_config=_logging(access_log), log_level=None, access_log=access_log, lifespan="on"
    )
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    version = info["registry_version"]
    writes = f"; POST {url}/push and {url}/write-to-online-store" if settings.push else ""
    announce(
        f"fsctl: serving project '{project.name}' (registry version {version}, online store "
        f"{info['online_store']}) at {url}\n"
        f"fsctl: {settings.describe()}\n"
        f"fsctl: POST {url}/get-online-features, {url}/models/NAME/predict{writes}; metrics at "
        f"{url}/metrics; API docs at {url}/docs; Ctrl-C to stop"
    )
    try:
        with _stop_on_signals(stop):
            server.run(sockets=[sock])
    finally:
        sock.close()
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


def _logging(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging: warnings and errors, and (unless switched off) one line per request
    on stderr: time, client, request line, status."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {
                "()": "uvicorn.logging.DefaultFormatter",
                "fmt": "fsctl: %(message)s",
                "use_colors": False,
            },
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s',
                "use_colors": False,
            },
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
            "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "fsctl": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            "uvicorn.access": {
                "handlers": ["access"] if access_log else [],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }
