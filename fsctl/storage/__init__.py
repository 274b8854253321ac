"""Storage: bytes in places. The registry, the state document and plan files are written
through this layer and nothing else writes files for them.

* :func:`parse_location` turns a URI (a local path, or ``s3://bucket/key``) into a
  :class:`Location`; it is the only place such URIs are parsed.
* :mod:`fsctl.storage.local`: atomic and locked writes of local files.
* :mod:`fsctl.storage.s3`: one small S3 object, read and written with If-Match /
  If-None-Match, boto failures as one clear message.
* :mod:`fsctl.storage.aws`: the boto transport failures (credentials, region, endpoint)
  that every AWS client of fsctl reports alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fsctl.errors import UsageError

LOCAL, S3 = "local", "s3"


@dataclass(frozen=True)
class Location:
    """Where a document lives: ``scheme`` is ``local`` (with ``path``) or ``s3`` (with
    ``bucket`` and ``key``); ``uri`` is what messages show."""

    uri: str
    scheme: str
    path: Path | None = None
    bucket: str = ""
    key: str = ""


def parse_location(uri: str, base: Path, what: str = "registry") -> Location:
    """The location of ``uri``; a relative local path is relative to ``base``. ``what``
    names the document in errors (an unknown scheme, an S3 URI without a key)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket or not key or key.endswith("/"):
            raise UsageError(
                f"{what} {uri}: an S3 location is s3://bucket/key/of/{_file_name(what)}",
                hint="name the bucket and the object key",
            )
        return Location(uri=uri, scheme=S3, bucket=bucket, key=key)
    if "://" in uri:
        raise UsageError(f"{what} {uri}: unknown scheme; use a local path or s3://bucket/key")
    path = Path(uri)
    if not path.is_absolute():
        path = base / path
    return Location(uri=str(path), scheme=LOCAL, path=path)


def _file_name(what: str) -> str:
    return "registry.json" if what == "registry" else "registry.state.json"
