"""The .env target: a merge-preserving, atomic writer.

python-dotenv parses the file (its parser keeps each binding's original text, which is
what lets unowned lines survive byte for byte). Only the writing is ours, because no
library replaces keys in place, atomically, while keeping everything else intact.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from wizard.core.connection import OWNED_KEYS, REFRESH_REJECTED, STORED_KEYS, Connection
from wizard.core.errors import ConfigError, TargetError, TargetLockTimeout, VerificationError
from wizard.core.i18n import _
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, SaveReport, TokenTarget

if TYPE_CHECKING:
    from filelock import FileLock

NEW_FILE_MODE = 0o600
# Both python-dotenv and Node's dotenv read a single-quoted value literally, as long as
# it holds no quote and no backslash (python-dotenv unescapes \\ and \' even there).
_SINGLE_QUOTE_SAFE = re.compile(r"^[^'\\\n\r]*$")
_DOUBLE_QUOTE_SAFE = re.compile(r'^[^"\\$\n\r]*$')


def quote(value: str) -> str:
    if _SINGLE_QUOTE_SAFE.match(value):
        return f"'{value}'"
    if _DOUBLE_QUOTE_SAFE.match(value):
        return f'"{value}"'
    raise ConfigError(
        _("A value holds quotes, backslashes or line breaks together, which .env readers disagree on."),
        _("Check that the value was copied correctly."),
    )


class EnvFileTarget(TokenTarget):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        # filelock is re-entrant per object, so it does not exclude threads sharing this
        # target; the threading lock does that, the file lock excludes other processes.
        self._thread_lock = threading.Lock()
        self._file_lock: FileLock | None = None

    def _lock_file(self) -> FileLock:
        # Created on first use: importing filelock costs the read-only commands ~15 ms.
        if self._file_lock is None:
            from filelock import FileLock

            self._file_lock = FileLock(str(self.path) + ".lock", thread_local=False)
        return self._file_lock

    @property
    def description(self) -> str:
        return str(self.path)

    # --- reading ---------------------------------------------------------------------

    def _read_text(self) -> str | None:
        try:
            with open(self.path, encoding="utf-8", newline="") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except IsADirectoryError as exc:
            raise TargetError(
                _("{path} is a folder, not a file.", path=self.path), _("Choose a file name such as .env.")
            ) from exc
        except UnicodeDecodeError as exc:
            raise TargetError(
                _("{path} is not a UTF-8 text file.", path=self.path), _("Choose the backend's .env file.")
            ) from exc
        except OSError as exc:
            raise TargetError(
                _("Could not read {path}: {strerror}.", path=self.path, strerror=exc.strerror),
                _fix_path(self.path),
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
        folder = self.path.parent
        if not folder.exists():
            parent = next((p for p in folder.parents if p.exists()), None)
            if parent is not None and parent.is_file():
                raise TargetError(
                    _("{folder} is inside a file ({parent}), not a folder.", folder=folder, parent=parent),
                    _fix_path(self.path),
                )
            raise TargetError(_("The folder {folder} does not exist.", folder=folder), _fix_path(self.path))
        if not folder.is_dir():
            raise TargetError(_("{folder} is a file, not a folder.", folder=folder), _fix_path(self.path))
        if self.path.is_dir():
            raise TargetError(
                _("{path} is a folder, not a file.", path=self.path), _("Choose a file name such as .env.")
            )
        self._read_text()  # unreadable or not UTF-8: refuse now rather than overwrite it
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".amocrm-wizard-probe-"):
                pass
        except OSError as exc:
            raise TargetError(
                _("Cannot write in {folder}: {strerror}.", folder=folder, strerror=exc.strerror),
                _fix_path(self.path),
            ) from exc
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise TargetError(_("{path} is read-only.", path=self.path), _fix_path(self.path))

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Held]:
        self.check_writable()
        deadline = time.monotonic() + timeout
        from filelock import Timeout

        file_lock = self._lock_file()
        if not self._thread_lock.acquire(timeout=timeout):
            raise self._busy()
        try:
            file_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except Timeout as exc:
            raise self._busy() from exc
        except OSError as exc:
            raise TargetError(
                _("Cannot lock {path}: {strerror}.", path=self.path, strerror=exc.strerror),
                _fix_path(self.path),
            ) from exc
        finally:
            if not file_lock.is_locked:
                self._thread_lock.release()
        try:
            yield _HeldEnvFile(self)
        finally:
            file_lock.release()
            self._thread_lock.release()

    def _busy(self) -> TargetLockTimeout:
        return TargetLockTimeout(
            _("Another amocrm-wizard is still working on {path}.", path=self.path),
            _("Wait a minute and try again."),
        )

    def _write(self, connection: Connection) -> SaveReport:
        values = connection.to_values()
        old_text = self._read_text()
        new_text = merge(old_text or "", values, remove=_absent_verdict(values))
        self._replace_atomically(new_text, existed=old_text is not None)
        self._verify(values)
        return SaveReport(self.description, OWNED_KEYS)

    def _replace_atomically(self, text: str, *, existed: bool) -> None:
        mode = stat.S_IMODE(self.path.stat().st_mode) if existed else NEW_FILE_MODE
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise TargetError(
                _("Could not write {path}: {strerror}.", path=self.path, strerror=exc.strerror),
                _fix_path(self.path),
            ) from exc
        _fsync_dir(self.path.parent)

    def _verify(self, expected: dict[str, str]) -> None:
        got = self.read_values()
        wrong = [k for k in STORED_KEYS if got.get(k, "") != expected.get(k, "")]
        if wrong:
            raise VerificationError(
                _(
                    "After saving, {path} does not read back as written ({join}).",
                    path=self.path,
                    join=", ".join(wrong),
                ),
                _("Another program may be changing the file; close it and try again."),
            )


class _HeldEnvFile(Held):
    def __init__(self, target: EnvFileTarget) -> None:
        self._target = target
        self.stored = target.load()

    def save(self, connection: Connection) -> SaveReport:
        report = self._target._write(connection)
        self.stored = connection
        return report


def parse_values(text: str) -> dict[str, str]:
    """The contract's keys present in .env ``text`` (missing keys are absent, not empty)."""
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {k: v or "" for k, v in values.items() if k in STORED_KEYS}


