"""Running an ASGI app with uvicorn, shared by ``fsctl serve`` (:mod:`fsctl.serving.runner`)
and ``fsctl ui`` (:mod:`fsctl.web.runner`): binding the socket ourselves (so the port is
known, and taken, before the app is built), stopping cleanly on SIGINT and SIGTERM, and
uvicorn's logging on stderr. uvicorn is imported only when a server runs."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fsctl.errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def bind(host: str, port: int) -> socket.socket:
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
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
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


def run_app(app: Any, sock: socket.socket, *, access_log: bool = True) -> None:
    """Serve ``app`` on the bound ``sock`` until SIGINT or SIGTERM; closes the socket."""
    import gc

    import uvicorn

    gc.enable()  # the CLI turns the collector off for its short-lived commands; a server runs for days
    config = uvicorn.Config(
        app, log_config=uvicorn_logging(access_log), log_level=None, access_log=access_log, lifespan="on"
    )
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    try:
        with stop_on_signals(stop):
            server.run(sockets=[sock])
    finally:
        sock.close()


def uvicorn_logging(access_log: bool) -> dict[str, Any]:
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
