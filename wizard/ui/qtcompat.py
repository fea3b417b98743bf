"""A workaround for a reference-counting bug in PySide6's ``Signal.emit`` (seen in 6.12.0
on CPython 3.11): every ``emit()`` called from Python returns ``True`` without taking a
reference to it, so each call drops one reference that the interpreter owns. After
enough emissions CPython aborts with "bool_dealloc: deallocating True or False".

Every signal this package emits from Python goes through :func:`emit`. On the first
emission it measures whether this PySide6 has the bug and, if so, gives back the
reference each call takes (``Py_IncRef`` through ctypes: the reference must outlive
interpreter shutdown, so no Python container can hold it). Where the bug is absent (or
``True`` is immortal, CPython ≥ 3.12) it does nothing extra. Measuring on first use
keeps ctypes out of the first window's start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _incref_true() -> Callable[[], None]:
    import ctypes

    incref = ctypes.pythonapi.Py_IncRef
    true = ctypes.py_object(True)
    return lambda: incref(true)


def _emit_drops_true() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    dropped = before - sys.getrefcount(True)
    if dropped > 0:
        give_back = _incref_true()
        for _ in range(dropped):
            give_back()
    return dropped >= 8


#: Whether this PySide6 has the bug: None until the first emission measured it.
EMIT_DROPS_TRUE: bool | None = None
_give_back: Callable[[], None] = lambda: None  # noqa: E731


def emit(signal: SignalInstance, *args: Any) -> None:
    global EMIT_DROPS_TRUE, _give_back
    if EMIT_DROPS_TRUE is None:
        EMIT_DROPS_TRUE = _emit_drops_true()
        if EMIT_DROPS_TRUE:
            _give_back = _incref_true()
    signal.emit(*args)
    _give_back()
