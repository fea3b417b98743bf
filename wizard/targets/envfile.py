"""The .env target: the backend's own .env, merged and written without changing what it is.

The text (which keys, which bytes stay) is ``wizard.targets.envtext``; the file (links,
bind mounts, owners) is ``wizard.targets.localfile``, and the lock beside it
``wizard.targets.lockfile``. This module joins them behind ``TokenTarget``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.core.connection import OWNED_KEYS, Connection
from wizard.core.errors import TargetError, TargetLockTimeout, TargetReadError
from wizard.core.i18n import Text, _
from wizard.targets import localfile, lockfile
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, HeldSnapshot, SaveReport, TokenTarget
from wizard.targets.envtext import merge, parse_values, quote, save_values, save_verdict
from wizard.targets.localfile import NEW_FILE_MODE, LocalFile, shown

if TYPE_CHECKING:
    from filelock import FileLock

# parse_values and merge are how other .env-shaped targets (the one over SSH) read and write.
__all__ = ["NEW_FILE_MODE", "EnvFileTarget", "merge", "parse_values", "quote"]


class EnvFileTarget(TokenTarget):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        # filelock is re-entrant per object, so it does not exclude threads sharing this
        # target; the threading lock does that, the file lock excludes other processes.
        self._thread_lock = threading.Lock()
        # One per lock path: a link that is pointed elsewhere (a new release) changes it.
        self._file_locks: dict[Path, FileLock] = {}

    def _lock_file(self, file: LocalFile) -> FileLock:
        # Imported on first use: importing filelock costs the read-only commands ~15 ms.
        from filelock import FileLock

        lock = self._file_locks.get(file.lock_path)
        if lock is None:
            lock = self._file_locks[file.lock_path] = FileLock(str(file.lock_path), thread_local=False)
        return lock

    @property
    def description(self) -> str:
        return shown(self.path)

    # --- reading ---------------------------------------------------------------------

    def _locate(self) -> LocalFile:
        return localfile.locate(self.path)

    def _read_text(self, file: LocalFile | None = None) -> str | None:
        file = file or self._locate()
        data = localfile.read_bytes(file)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise TargetReadError(
                _(
                    "{path} is not UTF-8 text: line {line} holds a byte UTF-8 does not allow "
                    "(the file was probably saved as Windows-1251 or Latin-1).",
                    path=self.description,
                    line=line,
                ),
                _("Save the file as UTF-8 in an editor, then run the command again."),
            ) from exc

    def read_values(self) -> dict[str, str]:
        text = self._read_text()
        return {} if text is None else parse_values(text)

    # --- writing ---------------------------------------------------------------------

    def plan(self, connection: Connection) -> SaveReport:
        # Every value must be writable before a code or refresh token is spent on it:
        # quote() refuses what .env readers would read back differently.
        for value in connection.to_values().values():
            quote(value)
        return SaveReport(self.description, OWNED_KEYS)

    def check_writable(self) -> None:
        file = self._locate()
        localfile.check_can_write(file, _fix_path(self.path))
        lockfile.check_usable(file)
        self._read_text(file)  # unreadable or not UTF-8: refuse now rather than overwrite it

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Held]:
        self.check_writable()
        deadline = time.monotonic() + timeout
        from filelock import Timeout

        file = self._locate()
        lockfile.prepare(file)
        file_lock = self._lock_file(file)
        if not self._thread_lock.acquire(timeout=timeout):
            raise self._busy()
        try:
            file_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except Timeout as exc:
            raise self._busy() from exc
        except PermissionError as exc:
            raise lockfile.denied(file) from exc
        except OSError as exc:
            raise TargetError(
                _("Cannot lock {path}: {strerror}.", path=self.description, strerror=exc.strerror),
                _("Check the path, then try again."),
            ) from exc
        finally:
            if not file_lock.is_locked:
                self._thread_lock.release()
        try:
            yield HeldSnapshot(
                parse_values(self._read_text(file) or ""),
                write=lambda connection: self._write(connection, file),
                write_verdict=lambda verdict: self._write_verdict(verdict, file),
            )
        finally:
            file_lock.release()
            self._thread_lock.release()

    def _busy(self) -> TargetLockTimeout:
        return TargetLockTimeout(
            _("Another amocrm-wizard is still working on {path}.", path=self.description),
            _("Wait a minute and try again."),
        )

    def _write(self, connection: Connection, locked: LocalFile) -> SaveReport:
        self._save_text(save_values, connection.to_values(), locked)
        return SaveReport(self.description, OWNED_KEYS)

    def _write_verdict(self, verdict: str, locked: LocalFile) -> None:
        self._save_text(save_verdict, verdict, locked)

    def _save_text(self, save: Callable[..., None], what: object, locked: LocalFile) -> None:
        """``save`` (``envtext.save_values`` or ``save_verdict``) merges ``what`` into the file,
        writes it and reads it back: the one way a save reaches the file."""
        # The file that is locked, looked at again: whether it can be renamed (a mount, hard
        # links, its owner) is decided on what is there now.
        file = localfile.restat(locked)
        save(
            self._read_text(file),
            what,
            write=lambda data: localfile.write(file, data, _fix_path(self.path)),
            read_back=lambda: self._read_text(localfile.restat(file)),
            where=self.description,
        )


def _fix_path(path: Path) -> Text:
    return _("Choose a .env file in a folder you can write to (now: {path}).", path=shown(path))
