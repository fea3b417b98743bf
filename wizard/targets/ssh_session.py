"""One SSH session to the server that holds a backend's .env: its address, settings, host key,
login, and the commands the target runs there (the ``flock`` holder, the restart).

paramiko, not asyncssh: its API is synchronous like ``TokenTarget`` (no event loop to run
inside the GUI's worker threads or the runtime client), its SFTP client speaks OpenSSH's
``posix-rename`` extension (an atomic replace where plain ``rename`` fails on an existing
file), and it reads ``~/.ssh/config``, the agent, key files and known_hosts as OpenSSH does.
Only the host-key decisions are ours: OpenSSH's ``StrictHostKeyChecking=ask`` behaviour
(an unknown key is shown as ``SHA256:…`` and must be confirmed; a changed one is refused
with the file and line to fix), which paramiko leaves to a policy object.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import os
import re
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paramiko

from wizard.core.errors import (
    ChangedHostKeyError,
    InvalidTargetError,
    ServerLoginRefusedError,
    ServerUnreachableError,
    TargetError,
    TargetLockTimeout,
    UnknownHostKeyError,
)
from wizard.core.i18n import _
from wizard.targets import ssh_password

PASSWORD_ENV = "AMOCRM_SSH_PASSWORD"
SCHEME = "ssh://"
DEFAULT_PORT = 22
CONNECT_TIMEOUT = 15.0
COMMAND_TIMEOUT = 30.0
#: How long past its timeout a restart command may take to start before it is abandoned.
PID_GRACE = 10.0
#: Printed before the remote shell's pid, which stream() reads.
PID_MARK = b"amocrm-wizard-pid:"

# Plain names only: a user or host name reaches ssh_config matching and the server's shell,
# where quotes, spaces, `;`, `$` or a leading `-` would mean something else.
_PLAIN_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_PLAIN_HOST = re.compile(r"^(?!-)[A-Za-z0-9.-]{1,253}$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def is_ssh_url(text: str | None) -> bool:
    return bool(text) and str(text).strip().lower().startswith(SCHEME)


def is_plain_user(name: str) -> bool:
    return bool(_PLAIN_USER.match(name))


def is_plain_host(name: str) -> bool:
    if _PLAIN_HOST.match(name):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SshAddress:
    """``ssh://[user@]host[:port]/absolute/path/.env``, checked."""

    host: str
    path: str
    user: str = ""
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{SCHEME}{user}{host}{port}{self.path}"


def parse_ssh_url(text: str) -> SshAddress:
    """The address of a remote .env, or ``InvalidTargetError`` (exit 2) saying what is wrong."""
    raw = text.strip()
    expected = _("Write it as ssh://user@host/absolute/path/.env (the port after a colon, if not 22).")
    if not is_ssh_url(raw):
        raise InvalidTargetError(_("{url} is not an ssh:// address.", url=raw), expected)
    # Before anything else parses it: a password holding "/", "#" or "?" splits the URL in
    # the wrong places, and every later message would show the address as given.
    if _holds_password(raw):
        raise InvalidTargetError(
            _(
                "{url} holds a password; a password never goes on the command line.",
                url=_without_password(raw),
            ),
            _(
                "Remove it from the address and set {env} instead (or type it in the wizard).",
                env=PASSWORD_ENV,
            ),
        )
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidTargetError(
            _("The port in {url} is not a number from 1 to 65535.", url=raw), expected
        ) from exc
    host = parts.hostname or ""
    user = unquote(parts.username or "")
    path = unquote(parts.path)
    if not host:
        raise InvalidTargetError(_("{url} names no server.", url=raw), expected)
    if not is_plain_host(host):
        raise InvalidTargetError(_("“{host}” is not a plain host name.", host=host), expected)
    if user and not is_plain_user(user):
        raise InvalidTargetError(_("“{user}” is not a plain user name.", user=user), expected)
    if parts.query or parts.fragment or not path.startswith("/") or path.endswith("/"):
        raise InvalidTargetError(
            _("{url} does not end with the absolute path of a file.", url=raw),
            expected,
        )
    if "\x00" in path or "\n" in path or "\r" in path:
        raise InvalidTargetError(_("The path in {url} holds a control character.", url=raw), expected)
    if port == 0:
        raise InvalidTargetError(_("The port in {url} is not a number from 1 to 65535.", url=raw), expected)
    return SshAddress(host=host, path=path, user=user, port=port)


