"""The HTTP feature server: a FastAPI app over one :class:`OnlineReader`, and the uvicorn
runner of ``fsctl serve``.

``POST /get-online-features`` takes what Feast clients send, ``{"features": [...] or
"feature_service": NAME, "entities": {key: [values]}, "full_feature_names": bool}``, plus
fsctl's ``ignore_ttl`` and ``model`` (``NAME@ALIAS``), and answers in Feast's shape:
``{"metadata": {"feature_names": [...]}, "results": [...]}`` with one result per *name*
(join keys first, then the features in request order), each holding ``values``,
``statuses`` and ``event_timestamps`` with one entry per entity row. Statuses are
``PRESENT``, ``NOT_FOUND`` (missing) and ``OUTSIDE_MAX_AGE`` (expired: value null unless
``ignore_ttl``); join keys and missing values carry Feast's zero time
``1970-01-01T00:00:00Z``.

Errors are ``{"detail": "<one message>"}``: 400 for a request fsctl cannot answer (unknown
feature or service, both or neither of features and feature_service, entity columns of
unequal length, a missing join key, a body that is not JSON), 422 for a body of the wrong
shape, 503 when the online store or the registry fails; never a 500 for a user's mistake.
``GET /health`` is 200 with the registry version, or 503 if the online store is
unreachable. OpenAPI: ``/docs`` and ``/openapi.json``.

FastAPI, pydantic and uvicorn (the ``serve`` extra) are imported only when an app is built.
"""

import json
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fsctl.errors import FsctlError, RegistryError, StoreError, UsageError
from fsctl.online.codec import micros_to_datetime
from fsctl.services.online import OnlineReader
from fsctl.services.online_response import (
    EXPIRED,
    MISSING,
    PRESENT,
    OnlineResponse,
    iso_timestamp,
    json_safe,
)
from fsctl.services.project import Project

if TYPE_CHECKING:
    from fastapi import FastAPI

FEAST_STATUS = {PRESENT: "PRESENT", MISSING: "NOT_FOUND", EXPIRED: "OUTSIDE_MAX_AGE"}
ZERO_TIME = "1970-01-01T00:00:00Z"  # what Feast reports for join keys and values it has no time for
MAX_BODY_BYTES = 32 * 1024 * 1024


def feast_response(response: OnlineResponse) -> dict[str, Any]:
    """``response`` in the shape of Feast's ``/get-online-features`` (see the module docstring)."""
    rows = len(response)
    zero = [ZERO_TIME] * rows
    results: list[dict[str, Any]] = [
        {"values": [json_safe(v) for v in column], "statuses": ["PRESENT"] * rows, "event_timestamps": zero}
        for column in response.entity.values()
    ]
    iso: dict[int, str] = {}
    for values, statuses, times in zip(response.values, response.statuses, response.event_ts, strict=True):
        stamps = []
        for ts in times:
            if ts is None:
                stamps.append(ZERO_TIME)
                continue
            text = iso.get(ts)
            if text is None:
                text = iso[ts] = iso_timestamp(micros_to_datetime(ts))
            stamps.append(text)
        results.append(
            {
                "values": [json_safe(v) for v in values],
                "statuses": [FEAST_STATUS[s] for s in statuses],
                "event_timestamps": stamps,
            }
        )
    return {"metadata": {"feature_names": [*response.entity, *response.names]}, "results": results}


def error_detail(exc: FsctlError) -> str:
    """One line: the message, then the hint."""
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


def error_status(exc: FsctlError) -> int:
    return 503 if isinstance(exc, (StoreError, RegistryError)) else 400


def require_server_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"fsctl serve needs the {exc.name or 'fastapi'} package, which is not installed",
            hint="install fsctl with the serve extra: pip install 'fsctl[serve]'",
        ) from None


