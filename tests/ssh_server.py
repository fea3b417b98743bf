"""A real OpenSSH server for the ssh:// target's tests (Debian's ``openssh-server``).

``/usr/sbin/sshd -D`` runs on a free loopback port (never 22) with its own host key, its own
config, its own authorized_keys, and a test user created for it. The wizard under test gets a
home of its own (``client_home``: ``~/.ssh/known_hosts``, a key pair, a config), so the
developer's real ``~/.ssh`` and agent are never involved.

Needs root (to run sshd and to own files as the test user); CI runs as root. Import the fixtures
into a test module: ``from tests.ssh_server import ssh_server, remote  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
#: One system user per test run: a run sets its password, and two runs on one machine (two
#: developers, two worktrees) must not change it under each other. Removed when sshd stops.
USER = f"amocrm-ssh-{os.getpid()}-{secrets.token_hex(2)}"
#: What the test user's ~/.profile exports: only a login shell has it.
PROFILE_MARK = "AMOCRM_TEST_LOGIN_SHELL"

needs_sshd = pytest.mark.skipif(
    not SSHD.exists() or not shutil.which("ssh-keygen") or not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="needs root and Debian's openssh-server (scripts/setup.sh installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> str:
    """A new key pair at ``path``; the public key's line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "amocrm-wizard-test", "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub").read_text()


def fingerprint(public_key_file: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key_file)], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        return pwd.getpwnam(USER)


def _remove_user() -> None:
    # Its last processes (all this run's own: the user is) first, or userdel refuses.
    for _ in range(100):
        found = subprocess.run(["pgrep", "-u", USER], capture_output=True, text=True).stdout.split()
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        # 0: removed; 6: no such user; 12: its home could not be removed entirely.
        if subprocess.run(["userdel", "--remove", USER], capture_output=True).returncode in (0, 6, 12):
            return
        time.sleep(0.05)


@dataclass
class SshServer:
    port: int
    folder: Path  # sshd's own files
    host_key: Path
    user: pwd.struct_passwd
    password: str
    authorized_keys: Path
    process: subprocess.Popen[bytes]

    @property
    def host_fingerprint(self) -> str:
        return fingerprint(Path(f"{self.host_key}.pub"))

    def known_hosts_line(self) -> str:
        kind, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def as_user(self, *command: str) -> list[str]:
        return ["runuser", "-u", USER, "--", *command]


@contextlib.contextmanager
def running_ssh_server() -> Iterator[SshServer]:
    """sshd on a free loopback port, its test user ready; stopped and cleaned up afterwards."""
    user = _ensure_user()
    password = "pw-" + secrets.token_hex(8)
    subprocess.run(["chpasswd"], input=f"{USER}:{password}\n", text=True, check=True)
    profile = Path(user.pw_dir) / ".profile"
    profile.write_text(f"export {PROFILE_MARK}=yes\n")
    os.chown(profile, user.pw_uid, user.pw_gid)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder

    folder = Path(tempfile.mkdtemp(prefix="amocrm-wizard-sshd-"))
    folder.chmod(0o755)
    host_key = folder / "host_ed25519"
    keygen(host_key)
    authorized = folder / "authorized_keys"
    authorized.write_text("")
    authorized.chmod(0o644)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {folder}/sshd.pid
AuthorizedKeysFile {authorized}
AllowUsers {USER}
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitUserEnvironment PATH
Subsystem sftp internal-sftp
LogLevel ERROR
"""
    )
    subprocess.run([str(SSHD), "-t", "-f", str(config)], check=True)
    log = (folder / "sshd.log").open("wb")
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    server = SshServer(port, folder, host_key, user, password, authorized, process)
    try:
        _wait_for_banner(port, process)
        yield server
    finally:
        process.terminate()
        process.wait(10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        _remove_user()


@pytest.fixture(scope="session")
def ssh_server() -> Iterator[SshServer]:
    if not SSHD.exists() or os.geteuid() != 0:
        pytest.skip("needs root and /usr/sbin/sshd (scripts/setup.sh installs openssh-server)")
    with running_ssh_server() as server:
        yield server


def _wait_for_banner(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not answer")


def gone_from_server(pattern: str) -> bool:
    """Whether no process of the test user matches ``pattern`` (waiting a few seconds for the
    last ones to go)."""
    for _ in range(100):
        if subprocess.run(["pgrep", "-u", USER, "-f", pattern], capture_output=True).returncode == 1:
            return True
        time.sleep(0.05)
    return False


@dataclass
class Remote:
    """One test's corner of the server and its own client-side ~/.ssh."""

    server: SshServer
    folder: Path  # on the server, owned by the test user
    home: Path  # the wizard's HOME
    key: Path  # the wizard's private key (authorized on the server)

    @property
    def env_path(self) -> Path:
        return self.folder / ".env"

    @property
    def url(self) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.server.port}{self.env_path}"

    def url_for(self, path: Path | str) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.server.port}{path}"

    @property
    def known_hosts(self) -> Path:
        return self.home / ".ssh" / "known_hosts"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a wizard process that logs in with this test's key."""
        env = dict(os.environ if base is None else base)
        env["HOME"] = str(self.home)
        env.pop("SSH_AUTH_SOCK", None)
        env.pop("AMOCRM_SSH_PASSWORD", None)
        return env

    def write(self, name: str, text: str | bytes, mode: int = 0o600) -> Path:
        """A file in the test's folder on the server, owned by the test user."""
        path = self.folder / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        os.chown(path, self.server.user.pw_uid, self.server.user.pw_gid)
        path.chmod(mode)
        return path


def server_folder(server: SshServer) -> Path:
    """A fresh folder in the test user's home, owned by that user."""
    user = server.user
    folder = Path(tempfile.mkdtemp(prefix="t-", dir=user.pw_dir))
    os.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o755)
    return folder


def client_home(server: SshServer, home: Path) -> Path:
    """A HOME whose ~/.ssh knows the server and holds a key it accepts; the key's path."""
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    key = dot_ssh / "id_ed25519"
    public = keygen(key)
    with server.authorized_keys.open("a") as handle:
        handle.write(public)
    (dot_ssh / "known_hosts").write_text(server.known_hosts_line())
    return key


@pytest.fixture
def remote(ssh_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Remote]:
    """A fresh folder on the server and a client home that knows the server and holds an authorized key.

    In this process, ``HOME`` points at that client home and no agent is reachable.
    """
    folder = server_folder(ssh_server)
    home = tmp_path / "home"
    key = client_home(ssh_server, home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("AMOCRM_SSH_PASSWORD", raising=False)
    try:
        yield Remote(ssh_server, folder, home, key)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
