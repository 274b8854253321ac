"""A materialization state document kept as one S3 object beside the registry.

Written only with conditional writes, exactly like the S3 registry: the first write with
``If-None-Match: *``, every later one with ``If-Match: <ETag that was read>``; a lost race
(412 / 409) is a :class:`~fsctl.errors.ConflictError`. Only a missing object means "no
state yet"; every other failure (no such bucket, access denied, no credentials, endpoint
down, a body that does not parse) is a :class:`~fsctl.errors.StoreError` naming the bucket
and key and what to check, and nothing is written after a failed read.

The client and the error messages are the S3 registry's (:mod:`fsctl.storage.s3`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fsctl.errors import ConflictError, StoreError
from fsctl.state.document import StateSnapshot, dumps, empty_state, parse_document
from fsctl.storage import Location, parse_location
from fsctl.storage.s3 import LostRace, S3Object


class S3StateStore:
    def __init__(self, uri: str, client: Any = None) -> None:
        self.location = uri
        where = parse_location(uri, Path.cwd(), "materialization state")
        self.bucket, self.key = where.bucket, where.key
        self._object = S3Object(self.bucket, self.key, "the materialization state", StoreError, client=client)

    @property
    def client(self) -> Any:
        return self._object.client

    def read(self) -> StateSnapshot:
        got = self._object.get()
        if got is None:
            return empty_state(self.location)
        body, etag = got
        return parse_document(body, self.location, token=etag)

    def write(self, new: StateSnapshot, expected: StateSnapshot) -> StateSnapshot:
        stored = dataclasses.replace(new, location=self.location, serial=expected.serial + 1)
        try:
            etag = self._object.put(dumps(stored), conditional=True, token=expected.token)
        except LostRace:
            raise ConflictError(
                f"the materialization state {self.location} changed since serial {expected.serial} was read",
                hint="read it again and re-apply the change (fsctl.state.update does this)",
            ) from None
        return dataclasses.replace(stored, token=etag or None)


def create(location: Location) -> S3StateStore:
    return S3StateStore(location.uri)
