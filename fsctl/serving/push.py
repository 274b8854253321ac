"""The write endpoints of the feature server, in Feast's request shapes, over
:class:`~fsctl.services.push.OnlineWriter`:

* ``POST /push``: ``{"push_source_name", "df": {column: [values]}, "to": "online",
  "allow_registry_cache", "transform_on_write"}``. fsctl has no push sources: the name is a
  FileSource's, and the rows go to every online view on it. ``to`` must be ``online``: fsctl
  does not write offline data (a view's offline data is its source's files), so ``offline``
  and ``online_and_offline`` are a 400 and write nothing.
* ``POST /write-to-online-store``: ``{"feature_view_name", "df", "allow_registry_cache",
  "transform_on_write"}``, what Feast's remote online store client sends.

``allow_registry_cache: false`` re-reads the registry first; ``transform_on_write`` is
accepted and changes nothing (fsctl has no on-demand views). Both answer 200 with what was
written per view (``views``: rows, keys, keys_written, keys_kept_newer, newest_event).

They exist only when ``fsctl serve --enable-push`` started the server (else 404, and they
are not in the OpenAPI document), and then need ``Authorization: Bearer <FSCTL_PUSH_TOKEN>``:
401 without a bearer token, 403 with a wrong one (compared in constant time). The read API
stays unauthenticated. Like the module :mod:`fsctl.serving.routes`, this one has no
``from __future__ import annotations``: FastAPI reads the route annotations at run time.
"""

import functools
import hmac
from typing import TYPE_CHECKING, Any

from fsctl.errors import FsctlError
from fsctl.services.push import OnlineWriter
from fsctl.serving.body import BadRequest, check_rows, decode_json, one_line, read_body, validation_detail
from fsctl.serving.feast import COLUMN, NAME, absent, error_detail, error_status, pattern_words
from fsctl.serving.settings import PUSH_TOKEN_ENV, ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

DISABLED = (
    "writes are disabled on this server: start fsctl serve with --enable-push (and the token in "
    f"{PUSH_TOKEN_ENV}) to take /push and /write-to-online-store"
)


@functools.lru_cache(maxsize=8)
def push_models(max_rows: int) -> Any:
    """The pydantic models of the write endpoints for a server taking at most ``max_rows``
    rows per request."""
    from types import SimpleNamespace
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field

    df_type = dict[Annotated[str, Field(pattern=COLUMN)], Annotated[list[Any], Field(max_length=max_rows)]]
    df_field = Field(
        description=f"Columns: name -> one value per row (at most {max_rows:,} rows): every join key and "
        "feature of the view, and the event time (the source's timestamp_field or event_timestamp: "
        "ISO 8601 or epoch seconds); optionally the created time (created_timestamp_field or created)."
    )
    cache_field = Field(default=True, description="false: re-read the registry before writing.")
    transform_field = Field(default=True, description="Accepted for Feast clients; changes nothing in fsctl.")

    class PushRequest(BaseModel):
        """Feast's push: rows for every online view on a source."""

        model_config = ConfigDict(strict=True, extra="forbid")

        push_source_name: str = Field(
            pattern=NAME, description="A FileSource: the rows go to every online feature view on it."
        )
        df: df_type = df_field
        to: Literal["online", "offline", "online_and_offline"] = Field(
            default="online", description="Only online: fsctl does not write offline data."
        )
        allow_registry_cache: bool = cache_field
        transform_on_write: bool = transform_field

    class WriteRequest(BaseModel):
        """Feast's write_to_online_store: rows of one feature view."""

        model_config = ConfigDict(strict=True, extra="forbid")

        feature_view_name: str = Field(pattern=NAME, description="An online feature view.")
        df: df_type = df_field
        allow_registry_cache: bool = cache_field
        transform_on_write: bool = transform_field

    class ViewWritten(BaseModel):
        view: str
        rows: int = Field(description="Rows received for the view.")
        keys: int = Field(description="Distinct entity keys among them (the latest row per key is written).")
        keys_written: int = Field(description="Keys stored.")
        keys_kept_newer: int = Field(description="Keys whose stored value was newer, so it was kept.")
        newest_event: str | None = Field(description="The latest event time pushed (ISO 8601).")

    class PushResponse(BaseModel):
        views: list[ViewWritten]
        warning: str = absent(
            description="Present when the rows were written but the push could not be recorded in the "
            "state document (fsctl status will not show it); the rows are stored: do not retry."
        )

    return SimpleNamespace(Push=PushRequest, Write=WriteRequest, Response=PushResponse)


