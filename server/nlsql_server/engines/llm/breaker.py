"""A circuit breaker for the LLM endpoint: after repeated failures, stop calling it for a while.

Hand-written (about 40 lines) rather than shared: the kernel-side client's breaker lives in
`nlsql_jupyter`, which the server must not import (the dependency runs the other way, and the
server runs alone), and no breaker library is among the project's dependencies. Thread-safe:
the pipeline calls engines from worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Breaker"]


class Breaker:
    """Closed while calls succeed; open for `reset_after` seconds after `failures` in a row.

    Once that time has passed one trial call goes through (half-open): success closes the
    breaker, failure opens it again for another period.
    """

    def __init__(
        self, failures: int, reset_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self.consecutive_failures = 0
        self._open_until = 0.0

    def retry_in(self) -> float:
        """Seconds until a call may go through (0 when it may go now)."""
        with self._lock:
            return max(0.0, self._open_until - self._clock())

    def allow(self) -> bool:
        return self.retry_in() == 0.0

    def record_success(self) -> None:
        with self._lock:
            self.consecutive_failures = 0
            self._open_until = 0.0

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.failures:
                self._open_until = self._clock() + self.reset_after
