"""A local file that other programs share, written without changing what it is.

Replacing a file by rename is atomic, but a rename puts a new inode where the old name was,
and that changes what the file is wherever the name is more than a name:

- a mount point (Docker's ``-v ./.env:/app/.env``): the kernel refuses the rename (EBUSY);
- an inode with other names (hard links): they would keep the old text;
- a file whose owner and group the writer cannot give a new inode (a non-root writer of
  another user's file), or whose folder the writer may not change.

Such a file is rewritten in place instead, under the same lock; the torn-write window that
leaves is measured by ``bench/bench_crash_window.py --in-place``. Symbolic links are
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

from wizard.core.errors import NotARegularFileError, TargetError, TargetLockDeniedError, TargetReadError
from wizard.core.i18n import Text, _
from wizard.core.logs import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

NEW_FILE_MODE = 0o600
_POSIX = os.name == "posix"
# Opening never waits (a FIFO with no writer), never adopts a terminal, never follows a
# link swapped in after the path was resolved.
_OPEN_FLAGS = (
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
        if not _may(self.folder, os.W_OK | os.X_OK):
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
    if stat.S_ISDIR(st.st_mode) and given == real:
        return NotARegularFileError(
            _("{path} is a folder, not a file.", path=shown(given)), _("Choose a file name such as .env.")
        )
    message = (
        _("{path} is {kind}, not a regular file.", path=shown(given), kind=kind)
        if given == real
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
        fd = os.open(file.real, os.O_RDONLY | _OPEN_FLAGS)
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
    """Raise ``TargetError`` now if writing ``file`` (and taking its lock) would fail."""
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
    if file.status is not None and not _may(file.real, os.W_OK):
        raise TargetError(_("{path} is read-only.", path=shown(file.given)), _writable_hint(file))
    if file.in_place_reason is None:
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".amocrm-wizard-probe-"):
                pass
        except OSError as exc:
            raise TargetError(
                _("Cannot write in {folder}: {strerror}.", folder=shown(folder), strerror=exc.strerror), fix
            ) from exc
    _check_lock_usable(file)


def _check_lock_usable(file: LocalFile) -> None:
    lock = file.lock_path
    if os.path.lexists(lock):
        if not _may(lock, os.R_OK | os.W_OK):
            raise lock_denied(file)
    elif not _may(file.folder, os.W_OK | os.X_OK):
        raise _lock_cannot_be_created(file)


def lock_denied(file: LocalFile) -> TargetLockDeniedError:
    lock = file.lock_path
    try:
        lock_owner = _user(os.stat(lock).st_uid)
    except OSError:
        lock_owner = "?"
    return TargetLockDeniedError(
        _(
            "The lock file {lock} belongs to {owner}, and {me} may not open it.",
            lock=shown(lock),
            owner=lock_owner,
            me=_me(),
        ),
        _give_lock_hint(file),
    )


def _lock_cannot_be_created(file: LocalFile) -> TargetLockDeniedError:
    return TargetLockDeniedError(
        _(
            "The lock file {lock} does not exist, and {me} may not create files in {folder}.",
            lock=shown(file.lock_path),
            me=_me(),
            folder=shown(file.folder),
        ),
        _give_lock_hint(file),
    )


def _give_lock_hint(file: LocalFile) -> Text:
    uid, gid, mode = _lock_owner(file) if _POSIX else (0, 0, NEW_FILE_MODE)
    return _(
        "Give the lock file to the owner of the .env (it holds no data): "
        "sudo install -m {mode} -o {user} -g {group} /dev/null {lock}",
        mode=f"{mode:o}",
        user=_user(uid),
        group=_group(gid),
        lock=shown(file.lock_path),
    )


def _writable_hint(file: LocalFile) -> Text:
    st = file.status
    owner = _user(st.st_uid) if st is not None else "?"
    return _(
        "Run the command as {owner}, the owner of {path}, or make the file writable.",
        owner=owner,
        path=shown(file.given),
    )


def _permission_hint(exc: OSError, path: Path) -> Text:
    if isinstance(exc, PermissionError):
        try:
            owner = _user(os.stat(path).st_uid)
        except OSError:
            owner = "?"
        return _(
            "Run the command as {owner}, the owner of {path}, or with sudo.", owner=owner, path=shown(path)
        )
    return _("Check the path, then try again.")


# --- the lock file ---------------------------------------------------------------------


def prepare_lock(file: LocalFile) -> None:
    """Create ``<real path>.lock`` so that the .env's owner can always take it, whoever runs
    this: a lock file left as root's by ``sudo`` would lock the backend out for good."""
    if not _POSIX:
        return  # the lock library creates it; Windows has no owner to give it to here
    lock = file.lock_path
    uid, gid, mode = _lock_owner(file)
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, mode)
    except FileExistsError:
        _give_back_existing_lock(file)
        return
    except PermissionError as exc:
        raise _lock_cannot_be_created(file) from exc
    except OSError as exc:
        raise TargetError(
            _("Cannot create the lock file {lock}: {strerror}.", lock=shown(lock), strerror=exc.strerror),
            _("Check the path, then try again."),
        ) from exc
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away
        if _euid() == 0:
            os.fchown(fd, uid, gid)
        elif gid != os.getegid() and gid in os.getgroups():
            with contextlib.suppress(PermissionError):
                os.fchown(fd, -1, gid)
    finally:
        os.close(fd)


