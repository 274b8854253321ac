"""The prediction endpoint of the feature server, over
:class:`~fsctl.services.predict.Predictor`:

``POST /models/{name}/predict`` with ``{"entities": {"driver_id": [1001, 1002]}}`` (Feast's
entity shape), optionally ``"alias"`` or ``"version"`` (or ``/models/NAME@ALIAS/predict``),
``"request_id"`` and ``"ignore_ttl"``. Headers ``X-Fsctl-Alias`` / ``X-Fsctl-Version`` pick
the version for testing when the body and path name none (they override a traffic split);
``X-Request-ID`` is used as the request id when the body has none. The answer::

    {"model": "churn", "request_id": "...", "registry_version": 7,
     "predictions": [{"entity": {"driver_id": 1001}, "alias": "Champion", "version": 1,
                      "outputs": {"churn_probability": 0.12}}]}

one prediction per entity row, in request order, each with the version that answered.
Errors: 404 for an unknown model, 400 for an alias or version it does not have (or a
request fsctl cannot answer), 413 / 422 as for reads (a body too big, or of the wrong shape),
424 (Failed Dependency) when a feature is missing or expired and the model's
``missing_features`` is ``error``, 503 when the store, the registry or the model
artifact fails. Like :mod:`fsctl.serving.routes`, no ``from __future__ import annotations``.
"""

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from fsctl.errors import FsctlError, ModelError
from fsctl.services.predict import MissingFeatures, Predictor, UnknownModel
from fsctl.serving.body import BadRequest, check_rows, decode_json, one_line, read_body, validation_detail
from fsctl.serving.feast import COLUMN, NAME, absent, entity_value, error_detail, error_status, pattern_words
from fsctl.serving.settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

ALIAS = r"^[A-Za-z][A-Za-z0-9_\-]*$"
MODEL_PATH = rf"{NAME[:-1]}(@[A-Za-z][A-Za-z0-9_\-]*)?$"


@functools.lru_cache(maxsize=8)
def predict_models(max_rows: int) -> Any:
    """The pydantic models of the prediction endpoint (built once per row cap)."""
    from types import SimpleNamespace
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

    from fsctl.serving.feast import ENTITY_VALUE_SCHEMA

    KeyName = Annotated[str, Field(pattern=COLUMN)]  # noqa: N806
    # JSON Schema's integer includes 3.0, so the body does too (strict pydantic would not)
    VersionNumber = Annotated[  # noqa: N806
        int, PlainValidator(version_number), WithJsonSchema({"type": "integer", "minimum": 1})
    ]
    EntityValue = Annotated[Any, PlainValidator(entity_value), WithJsonSchema(ENTITY_VALUE_SCHEMA)]  # noqa: N806

    class PredictRequest(BaseModel):
        """Entity rows to predict for, and (optionally) which version answers."""

        model_config = ConfigDict(strict=True, extra="forbid")

        entities: dict[KeyName, Annotated[list[EntityValue], Field(max_length=max_rows)]] = Field(
            min_length=1,
            description=f"Join key -> one value per row (at most {max_rows:,} rows), as in /get-online-features.",
        )
        alias: str = absent(
            pattern=ALIAS,
            description="The alias to answer with (default: traffic split, "
            "else the model's first protected alias).",
        )
        version: VersionNumber = absent(description="The version to answer with.")
        request_id: str = absent(min_length=1, max_length=128, description="Kept in the prediction log.")
        ignore_ttl: bool = absent(description="Pass expired values to the model (default: the server's).")

    class Prediction(BaseModel):
        entity: dict[str, Any] = Field(description="The row's join keys.")
        alias: str | None = Field(description="The alias that answered (null: named by version).")
        version: int = Field(description="The model version that answered.")
        outputs: dict[str, Any] = Field(description="Output name -> value.")

    class PredictResponse(BaseModel):
        model: str
        request_id: str
        registry_version: int
        predictions: list[Prediction]

    return SimpleNamespace(Request=PredictRequest, Response=PredictResponse)