def _absent_verdict(values: dict[str, str]) -> tuple[str, ...]:
    # A save without a verdict clears one the file may still hold (contract: the next
    # successful connect or refresh deletes it).
    return () if REFRESH_REJECTED in values else (REFRESH_REJECTED,)


def merge(text: str, values: dict[str, str], remove: tuple[str, ...] = ()) -> str:
    """Put ``values`` into .env ``text``: owned keys replaced where they stand, new ones appended;
    the lines of the keys in ``remove`` are dropped.

    Every other byte (comments, blank lines, other keys, their order, line endings) is kept.
    """
    out: list[str] = []
    seen: set[str] = set()
    newline = "\r\n" if "\r\n" in text else "\n"
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.key in remove and not binding.error:
            out.append(_drop_binding(original, binding.key))
            continue
        if binding.key in values and not binding.error:
            out.append(_replace_binding(original, binding.key, values[binding.key]))
            seen.add(binding.key)
        else:
            out.append(original)
    merged = "".join(out)
    missing = [k for k in values if k not in seen]
    if missing:
        if merged and not merged.endswith("\n"):
            merged += newline
        merged += "".join(f"{k}={quote(values[k])}{newline}" for k in missing)
    return merged


def _replace_binding(original: str, key: str, value: str) -> str:
    # The parser hands leading blank lines and "export " to the binding that follows
    # them; keep everything up to "KEY=" and the line ending, swap only the value.
    assignment = re.search(rf"(?:export\s+)?{re.escape(key)}\s*=", original)
    head = original[: assignment.end()] if assignment else f"{key}="
    ending = "\r\n" if original.endswith("\r\n") else "\n" if original.endswith("\n") else ""
    return f"{head}{quote(value)}{ending}"


def _drop_binding(original: str, key: str) -> str:
    # Keep the blank lines the parser attached in front of the binding; drop the rest.
    assignment = re.search(rf"(?:export\s+)?{re.escape(key)}\s*=", original)
    return original[: assignment.start()] if assignment else ""


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is; Windows has no directory fsync.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fix_path(path: Path) -> str:
    return _("Choose a .env file in a folder you can write to (now: {path}).", path=path)