def lock_mode(owner: os.stat_result | None) -> int:
    """Read and write for the .env's owner; for its group and others only where they may
    write the .env too (only a writer takes the lock)."""
    if owner is None:
        return NEW_FILE_MODE
    mode = stat.S_IMODE(owner.st_mode)
    return 0o600 | (0o060 if mode & stat.S_IWGRP else 0) | (0o006 if mode & stat.S_IWOTH else 0)


def _lock_owner(file: LocalFile) -> tuple[int, int, int]:
    """Owner, group and mode the lock file should have: the .env's."""
    st = file.status
    if st is None:  # a new .env is ours, and so is its lock
        return _euid(), os.getegid() if _POSIX else 0, NEW_FILE_MODE
    folder = os.stat(file.folder)
    if folder.st_mode & stat.S_ISVTX and folder.st_uid != st.st_uid:
        # In a sticky folder filelock refuses a lock owned by neither its taker nor the
        # folder's owner: the folder's owner keeps it, the .env's group may use it.
        return folder.st_uid, st.st_gid, lock_mode(st) | 0o060
    return st.st_uid, st.st_gid, lock_mode(st)


def _give_back_existing_lock(file: LocalFile) -> None:
    # Heals a lock an earlier root run left behind. Opened without following links, so a
    # link planted in a shared folder cannot make root give away another file.
    if _euid() != 0 or file.status is None:
        return
    uid, gid, mode = _lock_owner(file)
    try:
        fd = os.open(file.lock_path, os.O_RDONLY | _OPEN_FLAGS)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and (st.st_uid, st.st_gid) != (uid, gid):
            os.fchown(fd, uid, gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode) | mode)
    finally:
        os.close(fd)


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
    fd, tmp = tempfile.mkstemp(dir=file.folder, prefix=f".{file.real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if st is not None and _POSIX:
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
        fd = os.open(file.real, os.O_WRONLY | _OPEN_FLAGS)
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
    ``bench/bench_crash_window.py --in-place`` times it.
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
    if not _POSIX:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- who may do what -------------------------------------------------------------------


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
    if not _POSIX:
        return True
    euid = _euid()
    if euid == 0:
        return True
    return st.st_uid == euid and (st.st_gid == os.getegid() or st.st_gid in os.getgroups())


def _may(path: Path, mode: int) -> bool:
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _euid() -> int:
    return os.geteuid() if _POSIX else 0


def _me() -> str:
    if _POSIX:
        return _user(os.geteuid())
    import getpass

    return getpass.getuser()


def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)
