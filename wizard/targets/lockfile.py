"""The lock beside a shared .env (``<real path>.lock``, flock on POSIX), made so that the
.env's owner can always take it, whoever creates it.

filelock takes and releases the lock; what it cannot know is whose the file should be. A lock
file left as root's ``0644`` by ``sudo amocrm-wizard refresh`` locks the backend out for
good, so the lock file is created (or, by root, given back) with the .env's owner and group.
"""

from __future__ import annotations

import contextlib
import os
import stat

from wizard.core.errors import TargetError, TargetLockDeniedError
from wizard.core.i18n import Text, _
from wizard.targets.localfile import (
    NEW_FILE_MODE,
    OPEN_FLAGS,
    POSIX,
    LocalFile,
    euid,
    group_name,
    may,
    me,
    shown,
    user_name,
)


def check_usable(file: LocalFile) -> None:
    """Raise ``TargetLockDeniedError`` now if this user could not take the lock."""
    lock = file.lock_path
    if os.path.lexists(lock):
        if not may(lock, os.R_OK | os.W_OK):
            raise denied(file)
    elif not may(file.folder, os.W_OK | os.X_OK):
        raise cannot_be_created(file)


def denied(file: LocalFile) -> TargetLockDeniedError:
    lock = file.lock_path
    try:
        lock_owner = user_name(os.stat(lock).st_uid)
    except OSError:
        lock_owner = "?"
    return TargetLockDeniedError(
        _(
            "The lock file {lock} belongs to {owner}, and {me} may not open it.",
            lock=shown(lock),
            owner=lock_owner,
            me=me(),
        ),
        _give_lock_hint(file),
    )


def cannot_be_created(file: LocalFile) -> TargetLockDeniedError:
    return TargetLockDeniedError(
        _(
            "The lock file {lock} does not exist, and {me} may not create files in {folder}.",
            lock=shown(file.lock_path),
            me=me(),
            folder=shown(file.folder),
        ),
        _give_lock_hint(file),
    )


def _give_lock_hint(file: LocalFile) -> Text:
    uid, gid, mode = _lock_owner(file) if POSIX else (0, 0, NEW_FILE_MODE)
    return _(
        "Give the lock file to the owner of the .env (it holds no data): "
        "sudo install -m {mode} -o {user} -g {group} /dev/null {lock}",
        mode=f"{mode:o}",
        user=user_name(uid),
        group=group_name(gid),
        lock=shown(file.lock_path),
    )


def prepare(file: LocalFile) -> None:
    """Create the lock file with the .env's owner, group and a mode they can use."""
    if not POSIX:
        return  # the lock library creates it; Windows has no owner to give it to here
    lock = file.lock_path
    uid, gid, mode = _lock_owner(file)
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | OPEN_FLAGS, mode)
    except FileExistsError:
        _give_back_existing_lock(file)
        return
    except PermissionError as exc:
        raise cannot_be_created(file) from exc
    except OSError as exc:
        raise TargetError(
            _("Cannot create the lock file {lock}: {strerror}.", lock=shown(lock), strerror=exc.strerror),
            _("Check the path, then try again."),
        ) from exc
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away
        if euid() == 0:
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
        return euid(), os.getegid() if POSIX else 0, NEW_FILE_MODE
    folder = os.stat(file.folder)
    if folder.st_mode & stat.S_ISVTX and folder.st_uid != st.st_uid:
        # In a sticky folder filelock refuses a lock owned by neither its taker nor the
        # folder's owner: the folder's owner keeps it, the .env's group may use it.
        return folder.st_uid, st.st_gid, lock_mode(st) | 0o060
    return st.st_uid, st.st_gid, lock_mode(st)


def _give_back_existing_lock(file: LocalFile) -> None:
    # Heals a lock an earlier root run left behind. Opened without following links, so a
    # link planted in a shared folder cannot make root give away another file.
    if euid() != 0 or file.status is None:
        return
    uid, gid, mode = _lock_owner(file)
    try:
        fd = os.open(file.lock_path, os.O_RDONLY | OPEN_FLAGS)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and (st.st_uid, st.st_gid) != (uid, gid):
            os.fchown(fd, uid, gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode) | mode)
    finally:
        os.close(fd)