# ``user:`` right after the scheme, then anything but a port (digits up to "/" or the end).
_USER_AND_COLON = re.compile(r"^ssh://(?P<user>[^:@/\[\]]*):(?!\d*(?:/|$))", re.IGNORECASE)


def _holds_password(url: str) -> bool:
    """``ssh://user:…@…``, whatever the password holds ("/", "#", "?", "@" included)."""
    return bool(_USER_AND_COLON.match(url)) and "@" in url


def _without_password(url: str) -> str:
    """The URL with everything from the user's colon to the last "@" hidden (the password may
    hold "@" itself; hiding too much is the safe side)."""
    found = _USER_AND_COLON.match(url)
    if not found or "@" not in url:
        return url
    return f"{SCHEME}{found['user']}:…@{url.rsplit('@', 1)[1]}"


def check_fingerprint(text: str) -> str:
    """``--ssh-host-key``: an OpenSSH ``SHA256:…`` fingerprint (exit 2 otherwise)."""
    value = text.strip().rstrip("=")
    if not _FINGERPRINT.match(value):
        raise InvalidTargetError(
            _("“{value}” is not a host key fingerprint.", value=text),
            _("Pass it as OpenSSH prints it, e.g. SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU."),
        )
    return value


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class SshSettings:
    """Where and as whom to log in, after ``~/.ssh/config`` had its say."""

    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]

    @property
    def known_hosts_name(self) -> str:
        """The name known_hosts files the key under (OpenSSH: ``[host]:port`` off port 22)."""
        return self.hostname if self.port == DEFAULT_PORT else f"[{self.hostname}]:{self.port}"

    def __str__(self) -> str:
        port = "" if self.port == DEFAULT_PORT else f":{self.port}"
        return f"{self.user}@{self.hostname}{port}"


def ssh_dir() -> Path:
    return Path.home() / ".ssh"


def resolve_settings(address: SshAddress, key_file: str | None = None) -> SshSettings:
    """The address as OpenSSH would read it: what the URL says wins, then ``~/.ssh/config``."""
    config_file = ssh_dir() / "config"
    found: dict[str, object] = {}
    if config_file.is_file():
        try:
            found = dict(paramiko.SSHConfig.from_path(str(config_file)).lookup(address.host))
        except (OSError, paramiko.ssh_exception.ConfigParseError) as exc:
            raise TargetError(
                _("{file} could not be read: {reason}", file=config_file, reason=exc),
                _("Fix the file, or give user, host and port in the ssh:// address."),
            ) from exc
    try:
        port = address.port or int(str(found.get("port", DEFAULT_PORT)))
    except ValueError as exc:
        raise TargetError(
            _("The Port for {host} in {file} is not a number.", host=address.host, file=config_file),
            _("Fix the file, or give the port in the ssh:// address."),
        ) from exc
    configured = found.get("identityfile", [])
    identity = [str(Path(str(p)).expanduser()) for p in (configured if isinstance(configured, list) else [])]
    keys: list[str] = []
    if key_file:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise InvalidTargetError(
                _("The key file {path} does not exist.", path=path),
                _("Pass the path of a private key, e.g. --ssh-key ~/.ssh/id_ed25519."),
            )
        keys.append(str(path))
    # OpenSSH skips an IdentityFile that is not there; so does the wizard.
    keys += [p for p in identity if Path(p).is_file() and p not in keys]
    return SshSettings(
        hostname=str(found.get("hostname") or address.host),
        port=port,
        user=address.user or str(found.get("user") or "") or getpass.getuser(),
        identity_files=tuple(keys),
    )


# --- host keys ------------------------------------------------------------------------


def known_hosts_file() -> Path:
    return ssh_dir() / "known_hosts"


def _known_hosts_files() -> list[Path]:
    return [p for p in (known_hosts_file(), Path("/etc/ssh/ssh_known_hosts")) if p.is_file()]


def _names_match(field: str, name: str) -> bool:
    for pattern in field.split(","):
        if pattern.startswith("|1|"):
            salt = pattern.split("|")[2]
            if paramiko.HostKeys.hash_host(name, salt) == pattern:
                return True
        elif pattern == name:
            return True
    return False


def recorded_lines(name: str, key_type: str) -> list[tuple[Path, int]]:
    """Where known_hosts records a key for ``name``: the lines of ``key_type`` first."""
    same_type: list[tuple[Path, int]] = []
    other_type: list[tuple[Path, int]] = []
    for file in _known_hosts_files():
        try:
            lines = file.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if len(fields) < 3 or fields[0].startswith(("#", "@")):
                continue
            if _names_match(fields[0], name):
                (same_type if fields[1] == key_type else other_type).append((file, number))
    return same_type + other_type


