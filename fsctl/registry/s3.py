"""A registry kept as one S3 object, written only with conditional writes.

The first version is written with ``If-None-Match: *`` and every later one with
``If-Match: <ETag that was read>``, so two writers can never both succeed: the
loser gets a precondition failure, reported as
:class:`~fsctl.errors.ConflictError`. Each version is also kept at
``<key>.history/<version>.json``, written after the version lands (and healed on
the next write if a crash came in between).

Only a missing object means "no registry yet". Every other failure (no such
bucket, access denied, no credentials, endpoint down, a body that does not
parse) is an error naming the bucket and key, and nothing is written.

Endpoints and credentials come from the standard AWS chain, including
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` for S3-compatible servers.
"""

from __future__ import annotations

import json
from typing import Any

from fsctl import s3_objects
from fsctl.aws_errors import error_code
from fsctl.errors import ConflictError, RegistryError
from fsctl.registry.document import RegistrySnapshot, check_version, dumps, empty_snapshot, parse_document


def parse_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not bucket or not key or key.endswith("/"):
        raise RegistryError(
            f"registry {uri}: an S3 registry is s3://bucket/key/of/registry.json",
            hint="name the bucket and the object key",
        )
    return bucket, key


class S3Registry:
    def __init__(self, uri: str, client: Any = None) -> None:
        self.location = uri
        self.bucket, self.key = parse_s3_uri(uri)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_objects.client()
        return self._client

    def _history_key(self, version: int) -> str:
        return f"{self.key}.history/{version:08d}.json"

    def _fail(self, exc: Exception, action: str) -> RegistryError:
        """A boto error as one clear message naming bucket and key."""
        message, hint = s3_objects.describe(exc, action, "the registry", self.bucket, self.key)
        return RegistryError(message, hint=hint)

    def read(self) -> RegistrySnapshot:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            body = response["Body"].read()
        except ClientError as exc:
            if error_code(exc) in s3_objects.MISSING_CODES:
                return empty_snapshot(self.location)
            raise self._fail(exc, "read") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "read") from None
        return parse_document(body, self.location, token=str(response.get("ETag", "")))

    def read_version(self, version: int) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        current = self.read()
        if check_version(current, version):
            return current.to_document()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._history_key(version))["Body"].read()
        except ClientError as exc:
            if error_code(exc) in s3_objects.MISSING_CODES:
                raise RegistryError(
                    f"version {version} is not kept under s3://{self.bucket}/{self.key}.history/"
                ) from None
            raise self._fail(exc, "read") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "read") from None
        try:
            return dict(json.loads(body))
        except ValueError as exc:
            raise RegistryError(
                f"s3://{self.bucket}/{self._history_key(version)} is not valid JSON: {exc}"
            ) from None

    def _put(self, key: str, data: bytes, **conditions: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **conditions
        )

    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if new.version != expected.version + 1:
            raise RegistryError(f"internal: writing version {new.version} on top of {expected.version}")
        conditions = (
            {"IfMatch": expected.token} if expected.exists and expected.token else {"IfNoneMatch": "*"}
        )
        try:
            if expected.exists:
                self._heal_history(expected)
            self._put(self.key, dumps(new.to_document()), **conditions)
        except ClientError as exc:
            if s3_objects.is_conflict(exc):
                raise ConflictError(
                    f"the registry {self.location} changed since version {expected.version} was read",
                    hint="re-run `fsctl plan` (or `fsctl apply` without a plan file) against the new version",
                ) from None
            raise self._fail(exc, "write") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "write") from None
        try:
            self._put(self._history_key(new.version), dumps(new.to_document()))
        except (ClientError, BotoCoreError):
            pass  # healed by the next write; the version itself has landed

    def _heal_history(self, current: RegistrySnapshot) -> None:
        """Make sure the version being replaced is kept (a crash may have skipped its copy)."""
        from botocore.exceptions import ClientError

        key = self._history_key(current.version)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in s3_objects.MISSING_CODES:
                self._put(key, dumps(current.to_document()))
            else:
                raise
