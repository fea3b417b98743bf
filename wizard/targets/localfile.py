"""A local file that other programs share, written without changing what it is.

Replacing a file by rename is atomic, but a rename puts a new inode where the old name was,
and that changes what the file is wherever the name is more than a name:

- a mount point (Docker's ``-v ./.env:/app/.env``): the kernel refuses the rename (EBUSY);
- an inode with other names (hard links): they would keep the old text;
- a file whose owner and group the writer cannot give a new inode (a non-root writer of
  another user's file), or whose folder the writer may not change.

Such a file is rewritten in place instead, under the same lock; the torn-write window that
leaves is measured by ``bench/bench_crash_window.py``. Symbolic links are
followed: the file they lead to is the one read, written and locked, and the link stays.

The standard library has every step (realpath, stat, rename, fsync); no library chooses
between rename and rewriting in place, so that choice is written here.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from wizard.core.errors import NotARegularFileError, TargetError, TargetReadError
from wizard.core.i18n import Text, _
from wizard.core.logs import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

NEW_FILE_MODE = 0o600
POSIX = os.name == "posix"
# Opening never waits (a FIFO with no writer), never adopts a terminal, never follows a
# link swapped in after the path was resolved.
OPEN_FLAGS = (
    getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# A rename the checks allowed can still meet a mount they did not see (another namespace's
# view, an unreadable /proc): these say so, and the file is then rewritten in place.
_RENAME_REFUSED = {errno.EBUSY, errno.EXDEV}


@dataclass(frozen=True)
class LocalFile:
    """A path as the admin named it, and the regular file it leads to (or will be)."""

    given: Path
    real: Path  # every symbolic link resolved: the file that is read, written and locked
    status: os.stat_result | None  # None while the file does not exist

    @property
    def folder(self) -> Path:
        return self.real.parent

    @property
    def lock_path(self) -> Path:
        return self.real.with_name(self.real.name + ".lock")

    @cached_property
    def in_place_reason(self) -> str | None:
        """Why a rename would change what the file is (for the log), or None when it would not."""
        st = self.status
        if st is None:
            return None
        if st.st_nlink > 1:
            return f"it has {st.st_nlink} hard links"
        if _is_mount_point(self.real, st):
            return "it is a mount point (a bind mount)"
        if not _can_give_back(st):
            return "it belongs to another user"
        if not may(self.folder, os.W_OK | os.X_OK):
            return "its folder is not writable"
        return None


def shown(path: Path | str) -> str:
    """A path for messages and logs: bytes that are not UTF-8 (a Latin-1 folder name) are
    shown as \\xNN instead of breaking the output or the log file."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def locate(path: Path) -> LocalFile:
    """Resolve ``path``; refuse anything but a regular file before it is opened."""
    real = Path(os.path.realpath(path))
    try:
        status: os.stat_result | None = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        status = None  # the folder checks say what is wrong with the folder
    except OSError as exc:
        raise TargetReadError(
            _("Could not reach {path}: {strerror}.", path=shown(path), strerror=exc.strerror),
            _permission_hint(exc, real),
        ) from exc
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise _not_a_file(path, real, status)
    return LocalFile(path, real, status)


def restat(file: LocalFile) -> LocalFile:
    """The same file looked at again (under the lock, just before writing it): a link
    pointed elsewhere meanwhile does not move the write away from the file that is locked."""
    located = locate(file.real)
    return LocalFile(file.given, located.real, located.status)


def _not_a_file(given: Path, real: Path, st: os.stat_result) -> NotARegularFileError:
    kind = _kind(st.st_mode)
    direct = os.path.abspath(given) == str(real)  # no link on the way
    if stat.S_ISDIR(st.st_mode) and direct:
        return NotARegularFileError(
            _("{path} is a folder, not a file.", path=shown(given)), _("Choose a file name such as .env.")
        )
    message = (
        _("{path} is {kind}, not a regular file.", path=shown(given), kind=kind)
        if direct
        else _(
            "{path} leads to {real}, which is {kind}, not a regular file.",
            path=shown(given),
            real=shown(real),
            kind=kind,
        )
    )
    return NotARegularFileError(message, _("Point --env at the backend's .env file itself."))


