"""The client's configuration as small frozen value objects (the magic's traitlets build these)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Backoff", "ClientConfig"]


@dataclass(frozen=True)
class Backoff:
    """How long to leave the WebSocket alone after it failed `failures` times in a row.

    Exponential (`initial * factor ** (failures - 1)`), capped at `maximum`, with "equal jitter"
    (a random point in the upper half) so many kernels do not reconnect in lockstep. `rng` is
    injectable so tests get exact delays.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    jitter: bool = True
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, failures: int) -> float:
        """Seconds to wait before the next attempt after `failures` consecutive failures."""
        if failures <= 0:
            return 0.0
        base = min(self.maximum, self.initial * self.factor ** (failures - 1))
        if not self.jitter:
            return base
        return base / 2 + self.rng() * base / 2


@dataclass(frozen=True)
class ClientConfig:
    """Where the server is, how long to wait for it, and when to stop trying.

    `url` is the server's base URL (`http://host:port`); the WebSocket URL is derived from it
    (`ws://host:port/ws`). `websocket=False` uses HTTP only (e.g. behind a proxy that blocks
    WebSockets) — then HTTP is the primary transport, not a fallback. The kernel builds this
    from `AskMagics`' traits (see `nlsql_jupyter.magics`), so `%config AskMagics.<name>`
    reaches every field but `url` and `token`.
    """

    url: str
    #: Seconds any call but `ask` may take, WebSocket and HTTP fallback together; also how long
    #: the server may stay silent (no handshake, no pong, no answer) before it is taken for
    #: hung: both transports' breakers then open at once, so the next calls fail fast.
    timeout: float = 30.0
    #: Seconds an `ask` may take while the server shows it is alive (the pipeline may run a
    #: slow query or wait on an LLM).
    ask_timeout: float = 120.0
    #: Seconds to open a connection (TCP connect, WebSocket handshake); the handshake gets at
    #: most half a call's time, leaving the HTTP fallback the rest.
    connect_timeout: float = 5.0
    websocket: bool = True
    ws_path: str = "/ws"
    rpc_path: str = "/rpc"
    #: Largest WebSocket message accepted (results of 10 000 rows exceed websockets' 1 MiB).
    max_message_bytes: int = 256 * 2**20
    #: How long the WebSocket is left alone after failing (HTTP carries requests meanwhile).
    backoff: Backoff = field(default_factory=Backoff)
    #: Consecutive failures of the HTTP transport (the last one tried) that open its breaker:
    #: calls then fail fast with `CircuitOpen`. (The WebSocket's gate opens at its first
    #: failure, for the backoff delay.)
    breaker_threshold: int = 5
    #: Seconds an open HTTP breaker fails fast before one probe request may try again.
    breaker_cooldown: float = 1.0
    #: Ask for the rows of large `sql.run`/`ask` results as Arrow (`arrow: true`): no JSON
    #: detour for a million rows. Off: every result is JSON.
    arrow: bool = True
    #: Sent as `Authorization: Bearer <token>` on HTTP and on the WebSocket handshake.
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"server URL must look like http://host:port, not {self.url!r}")
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if self.breaker_threshold < 1:
            raise ValueError("breaker_threshold must be at least 1")
        for name in ("timeout", "ask_timeout", "connect_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def ws_url(self) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + self.ws_path, "", ""))

    @property
    def rpc_url(self) -> str:
        return self.url + self.rpc_path

    @property
    def is_loopback(self) -> bool:
        """Loopback servers are reached directly, never through an environment proxy."""
        host = urlsplit(self.url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")
