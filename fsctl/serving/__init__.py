"""The HTTP feature server behind ``fsctl serve``: Feast's ``POST /get-online-features``
over fsctl's online reads, Feast's ``/push`` and ``/write-to-online-store`` when enabled, a
health check, and OpenAPI docs.

* :mod:`.body`: reading request bodies defensively (size, strict JSON, row caps, messages);
* :mod:`.feast`: Feast's read request and response shapes, mapped to and from fsctl's;
* :mod:`.push`: the write endpoints (off unless ``--enable-push``; bearer token);
* :mod:`.settings`: one server's settings (TTL rule, row cap, push token);
* :mod:`.routes`: the FastAPI app and its read routes;
* :mod:`.runner`: the uvicorn runner (binding, signals, start-up checks).

Needs the ``serve`` extra (FastAPI and uvicorn); they are imported only when an app is built.
"""

from __future__ import annotations

from fsctl.serving.feast import feast_response
from fsctl.serving.routes import create_app
from fsctl.serving.runner import run_server
from fsctl.serving.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "feast_response", "run_server"]
