"""What the S3 registry and the S3 state document share: one small JSON document per URI
(:class:`S3Object`), read and conditionally written through one client (short timeouts,
few retries, the standard AWS chain including ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_S3``), with boto errors as one clear message and hint naming the bucket
and key, in the caller's error type."""

from __future__ import annotations

from typing import Any

from fsctl.errors import FsctlError
from fsctl.storage.aws import error_code, transport_error

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


class LostRace(Exception):
    """A conditional write found the object changed since it was read (412 / 409)."""


class S3Object:
    """One small JSON document at ``s3://bucket/key`` (and objects beside it, by key).

    Reads tell "no object" (None) from every other failure; writes are conditional when
    given a token: ``If-Match`` on the ETag read, or ``If-None-Match: *`` for the first
    write, and a lost race raises :class:`LostRace`. Every other boto failure becomes
    ``error(message, hint=...)`` naming ``what`` and the bucket and key.
    """

    def __init__(self, bucket: str, key: str, what: str, error: type[FsctlError], client: Any = None) -> None:
        self.bucket, self.key, self.what, self.error = bucket, key, what, error
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client()
        return self._client

    def fail(self, exc: Exception, action: str) -> FsctlError:
        message, hint = describe(exc, action, self.what, self.bucket, self.key)
        return self.error(message, hint=hint)

    def get(self, key: str | None = None) -> tuple[bytes, str] | None:
        """(body, ETag) of the object at ``key`` (default: the document), None if there is none."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key or self.key)
            return response["Body"].read(), str(response.get("ETag", ""))
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return None
            raise self.fail(exc, "read") from None
        except BotoCoreError as exc:
            raise self.fail(exc, "read") from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return False
            raise self.fail(exc, "write") from None
        except BotoCoreError as exc:
            raise self.fail(exc, "write") from None

    def put(self, body: bytes, *, key: str | None = None, conditional: bool = False, token: str | None = None) -> str:
        """Write ``body``; returns the new ETag ("" if S3 gave none). ``conditional``: only
        over the version with ETag ``token``, or only if there is no object when ``token``
        is None; otherwise raise :class:`LostRace`."""
        from botocore.exceptions import BotoCoreError, ClientError

        conditions = ({"IfMatch": token} if token else {"IfNoneMatch": "*"}) if conditional else {}
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=key or self.key, Body=body, ContentType="application/json", **conditions
            )
        except ClientError as exc:
            if conditional and is_conflict(exc):
                raise LostRace from None
            raise self.fail(exc, "write") from None
        except BotoCoreError as exc:
            raise self.fail(exc, "write") from None
        return str(response.get("ETag", ""))


def any_object(uri: str) -> bool:
    """Whether any object matches ``uri`` (``s3://bucket/key``, a prefix ending in ``/``, or a
    glob with ``*``, ``?`` or ``[...]``); an S3 failure is an FsctlError naming the URI."""
    import fnmatch

    from botocore.exceptions import BotoCoreError, ClientError

    from fsctl.errors import StoreError

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    glob = any(ch in key for ch in "*?[")
    prefix = key[: min(key.index(ch) for ch in "*?[" if ch in key)] if glob else key
    try:
        pages = client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"MaxItems": 10_000 if glob else 1}
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"]
                if not glob or fnmatch.fnmatchcase(name, key):
                    return True
        return False
    except (BotoCoreError, ClientError) as exc:
        message, hint = describe(exc, "list", "the source", bucket, prefix)
        raise StoreError(message, hint=hint) from None
