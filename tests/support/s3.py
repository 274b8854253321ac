"""A moto S3/DynamoDB server on 127.0.0.1 for tests, reached over real HTTP.

moto (5.x) checks ``If-Match`` / ``If-None-Match`` and then stores the object with no
lock in between, where real S3 does both in one atomic step: two racing conditional
writes could both succeed on moto. The server started here serialises object writes
(a lock around moto's put handling) so that tests measure fsctl, not moto's race.
"""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any

_PUT_LOCK = threading.Lock()
_PATCHED = False


def _serialise_puts() -> None:
    global _PATCHED
    if _PATCHED:
        return
    from moto.s3.responses import S3Response

    original = S3Response.put_object

    def locked_put_object(self: Any) -> Any:
        with _PUT_LOCK:  # check-then-write as one step, as real S3 does
            return original(self)

    S3Response.put_object = locked_put_object  # type: ignore[method-assign]
    _PATCHED = True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def endpoint_env(endpoint: str) -> dict[str, str]:
    """Environment for a separate process (the CLI) to use the S3 server at ``endpoint``."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@dataclass
class S3Server:
    endpoint: str
    server: Any

    @property
    def env(self) -> dict[str, str]:
        """Environment for a separate process (the CLI) to use this server."""
        return endpoint_env(self.endpoint)

    def client(self) -> Any:
        return s3_client(self.endpoint)

    def new_bucket(self) -> str:
        name = f"fsctl-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.server.stop()


def start_server() -> S3Server:
    from moto.server import ThreadedMotoServer

    _serialise_puts()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return S3Server(endpoint=f"http://127.0.0.1:{port}", server=server)