def create_app(project: Project, *, reader: OnlineReader | None = None) -> "FastAPI":
    """The feature server app of ``project``; it reads through ``reader`` (one is made if not
    given) and closes it when the app shuts down."""
    require_server_packages()
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from fsctl import __version__

    online = reader if reader is not None else OnlineReader(project)

    class GetOnlineFeaturesRequest(BaseModel):
        """Which features to read, and for which entities (Feast's request, plus ignore_ttl and model)."""

        model_config = ConfigDict(
            extra="ignore",
            json_schema_extra={
                "examples": [
                    {
                        "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"],
                        "entities": {"driver_id": [1001, 1002]},
                    }
                ]
            },
        )

        features: list[str] | None = Field(
            default=None, description="Feature references, view:feature. Give these or feature_service."
        )
        feature_service: str | None = Field(
            default=None, description="A feature service: all of its features."
        )
        model: str | None = Field(
            default=None,
            description="fsctl extension: the feature service bound to NAME@ALIAS or NAME/VERSION.",
        )
        entities: dict[str, list[Any]] = Field(
            description="Join key -> one value per entity row; every list has the same length."
        )
        full_feature_names: bool = Field(default=False, description="Name features view__feature.")
        ignore_ttl: bool = Field(
            default=False,
            description="fsctl extension: return values older than the view's TTL (status stays OUTSIDE_MAX_AGE).",
        )

    class FeatureVector(BaseModel):
        values: list[Any]
        statuses: list[str] = Field(description="PRESENT, NOT_FOUND or OUTSIDE_MAX_AGE, one per entity row.")
        event_timestamps: list[str]

    class Metadata(BaseModel):
        feature_names: list[str]

    class GetOnlineFeaturesResponse(BaseModel):
        """Feast's response: one result per name of metadata.feature_names (join keys first)."""

        metadata: Metadata
        results: list[FeatureVector]

    class ErrorDetail(BaseModel):
        detail: str

    class Health(BaseModel):
        status: str
        project: str
        registry: str
        registry_version: int
        online_store: str

    def fail(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        online.close()

    app = FastAPI(
        title="fsctl feature server",
        version=__version__,
        description=f"Online features of project `{project.name}`: the latest values per entity key.",
        lifespan=lifespan,
    )
    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorDetail, "description": "A request fsctl cannot answer (the detail says why)."},
        422: {"model": ErrorDetail, "description": "A body of the wrong shape."},
        503: {"model": ErrorDetail, "description": "The online store or the registry failed."},
    }
    request_schema = GetOnlineFeaturesRequest.model_json_schema()

    def read(body: GetOnlineFeaturesRequest) -> bytes:
        response = online.get(
            body.features,
            service=body.feature_service,
            model=body.model,
            entity_rows=body.entities,
            ignore_ttl=body.ignore_ttl,
            full_feature_names=body.full_feature_names,
        )
        return json.dumps(feast_response(response), ensure_ascii=False, allow_nan=False).encode()

    @app.post(
        "/get-online-features",
        summary="The latest feature values of entities",
        response_model=GetOnlineFeaturesResponse,
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
            body = GetOnlineFeaturesRequest.model_validate(data)
        except ValidationError as exc:
            return fail(422, _validation_detail(exc))
        given = [name for name in ("features", "feature_service", "model") if getattr(body, name)]
        if len(given) != 1:
            detail = (
                f"give one of features, feature_service or model, not {' and '.join(given)}"
                if given
                else "give features (a list of view:feature references) or feature_service"
            )
            return fail(400, detail)
        try:
            content = await run_in_threadpool(read, body)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        return Response(content=content, media_type="application/json")

    @app.get(
        "/health",
        summary="Registry version and online store reachability",
        response_model=Health,
        responses={503: errors[503]},
    )
    def health() -> Response:
        try:
            info = online.health()
        except FsctlError as exc:
            return fail(503, error_detail(exc))
        return JSONResponse(info)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return fail(
            500, f"internal error: {type(exc).__name__}: {exc} (this is a bug in fsctl; please report it)"
        )

    return app


def _validation_detail(exc: Any) -> str:
    """A pydantic ValidationError as one line: ``field: problem; ...``."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where or 'request body'}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


# -- running it ------------------------------------------------------------------------


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
    project: Project,
    host: str = "127.0.0.1",
    port: int = 6566,
    *,
    announce: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> int:
    """Serve ``project`` on ``host:port`` until SIGINT or SIGTERM; returns the exit code (0).

    The registry is read and the online store checked before listening, so a bad
    configuration fails at once with one message rather than on the first request.
    """
    require_server_packages()
    import uvicorn

    reader = OnlineReader(project)
    try:
        info = reader.health()
        app = create_app(project, reader=reader)
        sock = _bind(host, port)
    except BaseException:
        reader.close()
        raise
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    version = info["registry_version"]
    if version == 0:
        announce(f"fsctl: warning: the registry {project.registry.location} has nothing applied yet")
    announce(
        f"fsctl: serving project '{project.name}' (registry version {version}, online store "
        f"{info['online_store']}) at {url}\n"
        f"fsctl: POST {url}/get-online-features; API docs at {url}/docs; Ctrl-C to stop"
    )
    try:
        with _stop_on_signals(stop):
            server.run(sockets=[sock])
    finally:
        sock.close()
        reader.close()
    announce("fsctl: server stopped")
    return 0
