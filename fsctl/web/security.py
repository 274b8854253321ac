"""The UI's safety net, as one ASGI middleware around the app:

* every response carries a strict Content-Security-Policy (no inline script or style, no
  third-party anything, no framing), ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: no-referrer``; no CORS header ever leaves (another origin cannot read
  a page or the JSON);
* requests whose ``Host`` is not on the allow-list get a 421: a DNS-rebinding page, whose
  own name resolves to 127.0.0.1, cannot read the UI. The list: the bound host,
  ``localhost``, ``127.0.0.1`` and ``[::1]`` with the port; bound to every interface
  (``0.0.0.0``, ``::``), also this machine's host name and fully qualified name; and the
  names given with ``--allow-host`` (a load balancer's or proxy's name: bare, it matches
  with no port or the bound port; ``name:port`` matches just that);
* only GET and HEAD: the UI writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _shown(name: str) -> str:
    """``name`` as it appears in a Host header (IPv6 addresses in brackets)."""
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host headers a server bound to ``host:port`` answers (see the module docstring)."""
    names = {"localhost", "127.0.0.1", "::1"}
    if host in WILDCARDS:
        import socket

        names |= {socket.gethostname(), socket.getfqdn()}
    else:
        names.add(host)
    allowed = {f"{_shown(n)}:{port}" for n in names if n}
    if port == 80:  # browsers leave the default port out
        allowed |= {_shown(n) for n in names if n}
    for name in extra:
        name = name.strip()
        with_port = "]:" in name if name.startswith("[") else name.count(":") == 1
        if with_port and name.rpartition(":")[2].isdigit():
            allowed.add(name)  # name:port, as given
        elif name:
            allowed |= {_shown(name), f"{_shown(name)}:{port}"}
    return frozenset(a.lower() for a in allowed)


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host not in self.hosts:
            await _plain(send, 421, "Misdirected request: this host name is not served here "
                         "(fsctl ui answers only the address it is bound to, localhost and 127.0.0.1; "
                         "start it with --allow-host NAME to serve another name).")
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await _plain(send, 405, "Method not allowed: the fsctl UI is read-only.", allow=b"GET, HEAD")
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-") and k.lower() not in dict(HEADERS)
                ]
                message["headers"] = [*kept, *HEADERS]
            await send(message)

        await self.app(scope, receive, secured)


async def _plain(send: Send, status: int, text: str, allow: bytes | None = None) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *HEADERS]})
    await send({"type": "http.response.body", "body": body})
