"""Per-integration rate limiting, like amoCRM's "7 requests per second per integration"."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key (the integration's client id), refilled at ``rps`` per second.

    The bucket holds ``max(rps, 1)`` requests, so a burst of up to ``rps`` passes and the next one
    within the same second is refused. Real (monotonic) time is used, not the sandbox clock:
    jumping the sandbox clock a day ahead must not hand out a day's worth of requests.
    """

    def __init__(self, rps: float | None) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._rps = self._checked(rps)

    @staticmethod
    def _checked(rps: float | None) -> float | None:
        if rps is not None and rps <= 0:
            raise ValueError("rate_limit must be positive, or None for no limit")
        return rps

    @property
    def rps(self) -> float | None:
        return self._rps

    def set_rate(self, rps: float | None) -> None:
        with self._lock:
            self._rps = self._checked(rps)
            self._buckets.clear()  # a new limit starts every integration with a full bucket

    def allow(self, key: str) -> bool:
        """Take one request from ``key``'s bucket; False means answer 429."""
        with self._lock:
            if self._rps is None:
                return True
            capacity = max(self._rps, 1.0)
            now = time.monotonic()
            bucket = self._buckets.setdefault(key, _Bucket(tokens=capacity, updated=now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * self._rps)
            bucket.updated = now
            if bucket.tokens < 1.0:
                return False
            bucket.tokens -= 1.0
            return True
