"""Ctrl+C and the one moment it must wait: between spending a token and saving its successor.

amoCRM rotates the pair the moment it answers a refresh (and spends a code the moment it
answers an exchange). A ``KeyboardInterrupt`` raised between that answer and the save
would lose the only live refresh token, so inside ``deferred_interrupt()`` a SIGINT is
only noted, and raised once the block is done. What was saved is remembered, so the CLI
can say truthfully what a stop left behind.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: Where this process last stored a pair amoCRM issued (only the last: a backend refreshes
#: for months, and the CLI says one place).
_saved_to: str | None = None
_deferring = threading.local()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold back SIGINT until the block ends (main thread only: signals go nowhere else)."""
    if threading.current_thread() is not threading.main_thread() or getattr(_deferring, "on", False):
        yield
        return
    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    _deferring.on = True
    try:
        yield
    finally:
        _deferring.on = False
        signal.signal(signal.SIGINT, previous)
    # Only after a block that completed: an error on its way out already ends the command,
    # and says more truthfully what happened than "Stopped" would.
    if received:
        _deliver(previous)


def _deliver(handler: object) -> None:
    """Do what the SIGINT would have done had it not been held back."""
    if callable(handler):
        handler(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)


def note_saved(where: str) -> None:
    """A pair amoCRM issued is now stored in ``where``."""
    global _saved_to
    _saved_to = where


def saved_to() -> str | None:
    """Where this process last stored a pair amoCRM issued, if it did."""
    return _saved_to
