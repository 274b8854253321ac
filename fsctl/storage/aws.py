"""boto failures that every AWS-backed part of fsctl (S3 registry and state, DynamoDB online
store) reports alike: no credentials, no region, an endpoint that cannot be reached or does
not answer. Service errors (ClientError codes) stay with each caller."""

from __future__ import annotations

from typing import Any

_CREDENTIALS_HINT = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is available"


def error_code(exc: Any) -> str:
    """The error code of a botocore ClientError ("" if none)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def transport_error(
    exc: BaseException,
    head: str,
    *,
    region_hint: str,
    endpoint_hint: str,
    service: str,
    endpoint_url: str | None = None,
) -> tuple[str, str] | None:
    """(message, hint) starting with ``head`` for a credentials, region or connection
    failure; None for anything else (a ClientError, say)."""
    from urllib.parse import urlsplit

    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return f"{head}: no AWS credentials found", _CREDENTIALS_HINT
    if isinstance(exc, NoRegionError):
        return f"{head}: no AWS region configured", region_hint
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        url = urlsplit(str(exc.kwargs.get("endpoint_url", "") or endpoint_url or ""))
        endpoint = f"{url.scheme}://{url.netloc}" if url.netloc else f"the {service} endpoint"
        problem = "did not answer in time" if isinstance(exc, ReadTimeoutError) else "cannot be reached"
        return f"{head}: the endpoint {endpoint} {problem}", endpoint_hint
    return None