def add_push_routes(app: "FastAPI", writer: OnlineWriter | None, settings: ServerSettings, errors: dict[Any, Any]) -> None:
    """``/push`` and ``/write-to-online-store`` on ``app``: real when ``settings.push`` (with
    ``writer``), else hidden routes that answer 404 saying how to turn them on."""
    from fastapi import Depends, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import ValidationError

    def fail(status: int, detail: str, **headers: str) -> JSONResponse:
        return JSONResponse({"detail": one_line(detail)}, status_code=status, headers=headers or None)

    if not settings.push or writer is None:

        @app.post("/push", include_in_schema=False)
        @app.post("/write-to-online-store", include_in_schema=False)
        async def disabled() -> JSONResponse:
            return fail(404, DISABLED)

        return

    token = (settings.push_token or "").encode()
    wire = push_models(settings.max_entity_rows)
    bearer = HTTPBearer(auto_error=False, scheme_name="pushToken", description=f"The server's {PUSH_TOKEN_ENV}.")
    responses = {
        **errors,
        401: {"model": errors[400]["model"], "description": "No bearer token."},
        403: {"model": errors[400]["model"], "description": "A bearer token that is not the server's."},
    }

    def refused(credentials: HTTPAuthorizationCredentials | None) -> JSONResponse | None:
        if credentials is None:
            return fail(
                401,
                f"this endpoint needs 'Authorization: Bearer <token>' with the server's {PUSH_TOKEN_ENV}",
                **{"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode("latin-1", "replace"), token):
            return fail(403, "the bearer token is not the one this server was started with")
        return None

    async def handle(request: Request, model: Any, credentials: Any, write: Any) -> JSONResponse:
        denied = refused(credentials)
        if denied is not None:
            return denied
        try:
            raw = await read_body(request)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        client = f"{request.client.host}:{request.client.port}" if request.client else ""

        def parse_and_write() -> Any:
            # Decoding and validating up to 32 MiB takes a while: in a worker thread, so the
            # event loop goes on answering reads meanwhile.
            data = decode_json(raw)
            check_rows(data, "df", settings.max_entity_rows, "rows")
            try:
                body = model.model_validate(data)
            except ValidationError as exc:
                raise BadRequest(422, validation_detail(exc, pattern_words)) from None
            return write(body, client)

        try:
            result = await run_in_threadpool(parse_and_write)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        return JSONResponse(result.to_dict())

    def push_rows(body: Any, client: str) -> Any:
        if body.to != "online":
            raise BadRequest(
                400,
                f"to: '{body.to}' is not supported: fsctl writes pushed rows to the online store only "
                "(a view's offline data is its source's files); send \"to\": \"online\"",
            )
        return writer.push(body.push_source_name, body.df, client=client, refresh=not body.allow_registry_cache)

    def write_rows(body: Any, client: str) -> Any:
        return writer.write(body.feature_view_name, body.df, client=client, refresh=not body.allow_registry_cache)

    def body_of(model: Any) -> dict[str, Any]:
        from fsctl.serving.feast import tidy_schema

        schema = tidy_schema(model.model_json_schema())
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    @app.post(
        "/push",
        summary="Push rows to every online view on a source (Feast's push)",
        response_model=wire.Response,
        responses=responses,
        openapi_extra=body_of(wire.Push),
    )
    async def push(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> JSONResponse:
        return await handle(request, wire.Push, credentials, push_rows)

    @app.post(
        "/write-to-online-store",
        summary="Write rows of one online view (Feast's write_to_online_store)",
        response_model=wire.Response,
        responses=responses,
        openapi_extra=body_of(wire.Write),
    )
    async def write_to_online_store(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> JSONResponse:
        return await handle(request, wire.Write, credentials, write_rows)
