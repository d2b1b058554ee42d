"""The Starlette app: JSON-RPC on `/ws` (with progress notifications) and `POST /rpc`, `/health`.

Transports only move messages; `rpc.respond` does the work, so every transport behaves alike.
A result whose rows are Arrow (`ArrowRows`, for a request that asked) is sent as an Arrow IPC
stream: on `/ws` in binary frames after its response, over `/rpc` as the whole body when the
request accepts it (docs/protocol.md, "Large results").
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

from . import __version__, mcp_server, protocol, rpc, workers
from .auth import TokenMiddleware
from .databases.arrow import ArrowRows
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


def _dumps(content: Any) -> str:
    return json.dumps(content, default=str, ensure_ascii=False)


#: A result with more rows than this is encoded in a worker thread, not on the event loop.
LARGE_RESULT_ROWS = 1000


def _is_large(content: Any) -> bool:
    """Whether encoding `content` (a response, or a batch of them) could hold the event loop."""
    if isinstance(content, list):
        return any(_is_large(item) for item in content)
    result = content.get("result") if isinstance(content, dict) else None
    rows = result.get("rows") if isinstance(result, dict) else None
    return isinstance(rows, list) and len(rows) > LARGE_RESULT_ROWS


#: Rows encoded by one `json.dumps` call of a large result (a few milliseconds each).
SLICE_ROWS = 2000


def _dumps_sliced(content: Any) -> str:
    """`_dumps`, with a result's rows encoded a slice at a time: `json.dumps` holds the GIL for
    the whole call, so one call on a million rows would stall the event loop's thread for
    seconds even from a worker thread; between slices, the loop gets its turn."""
    if isinstance(content, list):
        return "[" + ", ".join(_dumps_sliced(item) for item in content) + "]"
    result = content.get("result") if isinstance(content, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("rows"), list):
        return _dumps(content)
    rows = result["rows"]
    slot = f"\x00rows-{id(rows)}\x00"
    head = _dumps({**content, "result": {**result, "rows": slot}})
    slices = (_dumps(rows[i : i + SLICE_ROWS])[1:-1] for i in range(0, len(rows), SLICE_ROWS))
    return head.replace(_dumps(slot), "[" + ", ".join(slices) + "]", 1)


async def _encode(content: Any) -> str:
    """JSON text of a message: large results are encoded off the event loop."""
    if _is_large(content):
        return await workers.run_result(_dumps_sliced, content)
    return _dumps(content)


def _attached(message: Any) -> ArrowRows | None:
    """The Arrow rows a single response carries, if any."""
    result = message.get("result") if isinstance(message, dict) else None
    rows = result.get("arrow") if isinstance(result, dict) else None
    return rows if isinstance(rows, ArrowRows) else None


def _announced(message: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The response with its Arrow rows replaced by what the client needs to know of them."""
    return {**message, "result": {**message["result"], "arrow": info}}


async def _json(content: Any, status_code: int = 200) -> Response:
    body = await _encode(content)
    return Response(body, status_code=status_code, media_type="application/json")


async def _websocket(websocket: WebSocket) -> None:
    """One connection: each request runs as its own task, counted as one client's queries.

    When the client goes, its requests are cancelled, and with them their statements."""
    services: Services = websocket.app.state.services
    await websocket.accept()
    send_lock = asyncio.Lock()
    tasks: set[asyncio.Task[None]] = set()
    client = object()  # this connection's share of the query pool

    async def send(message: protocol.Reply) -> None:
        rows = _attached(message)
        if rows is not None:
            assert isinstance(message, dict)
            return await send_arrow(message, rows)
        text = await _encode(message)
        async with send_lock:
            await websocket.send_text(text)

    async def send_arrow(message: dict[str, Any], rows: ArrowRows) -> None:
        """The response, then the stream in frames tagged with its id: the lock is taken per
        frame, so other requests' replies may come between them (the tags tell them apart)."""
        stream = memoryview(await workers.run_result(rows.stream))
        step = protocol.ARROW_FRAME_BYTES
        count = max(1, -(-len(stream) // step))
        info = {"rows": rows.num_rows, "frames": count, "bytes": len(stream)}
        text = _dumps(_announced(message, info))
        async with send_lock:
            await websocket.send_text(text)
        for index in range(count):
            frame = protocol.arrow_frame(
                message["id"], index, stream[index * step : (index + 1) * step]
            )
            try:
                async with send_lock:
                    await websocket.send_bytes(frame)
            except WebSocketDisconnect:
                return  # the client went: the rest of the stream has nowhere to go

    async def handle(message: Any) -> None:
        with workers.as_client(client):
            response = await rpc.respond(services, message, send, arrow=True)
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
    accepts_arrow = protocol.ARROW_MEDIA_TYPE in request.headers.get("accept", "")
    with workers.as_client(_http_client(request, message)):
        reply = await rpc.respond(services, message, None, arrow=accepts_arrow)
    if reply is None:
        return Response(status_code=204)
    rows = _attached(reply)
    if rows is None:
        return await _json(reply)
    assert isinstance(reply, dict)
    # The JSON-RPC response travels in the stream's schema metadata: no header size limit.
    envelope = _dumps(_announced(reply, {"rows": rows.num_rows}))
    stream = await workers.run_result(rows.stream, envelope)
    return Response(memoryview(stream), media_type=protocol.ARROW_MEDIA_TYPE)


def _http_client(request: Request, message: Any) -> tuple[str, ...]:
    """Whose share of the query pool an HTTP request draws on: its session's when it names one
    (many kernels on one host each have their own), otherwise its address's."""
    peer = request.client.host if request.client else ""
    params = message.get("params") if isinstance(message, dict) else None
    session = params.get("session_id") if isinstance(params, dict) else None
    return ("http", peer, session) if isinstance(session, str) else ("http", peer)


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


async def _health(request: Request) -> Response:
    return _JsonResponse({"status": "ok", "version": __version__})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every way of serving the app gives uvicorn (`nlsql serve`, the kernel's server).

    No per-message deflate: uvicorn compresses on the event loop, and a 60 MB answer held
    every other client for 4 s; on loopback compression buys nothing.
    """
    return {
        "ws_max_size": settings.max_message_bytes,
        "ws_per_message_deflate": False,
        "timeout_graceful_shutdown": 2,
    }


def create_app(settings: Settings | None = None) -> Starlette:
    """The server app; `settings` default to the `NLSQL_*` environment."""
    settings = settings or Settings()
    services = Services.from_settings(settings)

    # `/mcp` builds the MCP server (and imports the SDK) on its first request. Starlette runs
    # only the host's lifespan, so ours holds the task group the SDK's sessions run in.
    mcp = mcp_server.door(services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        workers.install(settings)
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
