"""What the S3 registry and the S3 state document share: one small JSON object per URI,
its client (short timeouts, few retries, the standard AWS chain including
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``), and boto errors as one clear message and
hint naming the bucket and key. Each caller wraps the message in its own error type."""

from __future__ import annotations

from typing import Any

from fsctl.aws_errors import error_code, transport_error

CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def client() -> Any:
    import boto3
    from botocore.config import Config

    # The documents are small: fail within seconds, not minutes, when S3 does not answer.
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=5)
    return boto3.client("s3", config=config)


def is_conflict(exc: Any) -> bool:
    """A conditional write lost its race (412 / 409)."""
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return error_code(exc) in CONFLICT_CODES or status in ("409", "412")


def describe(exc: Exception, action: str, what: str, bucket: str, key: str) -> tuple[str, str | None]:
    """(message, hint) for a boto error while ``action``-ing ``what`` at s3://bucket/key."""
    from botocore.exceptions import ClientError

    head = f"cannot {action} {what} s3://{bucket}/{key}"
    common = transport_error(
        exc,
        head,
        region_hint="set AWS_REGION or AWS_DEFAULT_REGION",
        endpoint_hint="check the network, any proxy, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3",
        service="S3",
    )
    if common is not None:
        return common
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code == "NoSuchBucket":
            return f"{head}: bucket '{bucket}' does not exist", "create the bucket, or fix the URI"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            permission = "s3:GetObject" if action == "read" else "s3:PutObject"
            return (
                f"{head}: access denied ({code})",
                f"check the credentials in use and that the bucket policy allows {permission} on this key",
            )
        return f"{head}: {code}: {message}", None
    return f"{head}: {type(exc).__name__}: {exc}", None