def remember_host_key(name: str, key: paramiko.PKey) -> None:
    """Append the key to ``~/.ssh/known_hosts`` as ``ssh`` would, every other byte kept."""
    file = known_hosts_file()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as handle:
        lead = b"\n" if handle.tell() and not file.read_bytes().endswith(b"\n") else b""
        handle.write(lead + f"{name} {key.get_name()} {key.get_base64()}\n".encode())


#: Fingerprints the admin confirmed for this process: in the wizard, or through a setup file.
_confirmed: set[str] = set()


def confirm_host_key(fingerprint: str) -> None:
    """Let the unknown server with this ``SHA256:…`` fingerprint in (and into known_hosts)."""
    _confirmed.add(check_fingerprint(fingerprint))


class _ConfirmedOrRefused(paramiko.MissingHostKeyPolicy):
    """An unknown host passes only when the admin named its fingerprint (StrictHostKeyChecking=ask)."""

    def __init__(self, accepted: str | None) -> None:
        self.accepted = accepted

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        fingerprint = key.fingerprint
        if fingerprint.rstrip("=") in {self.accepted, *_confirmed}:
            remember_host_key(hostname, key)
            return
        raise UnknownHostKeyError(
            _(
                "The server {host} is not known yet. "
                "Its host key ({kind}) has the fingerprint {fingerprint}.",
                host=hostname,
                kind=key.get_name(),
                fingerprint=fingerprint,
            ),
            _(
                "Make sure this is your server: compare the fingerprint with the one its administrator "
                "sees (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server). Then pass "
                "--ssh-host-key {fingerprint} or confirm it in the wizard; it is added to {file}.",
                fingerprint=fingerprint,
                file=known_hosts_file(),
            ),
            host=hostname,
            fingerprint=fingerprint,
        )


def _changed_key(settings: SshSettings, error: paramiko.BadHostKeyException) -> ChangedHostKeyError:
    name = settings.known_hosts_name
    key = error.key
    where = recorded_lines(name, key.get_name())
    file, line = where[0] if where else (known_hosts_file(), 0)
    return ChangedHostKeyError(
        _(
            "The host key of {host} has CHANGED: it is now {fingerprint} ({kind}), not the key recorded "
            "in {file} on line {line}. Somebody may be intercepting the connection, or the server was "
            "reinstalled. Nothing was read or written.",
            host=name,
            fingerprint=key.fingerprint,
            kind=key.get_name(),
            file=file,
            line=line,
        ),
        _(
            "Ask the server's administrator whether its key really changed. Only then remove line {line} "
            "from {file} (ssh-keygen -R '{host}') and try again.",
            line=line,
            file=file,
            host=name,
        ),
    )


# --- the session ----------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    status: int
    stdout: str
    stderr: str


