"""Who may talk to the server at all: the Host header, the browser Origin, the content type.

A server on loopback is still reachable from every web page the user opens: a page can send a
cross-site `POST` with a `text/plain` body (no preflight), open a WebSocket to any origin, or
reach us through a DNS name it rebinds to 127.0.0.1. So, before the token check:

- the `Host` header must name this server (an allow-list: loopback names by default), which
  defeats DNS rebinding;
- a request that carries an `Origin` (browsers always send one on cross-site requests and on
  WebSocket handshakes; our own clients send none) must come from an allowed origin;
- `POST /rpc` must say `Content-Type: application/json`, which a browser cannot send across
  origins without a preflight that we never answer.

A plain ASGI middleware (like `auth.TokenMiddleware`) rather than Starlette's
`TrustedHostMiddleware`: one place covers HTTP and WebSocket scopes, the MCP SDK's routes
included, and answers with JSON-RPC errors a client can map to a code.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import send_refusal
from .protocol import ErrorCode

__all__ = ["LOOPBACK_HOSTS", "ExposureMiddleware", "is_loopback"]

#: Host names a loopback server answers to.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ExposureMiddleware:
    """Refuse requests for another host, from a foreign browser origin, or `/rpc` bodies that
    are not JSON. `allowed_hosts` may hold `*` (any host: for a token-protected server bound to
    every interface); `allowed_origins` are full origins such as `http://localhost:8888`."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str], allowed_origins: Iterable[str] = ()
    ) -> None:
        self.app = app
        self._hosts = {h.lower().strip("[]") for h in allowed_hosts}
        self._origins = {o.lower().rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 1008})
        else:
            await send_refusal(send, *refusal)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, ErrorCode, str] | None:
        """(HTTP status, error code, message) for a request to refuse, else None."""
        if "*" not in self._hosts and _host_name(headers.get("host", "")) not in self._hosts:
            return 403, ErrorCode.FORBIDDEN_HOST, "This server does not answer to that host name."
        origin = headers.get("origin")
        if origin is not None and origin.lower().rstrip("/") not in self._origins:
            return 403, ErrorCode.FORBIDDEN_ORIGIN, "Requests from web pages are refused (Origin)."
        if scope["type"] == "http" and scope.get("method") == "POST" and scope["path"] == "/rpc":
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Send JSON-RPC as application/json."
        return None


def _host_name(host: str) -> str:
    """The name in a Host header, without the port (`[::1]:8765` → `::1`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
