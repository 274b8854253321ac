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
from pathlib import Path
from typing import Any

from fsctl.errors import ConflictError, RegistryError
from fsctl.registry.document import RegistrySnapshot, check_version, dumps, empty_snapshot, parse_document
from fsctl.storage import Location, parse_location
from fsctl.storage.s3 import LostRace, S3Object


class S3Registry:
    def __init__(self, uri: str, client: Any = None) -> None:
        self.location = uri
        where = parse_location(uri, Path.cwd(), "registry")
        self.bucket, self.key = where.bucket, where.key
        self._object = S3Object(self.bucket, self.key, "the registry", RegistryError, client=client)

    @property
    def client(self) -> Any:
        return self._object.client

    def _history_key(self, version: int) -> str:
        return f"{self.key}.history/{version:08d}.json"

    def read(self) -> RegistrySnapshot:
        got = self._object.get()
        if got is None:
            return empty_snapshot(self.location)
        body, etag = got
        return parse_document(body, self.location, token=etag)

    def read_version(self, version: int) -> dict[str, Any]:
        current = self.read()
        if check_version(current, version):
            return current.to_document()
        got = self._object.get(self._history_key(version))
        if got is None:
            raise RegistryError(f"version {version} is not kept under s3://{self.bucket}/{self.key}.history/")
        try:
            return dict(json.loads(got[0]))
        except ValueError as exc:
            raise RegistryError(
                f"s3://{self.bucket}/{self._history_key(version)} is not valid JSON: {exc}"
            ) from None

    def write(self, new: RegistrySnapshot, expected: RegistrySnapshot) -> None:
        if new.version != expected.version + 1:
            raise RegistryError(f"internal: writing version {new.version} on top of {expected.version}")
        body = dumps(new.to_document())
        if expected.exists:
            self._heal_history(expected)
        try:
            self._object.put(body, conditional=True, token=expected.token if expected.exists else None)
        except LostRace:
            raise ConflictError(
                f"the registry {self.location} changed since version {expected.version} was read",
                hint="re-run `fsctl plan` (or `fsctl apply` without a plan file) against the new version",
            ) from None
        try:
            self._object.put(body, key=self._history_key(new.version))
        except RegistryError:
            pass  # healed by the next write; the version itself has landed

    def _heal_history(self, current: RegistrySnapshot) -> None:
        """Make sure the version being replaced is kept (a crash may have skipped its copy)."""
        key = self._history_key(current.version)
        if not self._object.exists(key):
            self._object.put(dumps(current.to_document()), key=key)


def create(location: Location) -> S3Registry:
    return S3Registry(location.uri)
