"""The Starlette app: JSON-RPC on `/ws` (with progress notifications) and `POST /rpc`, `/health`.

Transports only move messages; `rpc.dispatch` does the work, so every transport behaves alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import __version__, mcp_server, protocol, rpc
from .auth import TokenMiddleware
from .exposure import ExposureMiddleware
from .framing import Limits, decode
from .protocol import ErrorCode
from .services import Services
from .settings import Settings

log = logging.getLogger(__name__)


class _JsonResponse(JSONResponse):
    """JSON that also carries what databases return beyond JSON's types (Decimal, bytes, dates)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str, ensure_ascii=False).encode("utf-8")


async def _websocket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    send_lock = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(json.dumps(message, default=str))

    async def handle(message: Any) -> None:
        response = await rpc.dispatch(services, message, send)
        if response is not None:
            await send(response)

    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if text is None:
                await send(
                    protocol.error(
                        None,
                        protocol.INVALID_REQUEST,
                        "Send JSON-RPC as text frames.",
                        {"code": ErrorCode.BINARY_FRAME},
                    )
                )
                continue
            message, failure = decode(text, websocket.app.state.limits)
            if failure is not None:
                await send(failure)
                continue
            # Each request runs as its own task: a long `ask` does not block a `ping`.
            task = asyncio.create_task(handle(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()


async def _rpc(request: Request) -> Response:
    services: Services = request.app.state.services
    limits: Limits = request.app.state.limits
    try:
        body = await _read_body(request, limits.message_bytes)
    except ClientDisconnect:  # gone mid-body: nobody to answer, nothing to log
        return Response(status_code=400)
    message, failure = decode(body, limits)
    if failure is not None:
        status = 413 if failure["error"]["data"]["code"] == ErrorCode.TOO_LARGE else 400
        return _JsonResponse(failure, status_code=status)
    if isinstance(message, list):
        responses = [r for r in [await _rpc_one(services, m) for m in message] if r is not None]
        return _JsonResponse(responses)
    response = await _rpc_one(services, message)
    return _JsonResponse(response) if response is not None else Response(status_code=204)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than one byte past `limit` (a larger one is refused whole by
    `decode` without the rest ever being held in memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b" " * (limit + 1)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


async def _rpc_one(services: Services, message: Any) -> dict[str, Any] | None:
    """One request over HTTP: progress notifications are collected into `result.progress`."""
    progress: list[dict[str, Any]] = []

    async def collect(notification: dict[str, Any]) -> None:
        progress.append(notification["params"])

    response = await rpc.dispatch(services, message, collect)
    if response is not None and progress and isinstance(response.get("result"), dict):
        response["result"]["progress"] = progress
    return response


async def _health(request: Request) -> Response:
    return _JsonResponse({"status": "ok", "version": __version__})


def create_app(settings: Settings | None = None) -> Starlette:
    """The server app; `settings` default to the `NLSQL_*` environment."""
    settings = settings or Settings()
    services = Services.from_settings(settings)

    # `/mcp` builds the MCP server (and imports the SDK) on its first request. Starlette runs
    # only the host's lifespan, so ours holds the task group the SDK's sessions run in.
    mcp = mcp_server.door(services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with mcp.serving():
            yield
        await services.aclose()

    routes: list[Any] = [
        Route("/mcp", mcp),
        Route("/rpc", _rpc, methods=["POST"]),
        Route("/health", _health, methods=["GET"]),
    ]
    if settings.websocket:
        routes.append(WebSocketRoute("/ws", _websocket))
    middleware = [
        Middleware(
            ExposureMiddleware,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        )
    ]
    if settings.token:
        middleware.append(Middleware(TokenMiddleware, token=settings.token))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.services = services
    app.state.limits = Limits(
        settings.max_message_bytes, settings.max_json_depth, settings.max_batch
    )
    return app
