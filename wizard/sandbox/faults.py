"""Injected failures: "the next n requests to this path fail with this status"."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

BodyKind = Literal["html", "json"]

_CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Fault:
    remaining: int
    status: int
    path_prefix: str
    body: BodyKind


def default_body(status: int) -> BodyKind:
    """Gateway errors come from the front proxy as HTML pages; other errors as problem-JSON."""
    return "html" if status in (429, 502, 503, 504) else "json"


@dataclass
class Delay:
    remaining: int
    seconds: float
    path_prefix: str


class FaultInjector:
    """Queued faults, consumed first-come-first-served by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._delays: deque[Delay] = deque()

    def add_delay(self, n: int, seconds: float, path_prefix: str) -> None:
        if n < 0 or seconds < 0:
            raise ValueError("n and seconds must not be negative")
        if n:
            with self._lock:
                self._delays.append(Delay(n, seconds, path_prefix))

    def take_delay(self, path: str) -> float:
        """Seconds this request waits before it is handled (a slow or stalled server)."""
        with self._lock:
            for delay in self._delays:
                if path.startswith(delay.path_prefix) and not path.startswith(_CONTROL_PREFIX):
                    delay.remaining -= 1
                    if delay.remaining == 0:
                        self._delays.remove(delay)
                    return delay.seconds
        return 0.0

    def add(self, n: int, status: int, path_prefix: str, body: BodyKind | None) -> None:
        if n < 0:
            raise ValueError("n must not be negative")
        if not 400 <= status <= 599:
            raise ValueError("an injected failure needs a 4xx or 5xx status")
        if n:
            with self._lock:
                self._faults.append(Fault(n, status, path_prefix, body or default_body(status)))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def take(self, path: str) -> Fault | None:
        """The fault this request must suffer, if any, counting it down."""
        with self._lock:
            for fault in self._faults:
                if self._matches(fault, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _matches(fault: Fault, path: str) -> bool:
        # The control endpoints stay reachable unless a test aims at them explicitly, so that a
        # benchmark can still read /_sandbox/stats while the API is "down".
        if path.startswith(_CONTROL_PREFIX) and not fault.path_prefix.startswith("/_sandbox"):
            return False
        return path.startswith(fault.path_prefix)
