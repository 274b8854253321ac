"""Feast's ``/get-online-features`` wire format, both ways: the request a Feast client sends
(:func:`parse_request` -> a :class:`~fsctl.services.features.FeatureRequest` and entity
columns) and the answer it expects (:func:`feast_response`), plus the OpenAPI models that
document them. Kept apart from the routes so the prediction endpoints and the web UI can
reuse the same mapping.

Request: ``{"features": [...] or "feature_service": NAME, "entities": {key: [values]},
"full_feature_names": bool}`` plus fsctl's ``ignore_ttl`` and ``model`` (``NAME@ALIAS``).
Response: ``{"metadata": {"feature_names": [...]}, "results": [...]}`` with one result per
*name* (join keys first, then the features in request order), each holding ``values``,
``statuses`` and ``event_timestamps`` with one entry per entity row. Statuses are
``PRESENT``, ``NOT_FOUND`` (missing) and ``OUTSIDE_MAX_AGE`` (expired: value null unless
``ignore_ttl``); join keys and missing values carry Feast's zero time
``1970-01-01T00:00:00Z``.

pydantic is imported only when :func:`models` is first called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from fsctl.errors import FsctlError, RegistryError, StoreError
from fsctl.online.codec import micros_to_datetime
from fsctl.results.online import EXPIRED, MISSING, PRESENT, OnlineResponse, iso_timestamp, json_safe
from fsctl.services.features import FeatureRequest

FEAST_STATUS = {PRESENT: "PRESENT", MISSING: "NOT_FOUND", EXPIRED: "OUTSIDE_MAX_AGE"}
ZERO_TIME = "1970-01-01T00:00:00Z"  # what Feast reports for join keys and values it has no time for
REQUEST_LABELS = ("features", "feature_service", "model")


@dataclass(frozen=True)
class OnlineFeaturesCall:
    """A parsed ``/get-online-features`` body."""

    request: FeatureRequest
    entities: dict[str, list[Any]]
    ignore_ttl: bool


class BadRequest(Exception):
    """A body of the wrong shape: ``status`` (422) and one line of ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@functools.lru_cache(maxsize=1)
def models() -> Any:
    """The pydantic models of the wire format (built once, on first use)."""
    from types import SimpleNamespace

    from pydantic import BaseModel, ConfigDict, Field

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
        feature_service: str | None = Field(default=None, description="A feature service: all of its features.")
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
        registry_error: str | None = Field(
            default=None, description="Why the registry cannot be re-read (status degraded); reads use the last good version."
        )

    return SimpleNamespace(
        Request=GetOnlineFeaturesRequest,
        Response=GetOnlineFeaturesResponse,
        ErrorDetail=ErrorDetail,
        Health=Health,
    )


def parse_request(data: Any) -> OnlineFeaturesCall:
    """A decoded JSON body as a call; BadRequest (422) for the wrong shape, UsageError for a
    request fsctl cannot answer (both or neither of features and feature_service)."""
    from pydantic import ValidationError

    from fsctl.definitions.base import field_errors

    try:
        body = models().Request.model_validate(data)
    except ValidationError as exc:
        parts = [f"{loc or 'request body'}: {message}" for loc, message in field_errors(exc)[:5]]
        raise BadRequest(422, "invalid request: " + "; ".join(parts)) from None
    request = FeatureRequest.of(
        body.features, body.feature_service, body.model, body.full_feature_names, labels=REQUEST_LABELS
    )
    return OnlineFeaturesCall(request, body.entities, body.ignore_ttl)


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
