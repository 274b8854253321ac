"""How one ``fsctl serve`` behaves: the TTL rule of reads, the row cap of a request, and
whether the write endpoints are on (with their token). Set by ``serve``'s options and their
environment variables; shown in the start-up line and in ``/health``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fsctl.errors import UsageError

DEFAULT_MAX_ENTITY_ROWS = 10_000
PUSH_TOKEN_ENV = "FSCTL_PUSH_TOKEN"
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class ServerSettings:
    ignore_ttl: bool = False  # reads that leave ignore_ttl out return expired values too
    max_entity_rows: int = DEFAULT_MAX_ENTITY_ROWS  # per request: entity rows, or pushed rows
    push_token: str | None = field(default=None, repr=False)  # set: /push and /write-to-online-store are on

    def __post_init__(self) -> None:
        if self.max_entity_rows < 1:
            raise UsageError(f"--max-entity-rows must be at least 1, got {self.max_entity_rows}")

    @property
    def push(self) -> bool:
        return self.push_token is not None

    def describe(self) -> str:
        """One line for the start-up message."""
        ttl = "TTL ignored (expired values returned, marked OUTSIDE_MAX_AGE)" if self.ignore_ttl else "TTL applied"
        push = "push enabled (bearer token from FSCTL_PUSH_TOKEN)" if self.push else "push disabled"
        return f"{ttl}; at most {self.max_entity_rows:,} entity rows per request; {push}"


def push_token_from_env() -> str:
    """The bearer token the write endpoints require: ``FSCTL_PUSH_TOKEN``, never a flag (a
    command line shows in ``ps``). Missing or short is an error naming the variable."""
    token = os.environ.get(PUSH_TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"--enable-push needs a bearer token in the environment variable {PUSH_TOKEN_ENV}",
            hint=f"e.g. export {PUSH_TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))'); "
            "clients send it as 'Authorization: Bearer <token>'",
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(
            f"{PUSH_TOKEN_ENV} is {len(token)} characters long; use a random token of at least "
            f"{MIN_TOKEN_LENGTH}",
            hint=f"e.g. export {PUSH_TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')",
        )
    return token
