"""Counters that tests and benchmarks read to see what really reached the sandbox."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class SandboxStats:
    """A consistent snapshot: ``stats.refreshes`` and ``stats["refreshes"]`` both work."""

    requests: int = 0  # every HTTP request
    api_calls: int = 0  # requests under /api/, whatever their outcome
    exchanges: int = 0  # successful code exchanges
    refreshes: int = 0  # successful refresh grants
    refresh_attempts: int = 0  # every refresh grant request that reached the token endpoint
    rejected_refresh_replays: int = 0  # an already rotated refresh token presented again
    rate_limited: int = 0  # 429 answers
    injected_failures: int = 0  # answers forced by fail_next
    blocked: int = 0  # 403 "Error happen" answers to a blocked account
    subdomain_lookups: int = 0  # GET /oauth2/account/current/subdomain

    def __getitem__(self, name: str) -> int:
        if name not in _NAMES:
            raise KeyError(name)
        value: int = getattr(self, name)
        return value

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_NAMES = frozenset(f.name for f in fields(SandboxStats))


class StatsCounter:
    """Thread-safe counters behind :class:`SandboxStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_NAMES, 0)

    def bump(self, name: str, by: int = 1) -> None:
        if name not in _NAMES:  # a typo would otherwise count into nowhere
            raise KeyError(name)
        with self._lock:
            self._counts[name] += by

    def snapshot(self) -> SandboxStats:
        with self._lock:
            return SandboxStats(**self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(_NAMES, 0)
