"""The sandbox clock: wall-clock time plus an offset that only moves forward."""

from __future__ import annotations

import threading
import time


class SandboxClock:
    """Judges every expiry in the sandbox (codes, access and refresh tokens).

    Tests jump hours or months ahead with :meth:`advance` instead of sleeping, while real
    seconds keep passing too, so a token also dies on its own if a test really waits.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Sandbox time as a Unix timestamp."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward; going back would resurrect expired tokens, so it is refused."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
