"""The feature server's routes: a FastAPI app over one
:class:`~fsctl.services.online.OnlineReader` (and, when writes are on, one
:class:`~fsctl.services.push.OnlineWriter`).

* ``POST /get-online-features``: Feast's request and response (:mod:`fsctl.serving.feast`);
* ``POST /models/{name}/predict``: predictions from a model's online features
  (:mod:`fsctl.serving.predict`);
* ``POST /push``, ``POST /write-to-online-store``: only with ``--enable-push``
  (:mod:`fsctl.serving.push`);
* ``GET /metrics``: Prometheus metrics (:mod:`fsctl.serving.metrics`);
* ``GET /health``: 200 with the registry version and the server's settings; 503 if the
  online store is unreachable, or with ``"status": "degraded"`` while the registry cannot
  be re-read (reads go on from the last good version);
* OpenAPI at ``/docs`` and ``/openapi.json``: every status a route answers is listed there,
  with its body's schema.

Errors are ``{"detail": "<one message>"}``: 400 for a request fsctl cannot answer (unknown
feature or service, entity columns of unequal length, a missing join key, a body that is not
JSON or nests too deep), 422 for a body of the wrong shape, 413 for a body over 32 MiB or
more entity rows than ``--max-entity-rows``, 503 when the online store or the registry
fails; never a 500 for a client's mistake.

FastAPI and pydantic (the ``serve`` extra) are imported only when an app is built. This
module has no ``from __future__ import annotations``: FastAPI resolves the route functions'
annotations (``request: Request``) at run time, and names imported inside ``create_app``
are not visible to it as strings.
"""

import json
from typing import TYPE_CHECKING, Any

from fsctl.errors import FsctlError, UsageError
from fsctl.services.online import OnlineReader
from fsctl.serving.body import MAX_BODY_BYTES, BadRequest, one_line, read_json
from fsctl.serving.feast import error_detail, error_status, feast_response, models, parse_request
from fsctl.serving.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from fsctl.services.predict import Predictor
    from fsctl.services.push import OnlineWriter
    from fsctl.serving.metrics import ServerMetrics

__all__ = ["MAX_BODY_BYTES", "create_app", "require_server_packages"]


def require_server_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fsctl serve needs the {exc.name or 'fastapi'} package, which is not installed",
            hint="install fsctl with the serve extra: pip install 'fsctl[serve]'",
        ) from None


def create_app(
    project: str,
    reader: OnlineReader,
    settings: ServerSettings | None = None,
    writer: "OnlineWriter | None" = None,
    predictor: "Predictor | None" = None,
    metrics: "ServerMetrics | None" = None,
) -> "FastAPI":
    """The feature server app of ``project``, reading through ``reader``, predicting through
    ``predictor`` (no prediction endpoint without one) and, when ``settings.push``, writing
    through ``writer`` (their owner closes the stores and the prediction log)."""
    require_server_packages()
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response

    from fsctl.serving.metrics import ServerMetrics, add_metrics
    from fsctl.serving.predict import add_predict_routes
    from fsctl.serving.push import add_push_routes
    from fsctl.version import __version__

    settings = settings or ServerSettings()
    metrics = metrics or ServerMetrics()
    log = predictor.log if predictor is not None else None
    if log is not None:
        metrics.watch_log(lambda: log.stats)
    wire = models(settings.max_entity_rows)

    def fail(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": one_line(detail)}, status_code=status)

    app = FastAPI(
        title="fsctl feature server",
        version=__version__,
        description=f"Online features of project `{project}`: the latest values per entity key.",
    )
    errors: dict[int | str, dict[str, Any]] = {
        400: {
            "model": wire.ErrorDetail,
            "description": "A request fsctl cannot answer (the detail says why).",
        },
        413: {
            "model": wire.ErrorDetail,
            "description": f"A body over {MAX_BODY_BYTES // (1024 * 1024)} MiB, or more than "
            f"{settings.max_entity_rows:,} rows (fsctl serve --max-entity-rows).",
        },
        422: {
            "model": wire.ErrorDetail,
            "description": "A body of the wrong shape (the detail names the fields).",
        },
        503: {"model": wire.ErrorDetail, "description": "The online store or the registry failed."},
    }

    @app.post(
        "/get-online-features",
        summary="The latest feature values of entities",
        response_model=wire.Response,
        responses=errors,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": wire.request_schema}},
            }
        },
    )
    async def get_online_features(request: Request) -> Response:
        # The body is parsed here rather than by FastAPI so that clients posting JSON without
        # a JSON content type (curl -d, as in Feast's examples) work, the row cap is checked
        # before validation, and every error is one line.
        try:
            call = parse_request(await read_json(request), settings.max_entity_rows)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        ignore_ttl = settings.ignore_ttl if call.ignore_ttl is None else call.ignore_ttl

        def read() -> bytes:
            response = reader.get(call.request, call.entities, ignore_ttl=ignore_ttl)
            metrics.observe_features(response.statuses, response.names)
            body = feast_response(response)
            return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()

        try:
            content = await run_in_threadpool(read)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        return Response(content=content, media_type="application/json")

    @app.get(
        "/health",
        summary="Registry version, online store reachability and the server's settings",
        response_model=wire.Health,
        responses={
            503: {
                "model": wire.Health | wire.ErrorDetail,
                "description": "The online store is unreachable (detail), or the registry cannot be "
                "re-read (status degraded: reads go on from the last good version).",
            }
        },
    )
    def health() -> Response:
        try:
            info = reader.health()
        except FsctlError as exc:
            return fail(503, error_detail(exc))
        info.update(
            ignore_ttl=settings.ignore_ttl, max_entity_rows=settings.max_entity_rows, push=settings.push
        )
        if predictor is not None:
            info["models_loaded"] = len(predictor.models)
            info["prediction_log"] = predictor.log.location if predictor.log is not None else None
        # "degraded": the registry cannot be read now; reads still answer from the last good
        # version, but a readiness probe should not route new traffic here.
        return JSONResponse(info, status_code=200 if info["status"] == "ok" else 503)

    add_predict_routes(app, predictor, settings, errors, metrics)
    add_push_routes(app, writer, settings, errors)
    add_metrics(app, metrics)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return fail(
            500, f"internal error: {type(exc).__name__}: {exc} (this is a bug in fsctl; please report it)"
        )

    return app