def _kind(mode: int) -> Text:
    if stat.S_ISDIR(mode):
        return _("a folder")
    if stat.S_ISFIFO(mode):
        return _("a named pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("a special file")


# --- reading ---------------------------------------------------------------------------


def read_bytes(file: LocalFile) -> bytes | None:
    """The file's bytes, or None when it does not exist yet."""
    if file.status is None:
        return None
    try:
        fd = os.open(file.real, os.O_RDONLY | OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TargetReadError(
            _("Could not read {path}: {strerror}.", path=shown(file.given), strerror=exc.strerror),
            _permission_hint(exc, file.real),
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped for something else since locate()
            raise _not_a_file(file.given, file.real, opened)
        return handle.read()


# --- checking, before anything is spent ------------------------------------------------


def check_can_write(file: LocalFile, fix: Text) -> None:
    """Raise ``TargetError`` now if writing ``file`` would fail (its lock: ``lockfile``)."""
    folder = file.folder
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is not None and parent.is_file():
            raise TargetError(
                _(
                    "{folder} is inside a file ({parent}), not a folder.",
                    folder=shown(folder),
                    parent=shown(parent),
                ),
                fix,
            )
        raise TargetError(_("The folder {folder} does not exist.", folder=shown(folder)), fix)
    if not folder.is_dir():
        raise TargetError(_("{folder} is a file, not a folder.", folder=shown(folder)), fix)
    if file.status is not None and not may(file.real, os.W_OK):
        raise TargetError(_("{path} is read-only.", path=shown(file.given)), _writable_hint(file))
    if file.in_place_reason is None:
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".amocrm-wizard-probe-"):
                pass
        except OSError as exc:
            raise TargetError(
                _("Cannot write in {folder}: {strerror}.", folder=shown(folder), strerror=exc.strerror), fix
            ) from exc


def _writable_hint(file: LocalFile) -> Text:
    st = file.status
    owner = user_name(st.st_uid) if st is not None else "?"
    return _(
        "Run the command as {owner}, the owner of {path}, or make the file writable.",
        owner=owner,
        path=shown(file.given),
    )


def _permission_hint(exc: OSError, path: Path) -> Text:
    if isinstance(exc, PermissionError):
        try:
            owner = user_name(os.stat(path).st_uid)
        except OSError:
            owner = "?"
        return _(
            "Run the command as {owner}, the owner of {path}, or with sudo.", owner=owner, path=shown(path)
        )
    return _("Check the path, then try again.")


# --- writing, under the lock -----------------------------------------------------------


def write(file: LocalFile, data: bytes, fix: Text) -> None:
    """Durably put ``data`` in ``file``: by rename where that keeps what the file is,
    otherwise in place."""
    reason = file.in_place_reason
    if reason is None:
        try:
            _replace_by_rename(file, data, fix)
            return
        except _RenameRefused as exc:
            reason = f"the rename was refused ({exc})"
    log.info("Rewriting %s in place: %s.", shown(file.real), reason)
    _rewrite_in_place(file, data, fix)


class _RenameRefused(Exception):
    """The rename would not keep what the file is; rewrite in place instead."""


def _replace_by_rename(file: LocalFile, data: bytes, fix: Text) -> None:
    st = file.status
    try:
        fd, tmp = tempfile.mkstemp(dir=file.folder, prefix=f".{file.real.name}.", suffix=".tmp")
    except PermissionError as exc:  # the folder stopped being writable since the checks
        raise _RenameRefused("no new file can be made in the folder") from exc
    except OSError as exc:
        raise _write_failed(file, exc, fix) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if st is not None and POSIX:
                _give_owner_back(handle.fileno(), st)
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else NEW_FILE_MODE)
        os.replace(tmp, file.real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, _RenameRefused) or (isinstance(exc, OSError) and exc.errno in _RENAME_REFUSED):
            raise _RenameRefused(str(exc)) from exc
        if isinstance(exc, OSError):
            raise _write_failed(file, exc, fix) from exc
        raise
    _fsync_dir(file.folder)


def _give_owner_back(fd: int, st: os.stat_result) -> None:
    if (os.fstat(fd).st_uid, os.fstat(fd).st_gid) == (st.st_uid, st.st_gid):
        return
    try:
        os.fchown(fd, st.st_uid, st.st_gid)
    except PermissionError as exc:  # root without CAP_CHOWN (a user namespace, NFS root_squash)
        raise _RenameRefused("the new file cannot be given the old owner") from exc


def _rewrite_in_place(file: LocalFile, data: bytes, fix: Text) -> None:
    try:
        fd = os.open(file.real, os.O_WRONLY | OPEN_FLAGS)
    except OSError as exc:
        raise _write_failed(file, exc, fix) from exc
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _not_a_file(file.given, file.real, opened)
        overwrite(fd, data)
        os.fsync(fd)
    except OSError as exc:
        raise _write_failed(file, exc, fix) from exc
    finally:
        os.close(fd)


def overwrite(fd: int, data: bytes) -> None:
    """Put ``data`` over the file's old bytes, then cut what is left of them.

    Between the first write and the truncation the file is torn (new bytes, then the tail
    of the old ones when the new text is shorter): that span is the in-place window, and
    ``bench/bench_crash_window.py`` times it.
    """
    view = memoryview(data)
    os.lseek(fd, 0, os.SEEK_SET)
    while view:
        view = view[os.write(fd, view) :]
    os.ftruncate(fd, len(data))


def _write_failed(file: LocalFile, exc: OSError, fix: Text) -> TargetError:
    hint = _writable_hint(file) if isinstance(exc, PermissionError) else fix
    return TargetError(
        _("Could not write {path}: {strerror}.", path=shown(file.given), strerror=exc.strerror), hint
    )


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is; Windows has no directory fsync.
    if not POSIX:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- who may do what (shared with wizard.targets.lockfile) ------------------------------


def _is_mount_point(real: Path, st: os.stat_result) -> bool:
    try:
        if os.stat(real.parent).st_dev != st.st_dev:
            return True
    except OSError:
        return False
    # A bind mount within one filesystem keeps st_dev: only the mount table tells.
    return os.fsencode(real) in _mount_points()


def _mount_points() -> set[bytes]:
    """Every mount point this process sees (Linux's /proc/self/mountinfo; elsewhere none)."""
    try:
        table = Path("/proc/self/mountinfo").read_bytes()
    except OSError:
        return set()
    points = set()
    for line in table.splitlines():
        fields = line.split(b" ")
        if len(fields) > 4:
            points.add(_unescape_mount_path(fields[4]))
    return points


def _unescape_mount_path(raw: bytes) -> bytes:
    # The kernel writes space, tab, newline and backslash in mount paths as \ooo.
    parts = raw.split(b"\\")
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) >= 3 and part[:3].isdigit():
            out.append(bytes([int(part[:3], 8)]) + part[3:])
        else:
            out.append(b"\\" + part)
    return b"".join(out)


def _can_give_back(st: os.stat_result) -> bool:
    """Could a new file of ours be given this file's owner and group?"""
    if not POSIX:
        return True
    writer = euid()
    if writer == 0:
        return True
    return st.st_uid == writer and (st.st_gid == os.getegid() or st.st_gid in os.getgroups())


def may(path: Path, mode: int) -> bool:
    """``os.access`` for the effective user (the one that writes under sudo or setuid)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def euid() -> int:
    return os.geteuid() if POSIX else 0


def me() -> str:
    """The name of the user this process writes as, for messages."""
    if POSIX:
        return user_name(os.geteuid())
    import getpass

    return getpass.getuser()


def user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def group_name(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)
