"""The feature server's routes: a FastAPI app over one
:class:`~fsctl.services.online.OnlineReader`.

* ``POST /get-online-features``: Feast's request and response (:mod:`fsctl.serving.feast`);
* ``GET /health``: 200 with the registry version; 503 if the online store is unreachable,
  or with ``"status": "degraded"`` while the registry cannot be re-read (reads go on from
  the last good version);
* OpenAPI at ``/docs`` and ``/openapi.json``.

Errors are ``{"detail": "<one message>"}``: 400 for a request fsctl cannot answer (unknown
feature or service, both or neither of features and feature_service, entity columns of
unequal length, a missing join key, a body that is not JSON), 422 for a body of the wrong
shape, 413 for a body over 32 MiB, 503 when the online store or the registry fails; never
a 500 for a user's mistake.

FastAPI and pydantic (the ``serve`` extra) are imported only when an app is built. This
module has no ``from __future__ import annotations``: FastAPI resolves the route functions'
annotations (``request: Request``) at run time, and names imported inside ``create_app``
are not visible to it as strings.
"""


import json
from typing import TYPE_CHECKING, Any

from fsctl.errors import FsctlError, UsageError
from fsctl.services.online import OnlineReader
from fsctl.serving.feast import BadRequest, error_detail, error_status, feast_response, models, parse_request

if TYPE_CHECKING:
    from fastapi import FastAPI

MAX_BODY_BYTES = 32 * 1024 * 1024


def require_server_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fsctl serve needs the {exc.name or 'fastapi'} package, which is not installed",
            hint="install fsctl with the serve extra: pip install 'fsctl[serve]'",
        ) from None


def create_app(project: str, reader: OnlineReader) -> "FastAPI":
    """The feature server app of ``project``, reading through ``reader`` (its owner closes
    the store it reads)."""
    require_server_packages()
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response

    from fsctl.version import __version__

    wire = models()

    def fail(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status)

    app = FastAPI(
        title="fsctl feature server",
        version=__version__,
        description=f"Online features of project `{project}`: the latest values per entity key.",
    )
    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": wire.ErrorDetail, "description": "A request fsctl cannot answer (the detail says why)."},
        422: {"model": wire.ErrorDetail, "description": "A body of the wrong shape."},
        503: {"model": wire.ErrorDetail, "description": "The online store or the registry failed."},
    }
    request_schema = wire.Request.model_json_schema()

    @app.post(
        "/get-online-features",
        summary="The latest feature values of entities",
        response_model=wire.Response,
        responses=errors,
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema}}}
        },
    )
    async def get_online_features(request: Request) -> Response:
        # The body is parsed here rather than by FastAPI so that clients posting JSON without
        # a JSON content type (curl -d, as in Feast's examples) work, and every error is one line.
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return fail(413, f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return fail(400, f"the request body is not valid JSON: {exc}")
        try:
            call = parse_request(data)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))

        def read() -> bytes:
            response = reader.get(call.request, call.entities, ignore_ttl=call.ignore_ttl)
            return json.dumps(feast_response(response), ensure_ascii=False, allow_nan=False).encode()

        try:
            content = await run_in_threadpool(read)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        return Response(content=content, media_type="application/json")

    @app.get(
        "/health",
        summary="Registry version and online store reachability",
        response_model=wire.Health,
        responses={503: errors[503]},
    )
    def health() -> Response:
        try:
            info = reader.health()
        except FsctlError as exc:
            return fail(503, error_detail(exc))
        # "degraded": the registry cannot be read now; reads still answer from the last good
        # version, but a readiness probe should not route new traffic here.
        return JSONResponse(info, status_code=200 if info["status"] == "ok" else 503)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return fail(500, f"internal error: {type(exc).__name__}: {exc} (this is a bug in fsctl; please report it)")

    return app
