"""Feast's ``/get-online-features`` wire format, both ways: the request a Feast client sends
(:func:`parse_request` -> a :class:`~fsctl.services.features.FeatureRequest` and entity
columns) and the answer it expects (:func:`feast_response`), plus the OpenAPI models that
document them. Kept apart from the routes so the prediction endpoints and the web UI can
reuse the same mapping.

Request: exactly one of ``features`` (``["view:feature", ...]``), ``feature_service`` or
fsctl's ``model`` (``NAME@ALIAS`` / ``NAME/VERSION``); ``entities`` (``{join key: [values]}``,
each value a string, integer, number or boolean); optional booleans ``full_feature_names``,
``ignore_ttl`` (absent: the server's setting) and Feast's
``include_feature_view_version_metadata`` (accepted; fsctl has no view versions). The
models are strict: no coercion (``0`` and ``"yes"`` are not booleans), no unknown fields, no
nulls, names that match what fsctl accepts. Their JSON Schema is what OpenAPI shows, so a
body that schema accepts has the right shape, and one it refuses gets a 422 (or a 413 for
too many entity rows).

Response: ``{"metadata": {"feature_names": [...]}, "results": [...]}`` with one result per
*name* (join keys first, in the order of the request's ``entities``, then the features in
request order), each holding ``values``, ``statuses`` and ``event_timestamps`` with one
entry per entity row. Statuses are ``PRESENT``, ``NOT_FOUND`` (missing) and
``OUTSIDE_MAX_AGE`` (expired: value null unless the TTL is ignored); join keys and missing
values carry Feast's zero time ``1970-01-01T00:00:00Z``.

pydantic is imported only when :func:`models` is first called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from fsctl.definitions.values import COLUMN_RE, NAME_RE
from fsctl.errors import FsctlError, RegistryError, StoreError
from fsctl.json_values import iso_timestamp, json_safe
from fsctl.online.codec import micros_to_datetime
from fsctl.results.online import (
    EXPIRED,
    MISSING,
    PRESENT,
    OnlineResponse,
    json_type,
)
from fsctl.services.features import FeatureRequest
from fsctl.serving.body import BadRequest, check_rows, validation_detail
from fsctl.serving.settings import DEFAULT_MAX_ENTITY_ROWS

FEAST_STATUS = {PRESENT: "PRESENT", MISSING: "NOT_FOUND", EXPIRED: "OUTSIDE_MAX_AGE"}
ZERO_TIME = "1970-01-01T00:00:00Z"  # what Feast reports for join keys and values it has no time for
REQUEST_LABELS = ("features", "feature_service", "model")

# The names fsctl accepts, as JSON Schema patterns (the same in Python's and ECMA's regex).
NAME = NAME_RE.pattern
COLUMN = COLUMN_RE.pattern
FEATURE_REF = rf"{NAME[:-1]}:{COLUMN[1:]}"
MODEL_REF = rf"{NAME[:-1]}(@[A-Za-z][A-Za-z0-9_-]*|/[0-9]+)$"
PATTERN_WORDS = {
    NAME: "a name: a letter, then letters, digits or underscores",
    COLUMN: "a column name: letters, digits or underscores, not starting with a digit",
    FEATURE_REF: "a feature reference view:feature, e.g. driver_hourly_stats:conv_rate",
    MODEL_REF: "a model reference NAME@ALIAS or NAME/VERSION, e.g. churn_classifier@Production",
}
ENTITY_VALUE_SCHEMA = {
    "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}],
    "description": "A join key value: a string, integer, number or boolean.",
}


@dataclass(frozen=True)
class OnlineFeaturesCall:
    """A parsed ``/get-online-features`` body. ``ignore_ttl`` is None when the request leaves
    it to the server."""

    request: FeatureRequest
    entities: dict[str, list[Any]]
    ignore_ttl: bool | None


def entity_value(value: Any) -> Any:
    """A join key value as the request gives it; only JSON scalars (not null) are keys."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return value
    raise ValueError(f"must be a string, integer, number or boolean, not {json_type(value)}")


def tidy_schema(schema: Any) -> Any:
    """A pydantic JSON Schema made exact for OpenAPI: no titles, no ``default: null`` on
    fields that may only be left out, and a dict whose keys have a pattern refuses other
    keys (``propertyNames``) as validation does."""
    if isinstance(schema, list):
        return [tidy_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: tidy_schema(v) for k, v in schema.items() if k != "title" and not (k == "default" and v is None)
    }
    patterns = out.pop("patternProperties", None)
    if patterns:
        ((pattern, values),) = patterns.items()
        out["propertyNames"] = {"pattern": pattern}
        out["additionalProperties"] = values
    return out


def absent(**field: Any) -> Any:
    """A field a client may leave out but never send as null: it defaults to None, which
    validation never sees, while its type (and so the schema) has no null."""
    from pydantic import Field

    return Field(default=None, **field)


def pattern_words(pattern: str) -> str:
    return PATTERN_WORDS.get(pattern, f"a string matching {pattern}")


