"""A workaround for a reference-counting bug in PySide6's ``Signal.emit`` (seen in 6.12.0
on CPython 3.11): every ``emit()`` called from Python returns ``True`` without taking a
reference to it, so each call drops one reference that the interpreter owns. After
enough emissions CPython aborts with "bool_dealloc: deallocating True or False".

Every signal this package emits from Python goes through :func:`emit`. At import it
measures whether this PySide6 has the bug and, if so, gives back the reference each
call takes. Where the bug is absent (or ``True`` is immortal, CPython ≥ 3.12) it does
nothing extra.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _emit_drops_true() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    dropped = before - sys.getrefcount(True)
    if dropped > 0:
        for _ in range(dropped):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return dropped >= 8


EMIT_DROPS_TRUE = _emit_drops_true()


def emit(signal: SignalInstance, *args: Any) -> None:
    signal.emit(*args)
    if EMIT_DROPS_TRUE:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
