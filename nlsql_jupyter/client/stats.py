"""Per-transport counters and latency percentiles, for `%nlsql status` and the benchmarks."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

__all__ = ["TransportStats"]


class TransportStats:
    """What one transport did: attempts, successes, failures, fallbacks, latency, last error.

    `fallbacks` counts requests that left this transport for the next one (it failed, or it was
    backing off); `rejected` counts requests failed fast by its open circuit breaker, without
    an attempt; `arrow` counts successes whose rows came as Arrow. Latencies are kept for the
    last `window` successes only.
    """

    def __init__(self, window: int = 1024) -> None:
        self._lock = threading.Lock()
        self.attempts = 0
        self.successes = 0
        self.failures = 0
        self.fallbacks = 0
        self.rejected = 0
        self.arrow = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._latencies: deque[float] = deque(maxlen=window)

    def attempt(self) -> None:
        with self._lock:
            self.attempts += 1

    def success(self, seconds: float, *, arrow: bool = False) -> None:
        with self._lock:
            self.successes += 1
            self.arrow += arrow
            self._latencies.append(seconds * 1000.0)

    def failure(self, error: BaseException | str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = (
                error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            )
            self.last_error_at = time.time()

    def fallback(self) -> None:
        with self._lock:
            self.fallbacks += 1

    def reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            latencies = sorted(self._latencies)
            return {
                "attempts": self.attempts,
                "successes": self.successes,
                "failures": self.failures,
                "fallbacks": self.fallbacks,
                "rejected": self.rejected,
                "arrow": self.arrow,
                "latency_ms": {
                    "p50": _percentile(latencies, 50),
                    "p95": _percentile(latencies, 95),
                    "samples": len(latencies),
                },
                "last_error": self.last_error,
                "last_error_at": self.last_error_at,
            }


def _percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when there is no sample)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)
