"""The HTTP feature server behind ``fsctl serve``: Feast's ``POST /get-online-features`` over
fsctl's online reads, a health check, and OpenAPI docs (see :mod:`fsctl.serving.app`).

Needs the ``serve`` extra (FastAPI and uvicorn); they are imported only when an app is built.
"""

from __future__ import annotations

from fsctl.serving.app import create_app, feast_response, run_server

__all__ = ["create_app", "feast_response", "run_server"]