class SshSession:
    """A logged-in SSH connection, opened on first use and kept until ``close``."""

    def __init__(
        self,
        address: SshAddress,
        *,
        key_file: str | None = None,
        accept_fingerprint: str | None = None,
        password: str | None = None,
    ) -> None:
        self.address = address
        self.key_file = key_file
        self.accept_fingerprint = check_fingerprint(accept_fingerprint) if accept_fingerprint else None
        self.password = password
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._settings: SshSettings | None = None
        # SFTP requests and channel openings from several threads go through one lock:
        # paramiko's SFTPClient is not meant to be shared without one.
        self.io_lock = threading.RLock()

    @property
    def settings(self) -> SshSettings:
        if self._settings is None:
            self._settings = resolve_settings(self.address, self.key_file)
        return self._settings

    @property
    def server(self) -> str:
        """For messages: ``user@host[:port]``."""
        return str(self.settings)

    def client(self) -> paramiko.SSHClient:
        with self.io_lock:
            if self._client is None or not _alive(self._client):
                self._client = self._connect()
                self._sftp = None
            return self._client

    def sftp(self) -> paramiko.SFTPClient:
        with self.io_lock:
            client = self.client()
            if self._sftp is None:
                try:
                    self._sftp = client.open_sftp()
                except (paramiko.SSHException, OSError) as exc:
                    raise TargetError(
                        _("The server {server} offers no SFTP: {reason}", server=self.server, reason=exc),
                        _("Enable the SFTP subsystem in the server's sshd_config (Subsystem sftp …)."),
                    ) from exc
            return self._sftp

    def _connect(self) -> paramiko.SSHClient:
        password = self.password or ssh_password.typed(str(self.settings))
        try:
            return self._connect_with(password)
        except ServerLoginRefusedError:
            kept = "" if password else ssh_password.remembered(str(self.settings))
            if not kept:
                raise
        return self._connect_with(kept)

    def _connect_with(self, password: str | None) -> paramiko.SSHClient:
        settings = self.settings
        client = paramiko.SSHClient()
        for file in _known_hosts_files():
            try:
                client.load_system_host_keys(str(file))
            except (OSError, paramiko.SSHException) as exc:
                raise TargetError(
                    _("{file} could not be read: {reason}", file=file, reason=exc),
                    _("Fix or move the file, then try again."),
                ) from exc
        client.set_missing_host_key_policy(_ConfirmedOrRefused(self.accept_fingerprint))
        try:
            client.connect(
                settings.hostname,
                port=settings.port,
                username=settings.user,
                password=password or None,
                # paramiko takes a list here too; its stubs say only str.
                key_filename=list(settings.identity_files) or None,  # type: ignore[arg-type]
                timeout=CONNECT_TIMEOUT,
                banner_timeout=CONNECT_TIMEOUT,
                auth_timeout=CONNECT_TIMEOUT,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise _changed_key(settings, exc) from exc
        except paramiko.PasswordRequiredException as exc:
            client.close()
            raise ServerLoginRefusedError(
                _("A key for {server} is protected by a passphrase.", server=settings),
                _("Set {env} to the passphrase, or add the key to ssh-agent.", env=PASSWORD_ENV),
                server=str(settings),
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise ServerLoginRefusedError(
                _(
                    "The server {server} refused the login: no key or password offered was accepted.",
                    server=settings,
                ),
                _(
                    "Check the user name; add your public key to the server's ~/.ssh/authorized_keys, "
                    "pass --ssh-key PATH, or set {env} to the password.",
                    env=PASSWORD_ENV,
                ),
                server=str(settings),
            ) from exc
        except (UnknownHostKeyError, TargetError):
            client.close()
            raise
        except paramiko.SSHException as exc:
            client.close()
            if "No authentication methods available" not in str(exc):
                raise self._unreachable(settings, exc) from exc
            raise ServerLoginRefusedError(
                _("There is no key or password to log in to {server} with.", server=settings),
                _(
                    "Load your key into ssh-agent, put it in ~/.ssh, pass --ssh-key PATH, "
                    "or set {env} to the password.",
                    env=PASSWORD_ENV,
                ),
                server=str(settings),
            ) from exc
        except (OSError, EOFError) as exc:
            client.close()
            raise self._unreachable(settings, exc) from exc
        return client

    def host_fingerprint(self) -> str:
        transport = self.client().get_transport()
        assert transport is not None
        return str(transport.get_remote_server_key().fingerprint)

    # --- commands ---------------------------------------------------------------------

    def _open_channel(self) -> paramiko.Channel:
        with self.io_lock:
            transport = self.client().get_transport()
            try:
                assert transport is not None
                return transport.open_session(timeout=CONNECT_TIMEOUT)
            except (AssertionError, paramiko.SSHException, OSError, EOFError) as exc:
                raise self._lost(exc) from exc

    def run(self, command: str, timeout: float = COMMAND_TIMEOUT) -> CommandResult:
        """``command`` in the user's shell on the server, standard input empty."""
        channel = self._open_channel()
        try:
            channel.settimeout(timeout)
            channel.exec_command(command)
            channel.shutdown_write()
            stdout = channel.makefile("rb").read()
            stderr = channel.makefile_stderr("rb").read()
            status = channel.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost(exc) from exc
        finally:
            channel.close()
        return CommandResult(status, _text(stdout), _text(stderr))

    def stream(self, command: str, timeout: float, write: Callable[[str], None]) -> int | None:
        """Run ``command``, passing its output (both streams) to ``write`` as it comes.

        Returns its exit status, or None when it ran past ``timeout`` seconds: then its whole
        process group is sent SIGTERM (sshd makes every session's shell a group leader).
        """
        channel = self._open_channel()
        deadline = time.monotonic() + timeout
        pending = b""
        pid = ""
        try:
            channel.set_combine_stderr(True)
            channel.settimeout(0.2)
            channel.exec_command(f"echo {PID_MARK.decode()}$$; exec {command}")
            channel.shutdown_write()
            while True:
                # Checked on every turn, not only when the command is silent: one that keeps
                # printing must still be stopped at its deadline.
                now = time.monotonic()
                # Past the deadline, but the shell has not said who it is yet (a slow login):
                # wait a little longer for that, so that the group can still be stopped.
                if now > deadline and (pid or now > deadline + PID_GRACE):
                    self._stop_group(pid)
                    return None
                try:
                    data = channel.recv(32768)
                except TimeoutError:
                    continue
                if not data:
                    break
                if not pid:
                    # The shell's own pid comes after its mark: a login script (~/.ssh/rc, a
                    # .bashrc) may print first, and that is output like the command's.
                    pending += data
                    before, mark, after = pending.partition(PID_MARK)
                    if not mark or b"\n" not in after:
                        continue
                    said, _nl, rest = after.partition(b"\n")
                    pid, data = _text(said).strip(), before + rest
                if data:
                    write(_text(data))
            return channel.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost(exc) from exc
        except BaseException:
            # Ctrl+C (KeyboardInterrupt) or the caller's own failure: a closed channel does not
            # stop a command without a terminal, so its group is stopped before going on.
            self._stop_group(pid)
            raise
        finally:
            channel.close()

    def _stop_group(self, pid: str) -> None:
        if pid.isdigit():
            with contextlib.suppress(TargetError):
                self.run(f"kill -TERM -{pid} 2>/dev/null || kill -TERM {pid}", timeout=10)

    def hold_flock(self, lock_path: str, timeout: float) -> RemoteFlock:
        """Take ``flock`` on ``lock_path`` on the server and keep it until ``release``."""
        seconds = max(1, int(timeout + 0.999))
        script = "echo locked; exec cat >/dev/null"
        command = f"flock -w {seconds} {shlex.quote(lock_path)} -c {shlex.quote(script)}"
        channel = self._open_channel()
        try:
            channel.settimeout(timeout + CONNECT_TIMEOUT)
            channel.exec_command(command)
            received = b""
            while b"locked\n" not in received:
                data = channel.recv(1024)
                if not data:
                    break
                received += data
        except (TimeoutError, paramiko.SSHException, OSError, EOFError) as exc:
            channel.close()
            raise self._lost(exc) from exc
        if b"locked\n" in received:
            return RemoteFlock(channel)
        status = channel.recv_exit_status()
        errors = _text(channel.makefile_stderr("rb").read()).strip()
        channel.close()
        if status == 1 and not errors:
            raise TargetLockTimeout(
                _(
                    "Another program on {server} still holds the lock {path}.",
                    server=self.server,
                    path=lock_path,
                ),
                _("Wait a minute and try again."),
            )
        raise TargetError(
            _(
                "Could not take the lock {path} on {server}: {reason}",
                path=lock_path,
                server=self.server,
                reason=errors or _("flock exited with {status}", status=status),
            ),
            _("Check that the folder is writable and that flock (util-linux) works on the server."),
        )

    @staticmethod
    def _unreachable(settings: SshSettings, exc: BaseException) -> ServerUnreachableError:
        return ServerUnreachableError(
            _(
                "Could not reach the server {host} on port {port}: {reason}",
                host=settings.hostname,
                port=settings.port,
                reason=_reason(exc),
            ),
            _("Check the address and the port, and that the server is on and accepts SSH from here."),
        )

    def _lost(self, exc: BaseException) -> ServerUnreachableError:
        return ServerUnreachableError(
            _("The SSH connection to {server} broke: {reason}", server=self.server, reason=_reason(exc)),
            _("Check the network and the server, then try again. Nothing was changed there."),
        )

    def close(self) -> None:
        with self.io_lock:
            if self._sftp is not None:
                with contextlib.suppress(Exception):
                    self._sftp.close()
            if self._client is not None:
                self._client.close()
            self._sftp = None
            self._client = None


class RemoteFlock:
    """A ``flock`` process on the server holding the lock for as long as its stdin is open."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self._channel = channel

    def release(self) -> None:
        # End of input ends `cat`, so flock exits and drops the lock; waiting for its exit
        # status means the next process finds the lock free as soon as this returns.
        channel = self._channel
        try:
            channel.shutdown_write()
            # Bounded: a connection that died meanwhile ends the remote flock by itself.
            channel.status_event.wait(CONNECT_TIMEOUT)
        except (paramiko.SSHException, OSError, EOFError):
            pass  # a broken connection ends the remote flock anyway
        finally:
            channel.close()


def _alive(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return str(_("the name is not known"))
    if isinstance(exc, socket.timeout | TimeoutError):
        return str(_("no answer in time"))
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError):
        return str(_("the connection was refused"))
    return str(exc) or type(exc).__name__
