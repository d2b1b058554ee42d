"""`HybridClient`: JSON-RPC over WebSocket first, HTTP `POST /rpc` when the WebSocket fails.

The surface is synchronous on purpose: in a kernel the event loop is already running, so the
magic calls plain blocking methods (websockets' sync client, `httpx.Client`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nlsql_server import protocol
from nlsql_server.breaker import CircuitBreaker

from nlsql_jupyter.client import arrow
from nlsql_jupyter.client.config import ClientConfig
from nlsql_jupyter.client.stats import TransportStats
from nlsql_jupyter.client.transports import (
    HttpTransport,
    ServerSilent,
    Transport,
    WebSocketTransport,
)
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

    Per request: the WebSocket if it is enabled and its gate lets it; if it cannot be opened
    or drops, the same request goes over HTTP. Each transport has one gate, a
    `CircuitBreaker`: the WebSocket's opens at its first failure for a backoff delay
    (exponential, jittered, capped: HTTP carries requests meanwhile, and a later request
    reconnects); HTTP's opens after `breaker_threshold` consecutive failures for
    `breaker_cooldown` seconds, and while it is open (and the WebSocket's too) a request fails
    at once with `CircuitOpen`, touching no socket. An open gate lets one probe request through
    after its cool-down.

    Time: a call waits at most `timeout` seconds (`ask_timeout` for `ask`) over both
    transports together: the HTTP fallback gets what the WebSocket left, never a fresh wait.
    A server that accepts connections and then says nothing (a hung process or proxy) is
    noticed within `timeout` even during an `ask`, and opens both gates at once: the call
    raises `ServerUnavailable` and the next ones fail fast, instead of each waiting in turn.

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
        self._clock = clock
        self._ids = itertools.count(1)
        self._stats = {"websocket": TransportStats(), "http": TransportStats()}
        self._retired_drops = 0
        self._listeners: list[CallListener] = []
        self._route = self._build(ClientConfig(config) if isinstance(config, str) else config)

    def _build(self, config: ClientConfig) -> _Route:
        return _Route(
            config,
            WebSocketTransport(config) if config.websocket else None,
            HttpTransport(config),
            {
                "websocket": CircuitBreaker(1, config.backoff.delay, self._clock),
                "http": CircuitBreaker(
                    config.breaker_threshold, config.breaker_cooldown, self._clock
                ),
            },
        )

    def reconfigure(self, config: ClientConfig) -> None:
        """Use `config` from the next request on: new transports and gates; the statistics,
        listeners and request ids carry on. Call it between requests (as `%config` does, in a
        cell of its own): the old transports are closed."""
        old, self._route = self._route, self._build(config)
        self._retired_drops += old.drops
        old.close()

    @property
    def config(self) -> ClientConfig:
        return self._route.config

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
        """Call `method` and return its result; raise the server's error as our exception.

        The rows of a large `sql.run` or `ask` result come as Arrow (`ClientConfig.arrow`):
        then `result["table"]` holds them as a `pyarrow.Table` and `rows` is empty."""
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
        route = self._route
        if timeout is None:
            timeout = route.config.ask_timeout if method == protocol.ASK else route.config.timeout
        if route.config.arrow and method in arrow.METHODS:
            params = {"arrow": True, **(params or {})}
        request_id = next(self._ids)
        message = protocol.request(method, params, request_id)
        live = _ProgressRelay(request_id, on_progress)
        response = self._send(route, message, _Wait(timeout, route.config.timeout), live)
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
        self, route: _Route, message: dict[str, Any], wait: _Wait, live: _ProgressRelay
    ) -> dict[str, Any]:
        ws_gate, http_gate = route.gates["websocket"], route.gates["http"]
        if route.ws is not None:
            if ws_gate.allow():
                response = self._try(route, route.ws, message, wait, live)
                if response is not None:
                    return response
            self._stats["websocket"].fallback()
        if not http_gate.allow():
            self._stats["http"].reject()
            raise CircuitOpen(
                f"the nlsql server at {self.url} failed {http_gate.threshold} times in a row "
                f"or stopped answering; not trying again for {http_gate.retry_in():.1f} s "
                f"(last error: {self._stats['http'].last_error})",
                url=self.url,
                retry_in_s=round(http_gate.retry_in(), 3),
            )
        if wait.left() <= 0:
            http_gate.release()  # the WebSocket used the whole wait
            raise self._unavailable(wait)
        recovering = http_gate.consecutive_failures > 0
        response = self._try(route, route.http, message, wait, live)
        if response is None:
            raise self._unavailable(wait)
        if recovering:
            ws_gate.record_success()  # the server is back: try the WebSocket again now
        return response

    def _unavailable(self, wait: _Wait) -> ServerUnavailable:
        if wait.silent:
            reason = f"it accepted the connection but answered nothing in {wait.quiet:g} s"
        else:
            reason = self._stats["http"].last_error or "no transport answered"
        return ServerUnavailable(
            f"cannot reach the nlsql server at {self.url} ({reason})", url=self.url
        )

    def _try(
        self,
        route: _Route,
        transport: Transport,
        message: dict[str, Any],
        wait: _Wait,
        live: _ProgressRelay,
    ) -> dict[str, Any] | None:
        """The response, or None when the transport could not deliver (recorded in stats and
        in the transport's gate; a silent server trips the gate at once)."""
        stats, gate = self._stats[transport.name], route.gates[transport.name]
        stats.attempt()
        started = time.perf_counter()
        # Over HTTP nothing shows the server alive until it answers: a wait that ends in
        # silence means it is hung, unless an `ask` may simply still be running.
        silent_if_late = transport.name == "http" and (
            wait.silent or message.get("method") != protocol.ASK
        )
        verdict = False
        try:
            response = transport.call(
                message, timeout=wait.left(silent=silent_if_late), notify=live
            )
            verdict = True
        except RequestTimeout as exc:
            stats.failure(exc)
            verdict = True
            if not silent_if_late:
                gate.release()  # reached, still working: not held against the server
                raise
            wait.silent = True
            gate.trip()
            return None
        except ServerSilent as exc:
            stats.failure(_reason(exc))
            verdict = True
            wait.silent = True
            gate.trip()
            return None
        except TransportError as exc:
            log.debug("%s transport failed: %s", transport.name, exc)
            stats.failure(_reason(exc))
            gate.record_failure()
            verdict = True
            return None
        finally:
            if not verdict:  # interrupted (e.g. KeyboardInterrupt): no verdict on the server
                gate.release()
        result = response.get("result")
        stats.success(
            time.perf_counter() - started, arrow=isinstance(result, dict) and "table" in result
        )
        gate.record_success()
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
        """Per transport: counters, latency p50/p95 (ms), gate state, last error; and the
        WebSocket's connection state."""
        route = self._route
        ws_gate = route.gates["websocket"]
        ws = self._stats["websocket"].as_dict()
        if route.ws is None:
            ws["state"] = "disabled"
        elif route.ws.connected:
            ws["state"] = "connected"
        elif ws_gate.state != "closed":
            ws["state"] = "backing off"
        else:
            ws["state"] = "idle"
        ws["retry_in_s"] = round(ws_gate.retry_in(), 3) if route.ws is not None else None
        ws["consecutive_failures"] = ws_gate.consecutive_failures
        ws["breaker"] = ws_gate.as_dict()
        http = self._stats["http"].as_dict()
        http["breaker"] = route.gates["http"].as_dict()
        return {"url": self.url, "websocket": ws, "http": http}

    @property
    def epoch(self) -> int:
        """Grows whenever the server may have been lost: a transport failed, the WebSocket
        dropped, or HTTP had to open a new connection. `KernelSession` re-sends its session id
        when it changes (see there)."""
        failures = sum(stats.failures for stats in self._stats.values())
        return failures + self._retired_drops + self._route.drops

    def close(self) -> None:
        self._route.close()

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


@dataclass(frozen=True)
class _Route:
    """One configuration's transports and their gates (swapped whole by `reconfigure`)."""

    config: ClientConfig
    ws: WebSocketTransport | None
    http: HttpTransport
    gates: dict[str, CircuitBreaker]

    @property
    def drops(self) -> int:
        return self.http.drops + (self.ws.drops if self.ws is not None else 0)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.http.close()


class _Wait:
    """One call's time: `total` seconds in all, of which the server may spend at most `quiet`
    silent (once a transport found it silent, the fallback gets only what is left of that)."""

    def __init__(self, total: float, quiet: float) -> None:
        self._started = time.monotonic()
        self.total = total
        self.quiet = min(quiet, total)
        self.silent = False

    def left(self, *, silent: bool = False) -> float:
        limit = self.quiet if silent or self.silent else self.total
        return max(0.0, self._started + limit - time.monotonic())


def _reason(exc: TransportError) -> str:
    return exc.message
