"""One JSON-RPC request, one response, over one transport.

Each transport translates its library's exceptions at this boundary: `TransportError` means
"this transport could not deliver, another may" (the client falls back); `ServerSilent`, one of
them, that the server accepted the connection and then said nothing for the whole wait (a hung
server: each try costs a whole time-out, so the client's breakers open at once);
`RequestTimeout` means the server was reached but did not answer in time (no fallback: it is
still working on it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from nlsql_server.protocol import ARROW_MEDIA_TYPE
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from nlsql_jupyter import __version__
from nlsql_jupyter.client.arrow import METHODS, Frames, announced, read_http
from nlsql_jupyter.client.config import ClientConfig
from nlsql_jupyter.exceptions import ProtocolError, RequestTimeout, TransportError

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpTransport", "Notify", "ServerSilent", "Transport", "WebSocketTransport"]

log = logging.getLogger(__name__)

#: Receives each notification (a JSON-RPC message without `id`) that arrives during a request.
Notify = Callable[[dict[str, Any]], None]

_USER_AGENT = f"nlsql-jupyter/{__version__}"


class ServerSilent(TransportError):
    """The server accepted the connection, then answered nothing (no handshake, no pong, no
    response) for the whole wait. Internal to the client, which raises `ServerUnavailable`."""


class Transport(Protocol):
    """What `HybridClient` needs from a transport."""

    name: str

    def call(
        self, message: dict[str, Any], *, timeout: float, notify: Notify | None = None
    ) -> dict[str, Any]:
        """Send one request and return its response message (result or error), waiting at
        most `timeout` seconds in all."""
        ...

    def close(self) -> None: ...


class WebSocketTransport:
    """JSON-RPC over one long-lived WebSocket (sync client: the kernel's own loop is busy).

    One request at a time (a lock). A response whose id is not the current request's — the late
    answer to a request that timed out or was interrupted — is skipped, so it cannot be taken for
    the next one's; so are binary frames tagged with another id. A response that announces an
    Arrow result is complete once its frames have come (`arrow.Frames`); a connection that ends
    before that is a `TransportError` saying how many came, and the client falls back.

    While a request waits, the server is pinged whenever it said nothing for a third of
    `config.timeout` (`_Liveness`): one that went silent is noticed within `timeout` even while
    a long `ask` runs, and one that is merely slow keeps answering the pings.
    """

    name = "websocket"

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._conn: ClientConnection | None = None
        self._drops = 0

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and conn.close_code is None

    @property
    def drops(self) -> int:
        """Connections lost so far (not closed by us), noticing one that closed meanwhile.

        websockets' background thread marks a connection closed as soon as the server goes, so
        this needs no network: the session layer reads it before a request to learn that the
        server may have restarted.
        """
        conn = self._conn
        if conn is not None and conn.close_code is not None and self._lock.acquire(False):
            try:
                if self._conn is conn:
                    self._drop()
            finally:
                self._lock.release()
        return self._drops

    def call(
        self, message: dict[str, Any], *, timeout: float, notify: Notify | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            # The handshake gets at most half the time a server may stay silent (and half the
            # wait): the HTTP fallback keeps the rest.
            config = self._config
            conn = self._connection(min(config.connect_timeout, config.timeout / 2, timeout / 2))
            try:
                conn.send(json.dumps(message))
            except (ConnectionClosed, OSError) as exc:
                self._drop()
                raise TransportError(f"WebSocket closed: {exc}") from exc
            return self._receive(conn, message.get("id"), deadline, notify)

    def _receive(
        self, conn: ClientConnection, request_id: Any, deadline: float, notify: Notify | None
    ) -> dict[str, Any]:
        liveness = _Liveness(conn, self._config.timeout / 3)
        response: dict[str, Any] | None = None
        frames: Frames | None = None  # the Arrow result announced by `response`, if any
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise RequestTimeout("no answer from the nlsql server in time (WebSocket)")
            try:
                frame = conn.recv(timeout=min(deadline, liveness.check_at) - now)
                liveness.heard()
            except TimeoutError:
                if time.monotonic() < deadline:
                    self._check(liveness)
                continue
            except (ConnectionClosed, OSError) as exc:
                self._drop()
                if frames is not None:
                    raise frames.lost(exc) from exc
                raise TransportError(f"WebSocket closed while waiting: {exc}") from exc
            if isinstance(frame, bytes):
                # Arrow frames of this request complete its response; a late request's go.
                if frames is not None and frames.add(frame) and frames.done:
                    assert response is not None
                    response["result"]["table"] = frames.table()
                    return response
                continue
            try:
                incoming = json.loads(frame)
            except ValueError as exc:
                raise ProtocolError(f"the server sent a frame that is not JSON: {exc}") from exc
            if not isinstance(incoming, dict):
                continue
            if "id" not in incoming:
                if notify is not None:
                    notify(incoming)
                continue
            if incoming["id"] == request_id or (incoming["id"] is None and "error" in incoming):
                info = announced(incoming)
                if info is None:
                    return incoming
                response, frames = incoming, Frames(request_id, info)
                continue
            log.debug("skipping a late response to request %r", incoming["id"])

    def _check(self, liveness: _Liveness) -> None:
        try:
            liveness.check()
        except ServerSilent:
            self._drop()
            raise
        except ConnectionClosed as exc:
            self._drop()
            raise TransportError(f"WebSocket closed while waiting: {exc}") from exc

    def _connection(self, open_timeout: float) -> ClientConnection:
        if self._conn is not None and self._conn.close_code is None:
            return self._conn
        self._drop()
        config = self._config
        try:
            # Entered like `with connect(...) as ws` (what websockets >= 17.1 asks for), but the
            # connection outlives this call: `_drop()` closes it, which is what `__exit__` does.
            self._conn = connect(
                config.ws_url,
                open_timeout=open_timeout,
                ping_interval=None,  # pings go out while a request waits (`_Liveness`)
                close_timeout=config.timeout / 6,  # a hung server never completes the close
                max_size=config.max_message_bytes,
                proxy=None if config.is_loopback else True,
                user_agent_header=_USER_AGENT,
                additional_headers=config.auth_headers,
                compression=None,  # loopback and LAN: deflate costs more than it saves
            ).__enter__()
        except TimeoutError as exc:
            raise ServerSilent(
                f"no answer to the WebSocket handshake at {config.ws_url} in {open_timeout:g} s"
            ) from exc
        except (OSError, WebSocketException) as exc:
            raise TransportError(f"cannot open {config.ws_url}: {_describe(exc)}") from exc
        return self._conn

    def _drop(self, *, lost: bool = True) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._drops += lost
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail in many ways
                log.debug("error closing the WebSocket", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._drop(lost=False)


class _Liveness:
    """Whether the server behind a WebSocket still answers during one request.

    After `quiet` seconds with no frame from it, a ping; at the next check, a pong still
    missing means it went silent (`ServerSilent`): noticed within `2 * quiet`.
    """

    def __init__(self, conn: ClientConnection, quiet: float) -> None:
        self._conn = conn
        self._quiet = quiet
        self._pong: threading.Event | None = None
        self.check_at = time.monotonic() + quiet

    def heard(self) -> None:
        """A frame came: the server is alive."""
        self._pong = None
        self.check_at = time.monotonic() + self._quiet

    def check(self) -> None:
        """Called at `check_at`: ping, or raise `ServerSilent` if the last ping got no pong."""
        if self._pong is not None and not self._pong.is_set():
            raise ServerSilent("the nlsql server stopped answering WebSocket pings")
        self._pong = self._conn.ping()
        self.check_at = time.monotonic() + self._quiet


class HttpTransport:
    """JSON-RPC over `POST /rpc` with a keep-alive `httpx.Client` (thread-safe).

    Progress is not streamed here; the server may return it as `result["progress"]`. The
    `httpx.Client` is made by the first request: the WebSocket answers unless it fails, and
    importing httpx and setting up its TLS context would cost the first answer ~0.15 s.
    """

    name = "http"

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._connections = 0

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                import httpx

                config = self._config
                self._http = httpx.Client(
                    headers={"user-agent": _USER_AGENT, **config.auth_headers},
                    trust_env=not config.is_loopback,
                    timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
                )
            return self._http

    @property
    def drops(self) -> int:
        """TCP connections opened after the first one.

        httpx reconnects silently when a kept-alive connection was closed (by a restarted
        server, or after idling): each new one may face a new server, so the session layer
        re-checks its session then (see `HybridClient.epoch`).
        """
        return max(0, self._connections - 1)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        # httpcore's trace extension: the one place that reports a new TCP connection.
        if event == "connection.connect_tcp.complete":
            self._connections += 1

    def call(
        self, message: dict[str, Any], *, timeout: float, notify: Notify | None = None
    ) -> dict[str, Any]:
        import httpx

        url = self._config.rpc_url
        connect = min(self._config.connect_timeout, timeout)
        params = message.get("params")
        arrow = (
            message.get("method") in METHODS and isinstance(params, dict) and params.get("arrow")
        )
        client = self._client()
        try:
            response = client.post(
                url,
                json=message,
                headers={"accept": f"{ARROW_MEDIA_TYPE}, application/json"} if arrow else None,
                timeout=httpx.Timeout(timeout, connect=connect),
                extensions={"trace": self._trace},
            )
        except httpx.ConnectTimeout as exc:
            raise ServerSilent(f"cannot connect to {url}: timed out after {connect:g} s") from exc
        except httpx.TimeoutException as exc:
            raise RequestTimeout("no answer from the nlsql server in time (HTTP)") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"cannot reach {url}: {_describe(exc)}") from exc
        if response.headers.get("content-type", "").startswith(ARROW_MEDIA_TYPE):
            return read_http(response.content)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
            raise TransportError(f"{url} answered HTTP {response.status_code}, not JSON-RPC")
        return body

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()


def _describe(exc: BaseException) -> str:
    """A short reason for a connection failure, e.g. 'connection refused'."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text
