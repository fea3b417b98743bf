"""Core calls off the UI thread: a QThreadPool, and results delivered back on the UI thread.

A job is a plain callable. Its outcome comes back through a relay QObject that lives on
the UI thread, so callbacks always run there. A cancelled job keeps running to its end
(an HTTP request cannot be recalled), but its result is dropped: nothing it produced
reaches a page, and nothing is saved because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from wizard.core.errors import WizardError
from wizard.ui.jobs import unexpected

log = logging.getLogger("amocrm_wizard")

Done = Callable[[Any], None]
Failed = Callable[[WizardError], None]


class _Pending(NamedTuple):
    on_done: Done
    on_error: Failed


class _Relay(QObject):
    """Lives on the UI thread; emitted from pool threads, so its slots run queued."""

    done = Signal(int, object)
    failed = Signal(int, object)


class Worker(QObject):
    #: True while at least one job whose result is still wanted is running.
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._relay = _Relay(self)
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)

    # --- public ---------------------------------------------------------------------

    def submit(self, job: Callable[[], Any], on_done: Done, on_error: Failed) -> int:
        self._next_id += 1
        job_id = self._next_id
        was_busy = self.busy
        self._pending[job_id] = _Pending(on_done, on_error)
        relay = self._relay

        def run() -> None:
            try:
                result = job()
            except WizardError as error:
                relay.failed.emit(job_id, error)
            except Exception as exc:  # a bug or an unexpected library error: still a message
                log.exception("A background job failed")
                relay.failed.emit(job_id, unexpected(exc))
            else:
                relay.done.emit(job_id, result)

        self._pool.start(run)
        if not was_busy:
            self.busy_changed.emit(True)
        return job_id

    def cancel(self, job_id: int | None) -> None:
        """Drop the result of ``job_id`` (no-op when it already finished)."""
        if job_id is not None and self._pending.pop(job_id, None) is not None and not self.busy:
            self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        had = bool(self._pending)
        self._pending.clear()
        if had:
            self.busy_changed.emit(False)

    def is_running(self, job_id: int | None) -> bool:
        return job_id is not None and job_id in self._pending

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait_for_threads(self, msecs: int) -> bool:
        """Let running threads end (their results are dropped if cancelled)."""
        return bool(self._pool.waitForDone(msecs))

    # --- slots ----------------------------------------------------------------------

    @Slot(int, object)
    def _on_done(self, job_id: int, result: object) -> None:
        pending = self._pending.pop(job_id, None)
        if pending is None:
            return  # cancelled: the result is dropped
        if not self.busy:
            self.busy_changed.emit(False)
        pending.on_done(result)

    @Slot(int, object)
    def _on_failed(self, job_id: int, error: object) -> None:
        pending = self._pending.pop(job_id, None)
        if pending is None:
            return
        if not self.busy:
            self.busy_changed.emit(False)
        assert isinstance(error, WizardError)
        pending.on_error(error)
