"""A materialization state document kept as one S3 object beside the registry.

Written only with conditional writes, exactly like the S3 registry: the first write with
``If-None-Match: *``, every later one with ``If-Match: <ETag that was read>``; a lost race
(412 / 409) is a :class:`~fsctl.errors.ConflictError`. Only a missing object means "no
state yet"; every other failure (no such bucket, access denied, no credentials, endpoint
down, a body that does not parse) is a :class:`~fsctl.errors.StoreError` naming the bucket
and key and what to check, and nothing is written after a failed read.

The client (short timeouts, few retries, the standard AWS chain including
``AWS_ENDPOINT_URL``) and the error messages are the S3 registry's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fsctl.errors import ConflictError, RegistryError, StoreError
from fsctl.registry.s3 import _CONFLICT_CODES, _MISSING_CODES, S3Registry
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document


def _as_store_error(error: RegistryError) -> StoreError:
    message = error.message.replace("the registry ", "the materialization state ", 1)
    return StoreError(message, hint=error.hint)


class S3StateStore:
    def __init__(self, uri: str, client: Any = None) -> None:
        self.location = uri
        # Reused for its client construction and its error mapping; it never touches the registry.
        self._s3 = S3Registry(uri, client=client)
        self.bucket, self.key = self._s3.bucket, self._s3.key

    @property
    def client(self) -> Any:
        return self._s3.client

    def _fail(self, exc: Exception, action: str) -> StoreError:
        return _as_store_error(self._s3._fail(exc, action))

    def read(self) -> StateSnapshot:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            body = response["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _MISSING_CODES:
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
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _CONFLICT_CODES or status in ("409", "412"):
                raise ConflictError(
                    f"the materialization state {self.location} changed since serial "
                    f"{expected.serial} was read",
                    hint="read it again and re-apply the change (fsctl.state.update does this)",
                ) from None
            raise self._fail(exc, "write") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "write") from None
        return dataclasses.replace(stored, token=str(response.get("ETag", "")) or None)
