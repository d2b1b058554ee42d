"""A circuit breaker: stop calling an endpoint that keeps failing, probe it again later.

One state machine for both places that call out: the kernel's client guards each transport
with it, and the LLM engine guards the model's endpoint. It lives in the server package because
the kernel side already imports `nlsql_server` (the protocol) and the server never imports the
kernel side.

Hand-written, after looking at pybreaker (the best kept sync library): it times the open state
with the wall clock (`datetime.now`), so neither a clock jump nor a test can move it, lets
every thread through while half-open instead of one probe, and wraps the call itself, raising
its own error on the failure that trips it, where the client needs that failure to fall back to
the next transport. What is needed here is a state machine of about sixty lines with an
injectable monotonic clock, in the spirit of websockets' injectable `backoff()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["CircuitBreaker", "State"]

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """closed → open after `threshold` consecutive failures → half-open after the cool-down.

    Half-open lets exactly one request through (the probe): its success closes the breaker, its
    failure opens it for another cool-down. While open, `allow()` is False and the caller fails
    fast without touching the network. `trip()` opens it at once, whatever the count: for a
    failure that cost a whole time-out, where waiting for `threshold` of them would cost that
    many time-outs.

    `cooldown` is seconds, or a function of the consecutive failures giving them (a backoff:
    the kernel's WebSocket is left alone longer after each failed reconnection).
    """

    def __init__(
        self,
        threshold: int,
        cooldown: float | Callable[[int], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("the breaker threshold must be at least 1 failure")
        self.threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._opened_at = 0.0
        self._open_for = 0.0
        self.consecutive_failures = 0
        self.times_opened = 0

    @property
    def cooldown(self) -> float:
        """Seconds the breaker stays open this time (or would, if it opened now)."""
        with self._lock:
            return self._open_for if self._state != "closed" else self._next_cooldown(1)

    def _next_cooldown(self, failures: int) -> float:
        cooldown = self._cooldown
        return cooldown(failures) if callable(cooldown) else cooldown

    def allow(self) -> bool:
        """Whether a request may use the transport now (taking the probe slot when half-open)."""
        with self._lock:
            if self._state == "closed":
                return True
            if self._state == "open" and self._clock() >= self._opened_at + self._open_for:
                self._state = "half-open"
                return True
            return False  # open and cooling down, or a probe is already in flight

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self.consecutive_failures = 0

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive_failures += 1
            if self._state == "half-open" or self.consecutive_failures >= self.threshold:
                self._open()

    def trip(self) -> None:
        """Open now, whatever the count (the failure counts too)."""
        with self._lock:
            self.consecutive_failures += 1
            self._open()

    def _open(self) -> None:
        if self._state != "open":
            self.times_opened += 1
        self._state = "open"
        self._opened_at = self._clock()
        self._open_for = self._next_cooldown(self.consecutive_failures)

    def release(self) -> None:
        """The request ended without a verdict (interrupted): free the probe slot."""
        with self._lock:
            if self._state == "half-open":
                self._state = "open"  # its cool-down is long past: the next request probes

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        with self._lock:
            if self._state != "open":
                return 0.0
            return max(0.0, self._opened_at + self._open_for - self._clock())

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "threshold": self.threshold,
            "cooldown_s": round(self.cooldown, 3),
            "retry_in_s": round(self.retry_in(), 3),
            "times_opened": self.times_opened,
        }
