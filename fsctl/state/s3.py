"""A materialization state document kept as one S3 object beside the registry.

Written only with conditional writes, exactly like the S3 registry: the first write with
``If-None-Match: *``, every later one with ``If-Match: <ETag that was read>``; a lost race
(412 / 409) is a :class:`~fsctl.errors.ConflictError`. Only a missing object means "no
state yet"; every other failure (no such bucket, access denied, no credentials, endpoint
down, a body that does not parse) is a :class:`~fsctl.errors.StoreError` naming the bucket
and key and what to check, and nothing is written after a failed read.

The client and the error messages are the S3 registry's (:mod:`fsctl.s3_objects`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fsctl import s3_objects
from fsctl.aws_errors import error_code
from fsctl.errors import ConflictError, StoreError
from fsctl.registry.s3 import parse_s3_uri
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document


class S3StateStore:
    def __init__(self, uri: str, client: Any = None) -> None:
        self.location = uri
        self.bucket, self.key = parse_s3_uri(uri)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_objects.client()
        return self._client

    def _fail(self, exc: Exception, action: str) -> StoreError:
        message, hint = s3_objects.describe(exc, action, "the materialization state", self.bucket, self.key)
        return StoreError(message, hint=hint)

    def read(self) -> StateSnapshot:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            body = response["Body"].read()
        except ClientError as exc:
            if error_code(exc) in s3_objects.MISSING_CODES:
                return empty_state(self.location)
            raise self._fail(exc, "read") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "read") from None
        return parse_document(body, self.location, token=str(response.get("ETag", "")))

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        from botocore.exceptions import BotoCoreError, ClientError

        conditions = {"IfMatch": expected.token} if expected.token else {"IfNoneMatch": "*"}
        stored = dataclasses.replace(new, location=self.location, serial=expected.serial + 1)
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=dumps(stored),
                ContentType="application/json",
                **conditions,
            )
        except ClientError as exc:
            if s3_objects.is_conflict(exc):
                raise ConflictError(
                    f"the materialization state {self.location} changed since serial "
                    f"{expected.serial} was read",
                    hint="read it again and re-apply the change (fsctl.state.update does this)",
                ) from None
            raise self._fail(exc, "write") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "write") from None
        return dataclasses.replace(stored, token=str(response.get("ETag", "")) or None)