def add_predict_routes(
    app: "FastAPI",
    predictor: Predictor | None,
    settings: ServerSettings,
    errors: dict[Any, Any],
    metrics: Any = None,
) -> None:
    """``POST /models/{name}/predict`` on ``app`` (absent without a predictor). ``metrics``
    (a :class:`~fsctl.serving.metrics.ServerMetrics`) counts predictions and feature misses."""
    if predictor is None:
        return
    from fastapi import Path, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
    from pydantic import ValidationError

    wire = predict_models(settings.max_entity_rows)

    def fail(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": one_line(detail)}, status_code=status)

    responses = {
        **errors,
        404: {"model": errors[400]["model"], "description": "No model of that name is applied."},
        424: {
            "model": errors[400]["model"],
            "description": "A feature is missing or expired in the online store and the model's "
            "missing_features is error (the detail names the row and the feature).",
        },
        503: {
            "model": errors[400]["model"],
            "description": "The online store, the registry or the model artifact failed.",
        },
    }
    from fsctl.serving.feast import tidy_schema

    body_schema = tidy_schema(wire.Request.model_json_schema())

    @app.post(
        "/models/{name}/predict",
        summary="Predictions of a model for entity rows, from their online features",
        response_model=wire.Response,
        responses=responses,
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}
        },
    )
    async def predict(
        request: Request,
        name: str = Path(description="The model, or NAME@ALIAS.", json_schema_extra={"pattern": MODEL_PATH}),
    ) -> Response:
        try:
            raw = await read_body(request)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        headers = request.headers

        def answer() -> bytes:
            if not re.fullmatch(MODEL_PATH, name):  # checked here, so the error is one line
                raise BadRequest(422, f"path: {name!r} is not a model name (NAME or NAME@ALIAS)")
            data = decode_json(raw)
            check_rows(data, "entities", settings.max_entity_rows, "entity rows")
            try:
                body = wire.Request.model_validate(data)
            except ValidationError as exc:
                raise BadRequest(422, validation_detail(exc, pattern_words)) from None
            model, _, in_path = name.partition("@")
            alias: str | None = in_path or body.alias
            version = body.version
            if alias and version is not None:
                raise BadRequest(400, "name an alias or a version, not both")
            if not alias and version is None:
                alias = headers.get("x-fsctl-alias") or None
                version = _header_version(headers.get("x-fsctl-version"))
            result = predictor.predict(
                model,
                body.entities,
                alias=alias,
                version=version,
                request_id=body.request_id or headers.get("x-request-id") or None,
                ignore_ttl=body.ignore_ttl,
            )
            if metrics is not None:
                for group in result.groups:
                    t = group.target
                    metrics.observe_prediction(
                        t.model,
                        t.alias,
                        t.version,
                        len(group.rows),
                        group.lookup_seconds,
                        group.model_seconds,
                    )
                    metrics.observe_features(group.statuses, group.names)
            return json.dumps(result.to_json_dict(), ensure_ascii=False, allow_nan=False).encode()

        try:
            content = await run_in_threadpool(answer)
        except BadRequest as exc:
            return fail(exc.status, exc.detail)
        except UnknownModel as exc:
            return fail(404, error_detail(exc))
        except MissingFeatures as exc:
            return fail(424, error_detail(exc))
        except ModelError as exc:
            return fail(503, error_detail(exc))
        except FsctlError as exc:
            return fail(error_status(exc), error_detail(exc))
        return Response(content=content, media_type="application/json")


def version_number(value: Any) -> int:
    """A version in a body: a whole number (``3`` or ``3.0``, as JSON Schema counts integers), at least 1."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ValueError("must be a whole number")
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _header_version(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise BadRequest(400, f"X-Fsctl-Version: {text!r} is not a version number")
    return int(text)
