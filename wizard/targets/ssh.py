"""The ``ssh://`` target: the backend's .env on its server, with every promise of a local one.

- Lines the wizard does not own are kept byte for byte (the same pure ``merge`` as the local
  .env target).
- The file is replaced atomically: a temporary file in the same folder, created 0600 with the
  data fsynced, given the old file's owner, group and mode, then OpenSSH's ``posix-rename``.
  Where a rename would change what the file is (another user's file whose owner cannot be
  given back, a file with several hard links), the file is rewritten in place under the lock
  instead, like the local target does; so it is when the rename is refused after the fact (a
  bind mount, which SFTP cannot show), so that a pair amoCRM already issued is never lost.
- The server's processes' own lock: ``flock`` on ``<path>.lock`` is held by a ``flock`` process
  on the server for as long as the wizard reads and writes.
- ``check_writable`` checks everything (the folder, write permission, a regular file, flock)
  before a code or refresh token is spent.

The connection itself (settings, host keys, login) is ``wizard.targets.ssh_session``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import secrets
import shlex
import stat
import threading
from collections.abc import Callable, Iterator

import paramiko
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_OPEN,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_WRITE,
)

from wizard.core.connection import OWNED_KEYS, Connection
from wizard.core.errors import NotARegularFileError, TargetError, TargetLockTimeout
from wizard.core.i18n import Text, _
from wizard.core.logs import LOGGER_NAME
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, HeldSnapshot, SaveReport, TokenTarget
from wizard.targets.envtext import parse_values, save_values, save_verdict
from wizard.targets.localfile import _kind as kind_of
from wizard.targets.ssh_session import PASSWORD_ENV, SshSession, parse_ssh_url

log = logging.getLogger(f"{LOGGER_NAME}.targets.ssh")  # the redacted log file

NEW_FILE_MODE = 0o600
#: Longer than any .env; a bigger file is not the backend's .env.
MAX_SIZE = 1 << 20


class SshEnvTarget(TokenTarget):
    def __init__(
        self,
        url: str,
        *,
        ssh_key: str | None = None,
        ssh_host_key: str | None = None,
        password: str | None = None,
    ) -> None:
        self.address = parse_ssh_url(url)
        self.session = SshSession(
            self.address,
            key_file=ssh_key,
            accept_fingerprint=ssh_host_key,
            password=password if password is not None else os.environ.get(PASSWORD_ENV),
        )
        self._thread_lock = threading.Lock()
        self._flock_checked = False

    @property
    def description(self) -> str:
        return str(self.address)

    def close(self) -> None:
        self.session.close()

    def host_fingerprint(self) -> str:
        """The ``SHA256:…`` fingerprint of the server's host key, as this session checked it."""
        return self.session.host_fingerprint()

    # --- paths ------------------------------------------------------------------------

    def real_path(self) -> str:
        """The file that is read, written and locked: a symbolic link's target, like a local .env."""
        sftp = self.session.sftp()
        path = self.address.path
        with self.session.io_lock:
            try:
                if not stat.S_ISLNK(sftp.lstat(path).st_mode or 0):
                    return path
                return sftp.normalize(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return self._dangling_link_target(sftp, path)
                raise self._cannot("read", path, exc) from exc

    def _dangling_link_target(self, sftp: paramiko.SFTPClient, path: str) -> str:
        try:
            link = sftp.readlink(path)
        except OSError:
            return path  # not a link at all: the file simply does not exist yet
        return posixpath.normpath(posixpath.join(posixpath.dirname(path), link)) if link else path

    # --- reading ----------------------------------------------------------------------

    def _read_text(self, path: str) -> str | None:
        sftp = self.session.sftp()
        with self.session.io_lock:
            # Looked at before it is opened: opening a FIFO blocks the server's SFTP process
            # (and with it every later request), a device may never end.
            if self._regular_file(path) is None:
                return None
            try:
                with sftp.open(path, "rb") as handle:
                    data = handle.read(MAX_SIZE + 1)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return None
                raise self._cannot("read", path, exc) from exc
        if len(data) > MAX_SIZE:
            raise TargetError(
                _("{path} on {server} is larger than 1 MiB: not a .env file.", path=path, server=self.server),
                self._fix(),
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TargetError(
                _("{path} on {server} is not a UTF-8 text file.", path=path, server=self.server),
                _("Choose the backend's .env file."),
            ) from exc

    def _regular_file(self, path: str) -> paramiko.SFTPAttributes | None:
        """What ``path`` (a symbolic link followed) is, or None when nothing is there; anything but
        a regular file is refused (exit 5), as a local .env is, before anything is read or sent."""
        try:
            found = self.session.sftp().stat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise self._cannot("read", path, exc) from exc
        mode = found.st_mode or 0
        if not stat.S_ISREG(mode):
            raise NotARegularFileError(
                _(
                    "{path} on {server} is {kind}, not a regular file.",
                    path=path,
                    server=self.server,
                    kind=kind_of(mode),
                ),
                _("Point --env at the backend's .env file itself."),
            )
        return found

    def read_values(self) -> dict[str, str]:
        text = self._read_text(self.real_path())
        return {} if text is None else parse_values(text)

    # --- checks -----------------------------------------------------------------------

    def plan(self, connection: Connection) -> SaveReport:
        return SaveReport(self.description, OWNED_KEYS)

    def check_writable(self) -> None:
        sftp = self.session.sftp()
        path = self.real_path()
        folder = posixpath.dirname(path) or "/"
        with self.session.io_lock:
            try:
                folder_mode = sftp.stat(folder).st_mode or 0
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise TargetError(
                        _(
                            "The folder {folder} does not exist on {server}.",
                            folder=folder,
                            server=self.server,
                        ),
                        self._fix(),
                    ) from exc
                raise self._cannot("read", folder, exc) from exc
            if not stat.S_ISDIR(folder_mode):
                raise TargetError(
                    _("{folder} on {server} is not a folder.", folder=folder, server=self.server), self._fix()
                )
            # Read whole (a regular file, readable, UTF-8), or refused now rather than overwritten.
            found = self._read_text(path) is not None
            self._probe_folder(sftp, folder)
            if found:
                self._probe_file(sftp, path)
        self._check_flock()

    def _probe_folder(self, sftp: paramiko.SFTPClient, folder: str) -> None:
        probe = posixpath.join(folder, f".amocrm-wizard-probe-{secrets.token_hex(6)}")
        try:
            _create_private(sftp, probe).close()
        except OSError as exc:
            raise TargetError(
                _(
                    "Cannot write in {folder} on {server}: {reason}.",
                    folder=folder,
                    server=self.server,
                    reason=_why(exc),
                ),
                self._fix(),
            ) from exc
        with contextlib.suppress(OSError):
            sftp.remove(probe)

    def _probe_file(self, sftp: paramiko.SFTPClient, path: str) -> None:
        # Opening for append writes nothing and leaves the file's times alone.
        try:
            sftp.open(path, "a").close()
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise TargetError(
                    _("{path} on {server} is read-only.", path=path, server=self.server), self._fix()
                ) from exc
            raise self._cannot("write", path, exc) from exc

    def _check_flock(self) -> None:
        if self._flock_checked:
            return
        found = self.session.run("if command -v flock >/dev/null 2>&1; then echo yes; else echo no; fi")
        # The last line: a login script of the user may print something before it.
        answer = (found.stdout.strip().splitlines() or [""])[-1].strip()
        if answer == "no":
            raise TargetError(
                _(
                    "The server {server} has no flock command, so the .env cannot be locked.",
                    server=self.server,
                ),
                _("Install util-linux on the server (it provides flock), e.g. apt-get install util-linux."),
            )
        if answer != "yes":
            raise TargetError(
                _(
                    "The server {server} runs no commands for this user: {reason}",
                    server=self.server,
                    reason=found.stderr.strip() or found.stdout.strip() or found.status,
                ),
                _("The wizard needs a login shell on the server to lock the .env (flock)."),
            )
        self._flock_checked = True

    # --- locking and writing ----------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Held]:
        self.check_writable()
        if not self._thread_lock.acquire(timeout=timeout):
            raise TargetLockTimeout(
                _("Another amocrm-wizard is still working on {path}.", path=self.description),
                _("Wait a minute and try again."),
            )
        try:
            holder = self.session.hold_flock(self.real_path() + ".lock", timeout)
            try:
                yield HeldSnapshot(self.read_values(), self._write, self._write_verdict)
            finally:
                holder.release()
        finally:
            self._thread_lock.release()

    def _write_verdict(self, verdict: str) -> None:
        """Only the verdict line is added (see ``Held.save_verdict``)."""
        self._save_text(save_verdict, verdict)

    def _write(self, connection: Connection) -> SaveReport:
        self._save_text(save_values, connection.to_values())
        return SaveReport(self.description, OWNED_KEYS)

    def _save_text(self, save: Callable[..., None], what: object) -> None:
        """``save`` (``envtext.save_values`` or ``save_verdict``) merges ``what`` into the file
        on the server, writes it and reads it back: the one way a save reaches the file."""
        path = self.real_path()
        old_text = self._read_text(path)

        def replace(data: bytes) -> None:
            with self.session.io_lock:
                self._replace(path, data, existed=old_text is not None)

        save(old_text, what, write=replace, read_back=lambda: self._read_text(path), where=self.description)

    def _replace(self, path: str, data: bytes, *, existed: bool) -> None:
        sftp = self.session.sftp()
        old = sftp.stat(path) if existed else None
        if old is not None and self._hard_links(path) > 1:
            # A rename would leave the other names with the old tokens: keep the inode.
            log.info("Rewriting %s in place: it has several hard links.", path)
            self._rewrite_or_fail(sftp, path, data)
            return
        tmp = posixpath.join(
            posixpath.dirname(path), f".{posixpath.basename(path)}.{secrets.token_hex(6)}.tmp"
        )
        try:
            with _create_private(sftp, tmp) as handle:
                handle.write(data)
                handle.flush()
                _fsync(sftp, handle)
            if old is not None and not self._give_owner(sftp, tmp, old):
                sftp.remove(tmp)
                self._rewrite_in_place(sftp, path, data)
                return
            sftp.chmod(tmp, stat.S_IMODE(old.st_mode or 0) if old is not None else NEW_FILE_MODE)
            sftp.posix_rename(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                sftp.remove(tmp)
            if old is None:
                raise self._cannot("write", path, exc) from exc
            # A rename the checks allowed can still be refused (a bind mount, which SFTP cannot
            # show): the pair amoCRM already issued is put in place under the lock, not lost.
            log.info("Rewriting %s in place: the rename was refused (%s).", path, exc)
            self._rewrite_or_fail(sftp, path, data)

    def _hard_links(self, path: str) -> int:
        """How many names the file has; SFTP's attributes do not say, so ``stat`` on the server
        does (GNU and BusyBox ``-c``, BSD ``-f``). 1 when it cannot tell: a rename is then tried."""
        quoted = shlex.quote(path)
        found = self.session.run(f"stat -c %h -- {quoted} 2>/dev/null || stat -f %l -- {quoted}")
        # The last line: a login script of the user may print something before it.
        answer = (found.stdout.strip().splitlines() or [""])[-1].strip()
        return int(answer) if answer.isdigit() else 1

    def _rewrite_or_fail(self, sftp: paramiko.SFTPClient, path: str, data: bytes) -> None:
        try:
            self._rewrite_in_place(sftp, path, data)
        except OSError as exc:
            raise self._cannot("write", path, exc) from exc

    @staticmethod
    def _give_owner(sftp: paramiko.SFTPClient, tmp: str, old: paramiko.SFTPAttributes) -> bool:
        """The old file's owner and group on the new one; False when only root could do that."""
        new = sftp.stat(tmp)
        if (new.st_uid, new.st_gid) == (old.st_uid, old.st_gid):
            return True
        try:
            sftp.chown(tmp, old.st_uid or 0, old.st_gid or 0)
        except OSError:
            return False
        return True

    @staticmethod
    def _rewrite_in_place(sftp: paramiko.SFTPClient, path: str, data: bytes) -> None:
        # Another user's file in a folder we may write: a rename would make it ours, so the
        # bytes are replaced where they are (new bytes first, then the tail cut, never empty).
        with sftp.open(path, "r+") as handle:
            handle.write(data)
            handle.flush()
            handle.truncate(len(data))
            _fsync(sftp, handle)

    # --- the backend's restart --------------------------------------------------------

    def run_restart(self, command: str, timeout: float, write: Callable[[str], None]) -> int | None:
        """``command`` on the server through a login shell; its exit status, None on timeout."""
        from shlex import quote

        return self.session.stream(f"sh -lc {quote(command)}", timeout, write)

    # --- messages ---------------------------------------------------------------------

    @property
    def server(self) -> str:
        return self.session.server

    def _fix(self) -> Text:
        return _(
            "Choose a .env file in a folder the SSH user can write to (now: {url}).", url=self.description
        )

    def _cannot(self, verb: str, path: str, exc: OSError) -> TargetError:
        message = (
            _("Could not read {path} on {server}: {reason}.", path=path, server=self.server, reason=_why(exc))
            if verb == "read"
            else _(
                "Could not write {path} on {server}: {reason}.",
                path=path,
                server=self.server,
                reason=_why(exc),
            )
        )
        return TargetError(message, self._fix())


def _why(exc: OSError) -> str:
    if exc.errno == errno.EACCES:
        return str(_("permission denied"))
    if exc.errno == errno.ENOENT:
        return str(_("no such file or folder"))
    return exc.strerror or str(exc) or type(exc).__name__


def _create_private(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPFile:
    """A new file, created 0600 so that no other user can open it before the secrets are in.

    ``SFTPClient.open`` sends no permissions (the server's umask decides), so the OPEN request
    is sent with them here, the way ``open`` itself builds it.
    """
    attributes = paramiko.SFTPAttributes()
    attributes.st_mode = NEW_FILE_MODE
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL
    kind, message = sftp._request(CMD_OPEN, path, flags, attributes)  # type: ignore[attr-defined]
    if kind != CMD_HANDLE or message is None:
        raise OSError(errno.EIO, f"the server did not open {path}")
    return paramiko.SFTPFile(sftp, message.get_binary(), "wb")


def _fsync(sftp: paramiko.SFTPClient, handle: paramiko.SFTPFile) -> None:
    # paramiko has no fsync; OpenSSH's sftp-server offers it as an extension (what
    # `sftp -f` uses). A server without it still gets the rename's atomicity.
    with contextlib.suppress(OSError):
        sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)  # type: ignore[attr-defined]
