"""When to try the WebSocket again after it failed.

This is the seam where the circuit breaker will go: `HybridClient` only asks `allow()` before
using a transport and reports `record_success()` / `record_failure()` after.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nlsql_jupyter.client.config import Backoff

__all__ = ["ReconnectGate"]


class ReconnectGate:
    """Closed while the transport works; after a failure, shut for a backoff delay.

    While shut, requests go straight to the fallback transport instead of paying a failed
    connection attempt each time; the first request after the delay tries again.
    """

    def __init__(self, backoff: Backoff, clock: Callable[[], float] = time.monotonic) -> None:
        self._backoff = backoff
        self._clock = clock
        self.consecutive_failures = 0
        self._retry_at = 0.0

    def allow(self) -> bool:
        """Whether the transport may be tried now."""
        return self._clock() >= self._retry_at

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self._retry_at = 0.0

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        self._retry_at = self._clock() + self._backoff.delay(self.consecutive_failures)

    def retry_in(self) -> float:
        """Seconds until the transport will be tried again (0 when it may be tried now)."""
        return max(0.0, self._retry_at - self._clock())
