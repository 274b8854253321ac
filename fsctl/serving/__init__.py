"""The HTTP feature server behind ``fsctl serve``: Feast's ``POST /get-online-features`` over
fsctl's online reads, a health check, and OpenAPI docs.

* :mod:`.feast`: Feast's request and response shapes, mapped to and from fsctl's;
* :mod:`.routes`: the FastAPI app and its routes;
* :mod:`.runner`: the uvicorn runner (binding, signals, start-up checks).

Needs the ``serve`` extra (FastAPI and uvicorn); they are imported only when an app is built.
"""

from __future__ import annotations

from fsctl.serving.feast import feast_response
from fsctl.serving.routes import create_app
from fsctl.serving.runner import run_server

__all__ = ["create_app", "feast_response", "run_server"]
