"""`HybridClient`: JSON-RPC over WebSocket first, HTTP `POST /rpc` when the WebSocket fails.

The surface is synchronous on purpose: in a kernel the event loop is already running, so the
magic calls plain blocking methods (websockets' sync client, `httpx.Client`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from nlsql_server import protocol
from nlsql_server.breaker import CircuitBreaker

from nlsql_jupyter.client.config import ClientConfig
from nlsql_jupyter.client.gate import ReconnectGate
from nlsql_jupyter.client.stats import TransportStats
from nlsql_jupyter.client.transports import HttpTransport, Transport, WebSocketTransport
from nlsql_jupyter.exceptions import (
    CircuitOpen,
    ProtocolError,
    RequestTimeout,
    ServerUnavailable,
    TransportError,
    from_rpc_error,
)

__all__ = ["CallListener", "HybridClient", "ProgressCallback"]

log = logging.getLogger(__name__)

#: Receives each `ask.progress` event's params: `{request_id, stage, message, elapsed_ms}`.
ProgressCallback = Callable[[dict[str, Any]], None]
#: Told after every `call()`: the method and the error it raised (None when it succeeded).
CallListener = Callable[[str, Exception | None], None]


class HybridClient:
    """Calls the nlsql server's JSON-RPC methods; picks the transport per request.

    Per request: the WebSocket if it is enabled, not backing off after a failure and its
    breaker lets it; if it cannot be opened or drops, the same request goes over HTTP. A failed
    WebSocket is left alone for a backoff delay (exponential, jittered, capped) and reconnected
    by a later request. Each transport also has a circuit breaker (`CircuitBreaker`): after
    `breaker_threshold` consecutive failures it opens, and while every usable transport's
    breaker is open a request fails at once with `CircuitOpen`, touching no socket; after
    `breaker_cooldown` one probe request tries again.

    Errors the server reports are raised as the matching `nlsql_jupyter.exceptions` class;
    `ServerUnavailable` when no transport reached it; `RequestTimeout` when it was reached but
    did not answer in time (never retried: the server is still working on it).
    """

    def __init__(
        self,
        config: ClientConfig | str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = ClientConfig(config) if isinstance(config, str) else config
        self._ids = itertools.count(1)
        self._ws: WebSocketTransport | None = (
            WebSocketTransport(self.config) if self.config.websocket else None
        )
        self._http = HttpTransport(self.config)
        self._gate = ReconnectGate(self.config.backoff, clock)
        self._stats = {"websocket": TransportStats(), "http": TransportStats()}
        self._breakers = {
            name: CircuitBreaker(self.config.breaker_threshold, self.config.breaker_cooldown, clock)
            for name in self._stats
        }
        self._listeners: list[CallListener] = []

    @property
    def url(self) -> str:
        return self.config.url

    # -- the JSON-RPC call -------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Any:
        """Call `method` and return its result; raise the server's error as our exception."""
        try:
            result = self._call(method, params, timeout, on_progress)
        except Exception as exc:
            self._notify(method, exc)
            raise
        self._notify(method, None)
        return result

    def _call(
        self,
        method: str,
        params: dict[str, Any] | None,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> Any:
        if timeout is None:
            timeout = self.config.ask_timeout if method == protocol.ASK else self.config.timeout
        request_id = next(self._ids)
        message = protocol.request(method, params, request_id)
        live = _ProgressRelay(request_id, on_progress)
        response = self._send(message, timeout, live)
        if "error" in response:
            raise from_rpc_error(response["error"])
        if "result" not in response:
            raise ProtocolError(f"response without result or error: {response!r}")
        result = response["result"]
        if on_progress is not None and not live.seen and isinstance(result, dict):
            # HTTP carries no notifications: replay the progress the server returned, if any.
            for event in result.get("progress") or []:
                if isinstance(event, dict):
                    live.deliver(event)
        return result

    def _send(
        self, message: dict[str, Any], timeout: float, live: _ProgressRelay
    ) -> dict[str, Any]:
        if self._ws is not None:
            if self._gate.allow() and self._breakers["websocket"].allow():
                response = self._try(self._ws, message, timeout, live)
                if response is not None:
                    self._gate.record_success()
                    return response
                self._gate.record_failure()
            self._stats["websocket"].fallback()
        http = self._breakers["http"]
        if not http.allow():
            self._stats["http"].reject()
            raise CircuitOpen(
                f"the nlsql server at {self.url} failed {http.threshold} times in a row; "
                f"not trying again for {http.retry_in():.1f} s "
                f"(last error: {self._stats['http'].last_error})",
                url=self.url,
                retry_in_s=round(http.retry_in(), 3),
            )
        recovering = http.consecutive_failures > 0
        response = self._try(self._http, message, timeout, live)
        if response is not None:
            if recovering and self._ws is not None:
                self._gate.record_success()  # the server is back: try the WebSocket again now
            return response
        raise ServerUnavailable(
            f"cannot reach the nlsql server at {self.url} "
            f"({self._stats['http'].last_error or 'no transport answered'})",
            url=self.url,
        )

    def _try(
        self, transport: Transport, message: dict[str, Any], timeout: float, live: _ProgressRelay
    ) -> dict[str, Any] | None:
        """The response, or None when the transport could not deliver (recorded in stats and
        in the transport's breaker)."""
        stats, breaker = self._stats[transport.name], self._breakers[transport.name]
        stats.attempt()
        started = time.perf_counter()
        verdict = False
        try:
            response = transport.call(message, timeout=timeout, notify=live)
            verdict = True
        except RequestTimeout as exc:
            stats.failure(exc)
            breaker.record_failure()
            verdict = True
            raise
        except TransportError as exc:
            log.debug("%s transport failed: %s", transport.name, exc)
            stats.failure(_reason(exc))
            breaker.record_failure()
            verdict = True
            return None
        finally:
            if not verdict:  # interrupted (e.g. KeyboardInterrupt): no verdict on the server
                breaker.release()
        stats.success(time.perf_counter() - started)
        breaker.record_success()
        return response

    # -- convenience -------------------------------------------------------------------------

    def ping(self, *, timeout: float | None = None) -> dict[str, Any]:
        return dict(self.call(protocol.PING, timeout=timeout))

    def databases(self) -> list[dict[str, Any]]:
        return list(self.call(protocol.DATABASES_LIST))

    def ask(
        self,
        question: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Call `ask`; extra keyword params (database, session_id, limit, engine, execute)
        are sent when not None."""
        body = {"question": question, **{k: v for k, v in params.items() if v is not None}}
        return dict(self.call(protocol.ASK, body, timeout=timeout, on_progress=on_progress))

    # -- state -------------------------------------------------------------------------------

    def add_listener(self, listener: CallListener) -> None:
        """Have `listener` told after every `call()` (the picker's status light follows the
        transports this way, without polling the server)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: CallListener) -> None:
        """Stop telling `listener`; one never added is ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, method: str, error: Exception | None) -> None:
        """A failing listener is logged, never fails the request it was told about."""
        for listener in list(self._listeners):
            try:
                listener(method, error)
            except Exception:
                log.warning("call listener failed", exc_info=True)

    def stats(self) -> dict[str, Any]:
        """Per transport: counters, latency p50/p95 (ms), breaker state, last error; and the
        WebSocket's connection state."""
        ws = self._stats["websocket"].as_dict()
        if self._ws is None:
            ws["state"] = "disabled"
        elif self._ws.connected:
            ws["state"] = "connected"
        elif not self._gate.allow():
            ws["state"] = "backing off"
        elif self._breakers["websocket"].state == "open":
            ws["state"] = "breaker open"
        else:
            ws["state"] = "idle"
        ws["retry_in_s"] = round(self._gate.retry_in(), 3) if self._ws is not None else None
        ws["consecutive_failures"] = self._gate.consecutive_failures
        ws["breaker"] = self._breakers["websocket"].as_dict()
        http = self._stats["http"].as_dict()
        http["breaker"] = self._breakers["http"].as_dict()
        return {"url": self.url, "websocket": ws, "http": http}

    @property
    def epoch(self) -> int:
        """Grows whenever the server may have been lost: a transport failed, the WebSocket
        dropped, or HTTP had to open a new connection. `KernelSession` re-sends its session id
        when it changes (see there)."""
        failures = sum(stats.failures for stats in self._stats.values())
        drops = self._http.drops + (self._ws.drops if self._ws is not None else 0)
        return failures + drops

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
        self._http.close()

    def __enter__(self) -> HybridClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HybridClient({self.url!r})"


class _ProgressRelay:
    """Passes this request's `ask.progress` notifications on; a failing callback never fails
    the request (progress is decoration, the answer is what matters)."""

    def __init__(self, request_id: int, callback: ProgressCallback | None) -> None:
        self._request_id = request_id
        self._callback = callback
        self.seen = False

    def __call__(self, notification: dict[str, Any]) -> None:
        if notification.get("method") != protocol.ASK_PROGRESS:
            return
        params = notification.get("params")
        if not isinstance(params, dict):
            return
        if params.get("request_id") not in (self._request_id, str(self._request_id)):
            return
        self.seen = True
        self.deliver(params)

    def deliver(self, event: dict[str, Any]) -> None:
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception:
            log.warning("progress callback failed", exc_info=True)


def _reason(exc: TransportError) -> str:
    return exc.message
