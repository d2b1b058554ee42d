"""Bearer-token check for a server reachable by others (`NLSQL_TOKEN`).

A plain ASGI middleware rather than Starlette's `AuthenticationMiddleware`: that one only
attaches a user and leaves refusing to each endpoint, and the MCP SDK's routes would need
their own guard. Here one place refuses `/rpc`, `/ws` and `/mcp` without the token; `/health`
stays open for load balancers.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from . import protocol
from .protocol import ErrorCode

PROTECTED = ("/rpc", "/ws", "/mcp")


class TokenMiddleware:
    """Refuse protected paths unless `Authorization: Bearer <token>` matches."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not _protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await _unauthorized(send, bool(given))


def _protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED)


async def _unauthorized(send: Send, had_token: bool) -> None:
    message = (
        "The token is not the one this server expects."
        if had_token
        else "This server needs a token: connect with `%nlsql connect URL --token T`."
    )
    await send_refusal(
        send, 401, ErrorCode.UNAUTHORIZED, message, [(b"www-authenticate", b"Bearer")]
    )


async def send_refusal(
    send: Send,
    status: int,
    code: ErrorCode,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer an HTTP request from a middleware with a JSON-RPC error carrying `code`."""
    body: dict[str, Any] = protocol.error(None, protocol.APPLICATION_ERROR, message, {"code": code})
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