@functools.lru_cache(maxsize=8)
def models(max_rows: int = DEFAULT_MAX_ENTITY_ROWS) -> Any:
    """The pydantic models of the wire format for a server taking at most ``max_rows``
    entity rows per request (built once per limit, on first use)."""
    from types import SimpleNamespace
    from typing import Annotated, Literal

    from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

    FeatureRef = Annotated[str, Field(pattern=FEATURE_REF)]  # noqa: N806
    KeyName = Annotated[str, Field(pattern=COLUMN)]  # noqa: N806
    EntityValue = Annotated[Any, PlainValidator(entity_value), WithJsonSchema(ENTITY_VALUE_SCHEMA)]  # noqa: N806

    class GetOnlineFeaturesRequest(BaseModel):
        """Which features to read, and for which entities (Feast's request, plus fsctl's
        ignore_ttl and model). Give exactly one of features, feature_service and model."""

        model_config = ConfigDict(
            strict=True,
            extra="forbid",
            json_schema_extra={
                "oneOf": [{"required": [name]} for name in REQUEST_LABELS],
                "examples": [
                    {
                        "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"],
                        "entities": {"driver_id": [1001, 1002]},
                    }
                ],
            },
        )

        features: list[FeatureRef] = absent(min_length=1, description="Feature references, view:feature.")
        feature_service: str = absent(pattern=NAME, description="A feature service: all of its features.")
        model: str = absent(
            pattern=MODEL_REF,
            description="fsctl extension: the feature service bound to NAME@ALIAS or NAME/VERSION.",
        )
        entities: dict[KeyName, Annotated[list[EntityValue], Field(max_length=max_rows)]] = Field(
            description=f"Join key -> one value per entity row (at most {max_rows:,}); every list has "
            "the same length. Keys no requested view uses are ignored."
        )
        full_feature_names: bool = Field(default=False, description="Name features view__feature.")
        ignore_ttl: bool = absent(
            description="fsctl extension: true returns values older than the view's TTL (status stays "
            "OUTSIDE_MAX_AGE), false nulls them; left out, the server's setting (fsctl serve --ignore-ttl).",
        )
        include_feature_view_version_metadata: bool = Field(
            default=False,
            description="Sent by Feast clients; fsctl has no view versions, so it changes nothing.",
        )

        @model_validator(mode="after")
        def _one_way(self) -> GetOnlineFeaturesRequest:
            given = [name for name in REQUEST_LABELS if getattr(self, name) is not None]
            if len(given) != 1:
                got = f" (got {', '.join(given)})" if given else ""
                raise ValueError(
                    f"name the features one way: give exactly one of features | feature_service | model{got}"
                )
            return self

    class FeatureVector(BaseModel):
        values: list[Any] = Field(description="One value per entity row.")
        statuses: list[Literal["PRESENT", "NOT_FOUND", "OUTSIDE_MAX_AGE"]] = Field(
            description="One per entity row: PRESENT, NOT_FOUND (no value stored) or OUTSIDE_MAX_AGE "
            "(older than the view's TTL: null unless the TTL is ignored)."
        )
        event_timestamps: list[str] = Field(
            description="ISO 8601, one per entity row; 1970-01-01T00:00:00Z for join keys and missing values."
        )

    class Metadata(BaseModel):
        feature_names: list[str] = Field(description="Join keys in the request's order, then the features.")

    class GetOnlineFeaturesResponse(BaseModel):
        """Feast's response: one result per name of metadata.feature_names."""

        metadata: Metadata
        results: list[FeatureVector]

    class ErrorDetail(BaseModel):
        detail: str = Field(description="One line: what is wrong and how to fix it.")

    class Health(BaseModel):
        status: Literal["ok", "degraded"]
        project: str
        registry: str
        registry_version: int
        online_store: str
        ignore_ttl: bool = Field(description="Whether reads that leave ignore_ttl out return expired values.")
        max_entity_rows: int = Field(description="Entity rows (or pushed rows) one request may hold.")
        push: bool = Field(description="Whether /push and /write-to-online-store are enabled.")
        models_loaded: int = absent(description="Model versions loaded by the prediction endpoint.")
        prediction_log: str | None = Field(
            default=None, description="Where predictions are logged (null: not logged)."
        )
        registry_error: str = absent(
            description="Present while the registry cannot be re-read (status degraded); reads use the "
            "last good version.",
        )

    return SimpleNamespace(
        Request=GetOnlineFeaturesRequest,
        Response=GetOnlineFeaturesResponse,
        ErrorDetail=ErrorDetail,
        Health=Health,
        request_schema=tidy_schema(GetOnlineFeaturesRequest.model_json_schema()),
    )


def parse_request(data: Any, max_rows: int = DEFAULT_MAX_ENTITY_ROWS) -> OnlineFeaturesCall:
    """A decoded JSON body as a call: BadRequest 413 for more than ``max_rows`` entity rows,
    422 for a body of the wrong shape (naming the fields)."""
    from pydantic import ValidationError

    check_rows(data, "entities", max_rows, "entity rows")
    try:
        body = models(max_rows).Request.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(422, validation_detail(exc, pattern_words)) from None
    request = FeatureRequest.of(
        body.features, body.feature_service, body.model, body.full_feature_names, labels=REQUEST_LABELS
    )
    return OnlineFeaturesCall(request, body.entities, body.ignore_ttl)


def feast_response(response: OnlineResponse) -> dict[str, Any]:
    """``response`` in the shape of Feast's ``/get-online-features`` (see the module
    docstring): join keys first, in the order of the request's entities (the read keeps it)."""
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
