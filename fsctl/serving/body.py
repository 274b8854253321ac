"""Request bodies, read defensively: every malformed body is one 4xx with one line of detail.

* :func:`read_json`: the body of at most ``limit`` bytes (413 past it, told by the
  ``Content-Length`` header before anything is read, or while streaming), decoded as strict
  JSON: no NaN or Infinity, no lone surrogates (``"\\ud800"``), at most 201 levels of
  nesting (400 each, never a ``RecursionError`` or an encoding error later on the way out);
* :func:`check_rows`: the row cap of a columns mapping (``entities``, ``df``), checked on the
  decoded JSON before it is validated or read (413 naming the limit and how to raise it);
* :func:`validation_detail`: a pydantic ``ValidationError`` as one line naming the fields;
* :func:`one_line`: control characters in a message (from a name the client sent) escaped,
  so a ``detail`` and the access log stay one line.

The JSON is decoded by pydantic-core (the serve extra has it), which is as fast as the
standard library and refuses what the standard library lets through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fsctl.results.online import json_type

if TYPE_CHECKING:
    from pydantic import ValidationError
    from starlette.requests import Request

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 201  # pydantic-core's nesting limit
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}


class BadRequest(Exception):
    """A request refused before it reaches a service: ``status`` and one line of ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, one_line(detail)


def one_line(text: str) -> str:
    """``text`` with control characters (newlines, tabs, ESC, ...) written as ``\\xNN``."""
    return text.translate(_CONTROL)


def _too_large(limit: int) -> BadRequest:
    return BadRequest(413, f"the request body is larger than {limit // (1024 * 1024)} MiB")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(raw: bytes) -> Any:
    """``raw`` as strict JSON; BadRequest (400) saying what is wrong and where."""
    from pydantic_core import from_json

    try:
        return from_json(raw, allow_inf_nan=False, cache_strings=False)
    except ValueError as exc:
        message = str(exc)
        if "recursion limit" in message:
            raise BadRequest(
                400, f"the request body nests arrays or objects more than {MAX_DEPTH} levels deep"
            ) from None
        if "surrogate" in message or "hex escape" in message:
            message += (
                " (strings must be valid Unicode: a \\ud800-\\udfff escape is only valid as half "
                "of a surrogate pair)"
            )
        raise BadRequest(400, f"the request body is not valid JSON: {message}") from None


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    return decode_json(await read_body(request, limit))


def check_rows(data: Any, field: str, limit: int, what: str) -> None:
    """Refuse (413) a body whose ``field`` (a mapping of columns) has a column longer than
    ``limit``; anything else is left to validation."""
    columns = data.get(field) if isinstance(data, dict) else None
    if not isinstance(columns, dict):
        return
    longest = max((len(v) for v in columns.values() if isinstance(v, list)), default=0)
    if longest > limit:
        raise BadRequest(
            413,
            f"{field} has {longest:,} {what}; this server takes at most {limit:,} per request: "
            "split the request, or start fsctl serve with a higher --max-entity-rows "
            "(FSCTL_SERVE_MAX_ENTITY_ROWS)",
        )


TYPE_WORDS = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "a JSON object",
    "literal_error": "",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validation_detail(
    exc: ValidationError, describe_pattern: Callable[[str], str] | None = None, limit: int = 5
) -> str:
    """The errors of a pydantic validation as one line: ``invalid request: FIELD: message; ...``
    in plain words (``must be true or false, not a number``); ``describe_pattern`` says what a
    pattern a string missed stands for."""
    from fsctl.definitions.base import field_errors

    parts = []
    for item, (loc, message) in list(zip(exc.errors(), field_errors(exc), strict=True))[:limit]:
        kind, value = item["type"], item.get("input")
        if kind == "string_pattern_mismatch" and describe_pattern is not None:
            message = f"{_shown(value)} is not {describe_pattern(item['ctx']['pattern'])}"
        elif kind in TYPE_WORDS:
            expected = TYPE_WORDS[kind] or f"one of {item.get('ctx', {}).get('expected', '')}"
            message = f"must be {expected}, not {json_type(value)}" + (
                f" ({_shown(value)})" if isinstance(value, (str, int, float)) else ""
            )
        if loc.endswith(".[key]"):  # a key of a mapping: the message shows it
            loc = loc.rsplit(".", 2)[0]
        parts.append(f"{loc or 'request body'}: {message}")
    return "invalid request: " + "; ".join(parts)
