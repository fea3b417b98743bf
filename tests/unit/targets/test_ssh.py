"""The ssh:// target against a real OpenSSH server on loopback (tests/ssh_server.py).

What is checked is on the server's disk: the bytes, mode and owner of the .env, and that a
lock held by a process on the server is waited for.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers import connect_sandbox
from tests.ssh_server import (
    USER,
    Remote,
    SshServer,
    free_port,
    gone_from_server,
    keygen,
    needs_sshd,
    remote,
    ssh_server,
)
from tests.unit.targets.conftest import MemoryKeyring
from wizard.core.connection import REFRESH_TOKEN
from wizard.core.errors import (
    ChangedHostKeyError,
    InvalidTargetError,
    ServerLoginRefusedError,
    ServerUnreachableError,
    TargetError,
    UnknownHostKeyError,
)
from wizard.runtime.source import TokenSource
from wizard.sandbox import Sandbox
from wizard.targets import open_target, ssh_password
from wizard.targets.ssh import SshEnvTarget
from wizard.targets.ssh_session import parse_ssh_url

__all__ = ["remote", "ssh_server"]  # the fixtures, imported for pytest

ORIGINAL = b"# backend settings\r\nPORT=3000\r\n\r\nexport DB_URL='postgres://x'  # keep me\r\n"


def snapshot(path: Path) -> tuple[bytes, int, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mode, st.st_uid, st.st_gid


# --- addresses (no server) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "user", "host", "port", "path"),
    [
        ("ssh://deploy@example.com/srv/app/.env", "deploy", "example.com", None, "/srv/app/.env"),
        ("ssh://example.com:2222/srv/.env", "", "example.com", 2222, "/srv/.env"),
        ("SSH://u@[::1]:22/x/.env", "u", "::1", 22, "/x/.env"),
        ("ssh://u@host/srv/my%20app/.env", "u", "host", None, "/srv/my app/.env"),
    ],
)
def test_addresses_that_are_accepted(url: str, user: str, host: str, port: int | None, path: str) -> None:
    address = parse_ssh_url(url)
    assert (address.user, address.host, address.port, address.path) == (user, host, port, path)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ssh://u:secret@host/srv/.env", "password"),
        ("ssh://host", "absolute path"),
        ("ssh://host/srv/", "absolute path"),
        ("ssh://host/srv/.env?x=1", "absolute path"),
        ("ssh://u;rm@host/srv/.env", "plain user name"),
        ("ssh://-oProxyCommand=x/srv/.env", "plain host name"),
        ("ssh://host:99999/srv/.env", "port"),
    ],
)
def test_addresses_that_are_refused(url: str, says: str) -> None:
    with pytest.raises(InvalidTargetError) as caught:
        parse_ssh_url(url)
    assert caught.value.exit_code == 2
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "ssh://deploy:s3cr/etPW@host/srv/.env",
        "ssh://deploy:s3cr#etPW@host/srv/.env",
        "ssh://deploy:s3cr?etPW@host/srv/.env",
        "ssh://deploy:s3cr@etPW@host/srv/.env",
        "ssh://deploy:4711@host/srv/.env",
        "ssh://deploy:s3cr:etPW@host:2222/srv/.env",
    ],
)
def test_a_password_in_the_address_is_refused_and_never_shown(url: str) -> None:
    with pytest.raises(InvalidTargetError) as caught:
        parse_ssh_url(url)
    said = f"{caught.value.message} {caught.value.hint}"
    assert caught.value.exit_code == 2
    assert "holds a password" in said and "AMOCRM_SSH_PASSWORD" in said
    assert "ssh://deploy:…@" in said
    for piece in ("s3cr", "etPW", "4711"):
        assert piece not in said


@pytest.mark.parametrize("url", ["ssh://host:2222/srv/a@b/.env", "ssh://u@[::1]:22/srv/.env"])
def test_a_port_or_an_at_sign_in_the_path_is_no_password(url: str) -> None:
    assert str(parse_ssh_url(url)) == url


def test_open_target_picks_the_ssh_target() -> None:
    target = open_target(env="ssh://deploy@example.com:2222/srv/app/.env")
    assert isinstance(target.underlying(), SshEnvTarget)  # behind credentials.Credentials
    assert target.description == "ssh://deploy@example.com:2222/srv/app/.env"


# --- writing on the server ------------------------------------------------------------


@needs_sshd
def test_save_keeps_every_other_byte_the_mode_and_the_owner(remote: Remote, sandbox: Sandbox) -> None:
    path = remote.write(".env", ORIGINAL, mode=0o640)
    target = SshEnvTarget(remote.url)
    connection = connect_sandbox(sandbox)
    report = target.save(connection)

    data = path.read_bytes()
    assert data.startswith(ORIGINAL)
    assert b"\r\nAMOCRM_REFRESH_TOKEN='" in data and b"\n" not in data.replace(b"\r\n", b"")
    st = path.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (
        0o640,
        remote.server.user.pw_uid,
        remote.server.user.pw_gid,
    )
    assert report.target == remote.url
    assert target.load() == connection
    assert sorted(p.name for p in remote.folder.iterdir()) == [".env", ".env.lock"]  # no temporary file left


@needs_sshd
def test_a_save_without_a_verdict_clears_the_one_the_file_held(remote: Remote, sandbox: Sandbox) -> None:
    path = remote.write(".env", ORIGINAL + b"AMOCRM_REFRESH_REJECTED='2026-01-01T00:00:00Z 0123456789ab'\r\n")
    connection = connect_sandbox(sandbox)
    SshEnvTarget(remote.url).save(connection)
    assert b"AMOCRM_REFRESH_REJECTED" not in path.read_bytes()
    assert path.read_bytes().startswith(ORIGINAL)


@needs_sshd
def test_a_new_file_is_readable_by_its_owner_only(remote: Remote, sandbox: Sandbox) -> None:
    SshEnvTarget(remote.url).save(connect_sandbox(sandbox))
    st = remote.env_path.stat()
    assert (st.st_mode & 0o7777, st.st_uid) == (0o600, remote.server.user.pw_uid)


@needs_sshd
def test_another_users_file_is_rewritten_in_place_and_stays_theirs(remote: Remote, sandbox: Sandbox) -> None:
    # root's file in the SSH user's folder: a rename would hand it to the SSH user.
    path = remote.folder / ".env"
    path.write_bytes(ORIGINAL)
    path.chmod(0o666)
    SshEnvTarget(remote.url).save(connect_sandbox(sandbox))
    st = path.stat()
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o666)
    assert path.read_bytes().startswith(ORIGINAL) and b"AMOCRM_ACCESS_TOKEN=" in path.read_bytes()


@needs_sshd
def test_a_file_with_hard_links_keeps_its_inode_and_every_name_sees_the_new_pair(
    remote: Remote, sandbox: Sandbox
) -> None:
    path = remote.write(".env", ORIGINAL, mode=0o640)
    other = remote.folder / "backend.env"
    os.link(path, other)
    connection = connect_sandbox(sandbox)
    SshEnvTarget(remote.url).save(connection)
    assert path.stat().st_ino == other.stat().st_ino and path.stat().st_nlink == 2
    assert other.read_bytes().startswith(ORIGINAL)
    assert f"AMOCRM_REFRESH_TOKEN='{connection.to_values()[REFRESH_TOKEN]}'".encode() in other.read_bytes()


@needs_sshd
def test_a_refused_rename_falls_back_to_a_rewrite_in_place(remote: Remote, sandbox: Sandbox) -> None:
    """A bind-mounted .env (Docker's -v): the rename is refused (EBUSY), which SFTP cannot show
    before; the pair amoCRM issued is written in place rather than lost."""
    source = remote.write("mounted.env", ORIGINAL, mode=0o640)
    mount_point = remote.write(".env", b"")
    mounted = subprocess.run(["mount", "--bind", str(source), str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"this machine refuses a bind mount: {mounted.stderr.decode().strip()}")
    try:
        connection = connect_sandbox(sandbox)
        SshEnvTarget(remote.url).save(connection)
        assert mount_point.stat().st_ino == source.stat().st_ino  # still the mount, not a new file
        data = mount_point.read_bytes()
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)
    assert data == source.read_bytes()
    assert data.startswith(ORIGINAL)
    assert f"AMOCRM_REFRESH_TOKEN='{connection.to_values()[REFRESH_TOKEN]}'".encode() in data
    assert sorted(p.name for p in remote.folder.iterdir()) == [".env", ".env.lock", "mounted.env"]


@needs_sshd
def test_a_symbolic_link_stays_a_link_and_its_file_is_written(remote: Remote, sandbox: Sandbox) -> None:
    real = remote.write("real.env", ORIGINAL)
    link = remote.folder / ".env"
    link.symlink_to("real.env")
    SshEnvTarget(remote.url).save(connect_sandbox(sandbox))
    assert link.is_symlink() and os.readlink(link) == "real.env"
    assert real.read_bytes().startswith(ORIGINAL) and b"AMOCRM_REFRESH_TOKEN=" in real.read_bytes()
    assert (remote.folder / "real.env.lock").exists()


@needs_sshd
def test_a_lock_held_on_the_server_is_waited_for(remote: Remote, sandbox: Sandbox) -> None:
    """A backend that takes the lock, reads, and writes its copy back: a wizard that did not wait
    would have its tokens overwritten by the backend's stale copy."""
    target = SshEnvTarget(remote.url)
    target.save(connect_sandbox(sandbox))
    before = target.load()
    assert before is not None and before.tokens is not None
    env, copy = remote.env_path, remote.folder / "copy"
    script = f"cp {env} {copy}; sleep 2; cp {copy} {env}.new; echo BACKEND_WROTE=1 >> {env}.new; mv {env}.new {env}"
    holder = subprocess.Popen(remote.server.as_user("flock", f"{env}.lock", "-c", script))
    try:
        while not copy.exists():
            assert holder.poll() is None, "the lock holder ended early"
            threading.Event().wait(0.02)
        renewed = TokenSource(target).refresh()
    finally:
        holder.wait(30)
    assert holder.returncode == 0
    text = env.read_text()
    assert "BACKEND_WROTE=1" in text  # the backend's write happened first…
    assert renewed.tokens is not None
    assert f"{REFRESH_TOKEN}='{renewed.tokens.refresh_token}'" in text  # …and the wizard's after it
    assert renewed.tokens.refresh_token != before.tokens.refresh_token


# --- host keys ------------------------------------------------------------------------


@needs_sshd
def test_an_unknown_host_is_refused_with_its_fingerprint_until_it_is_named(
    remote: Remote, ssh_server: SshServer
) -> None:
    remote.known_hosts.write_text("")
    remote.write(".env", ORIGINAL)
    with pytest.raises(UnknownHostKeyError) as caught:
        SshEnvTarget(remote.url).read_values()
    assert caught.value.exit_code == 5
    assert caught.value.fingerprint == ssh_server.host_fingerprint
    assert ssh_server.host_fingerprint in str(caught.value)
    assert remote.known_hosts.read_text() == ""

    with pytest.raises(UnknownHostKeyError):  # another key's fingerprint does not let it in
        SshEnvTarget(remote.url, ssh_host_key="SHA256:" + "A" * 43).read_values()
    assert remote.known_hosts.read_text() == ""

    assert SshEnvTarget(remote.url, ssh_host_key=ssh_server.host_fingerprint).read_values() == {}
    assert remote.known_hosts.read_text() == ssh_server.known_hosts_line()
    assert SshEnvTarget(remote.url).read_values() == {}  # known from now on


@needs_sshd
def test_a_changed_host_key_is_refused_naming_the_file_and_line(
    remote: Remote, ssh_server: SshServer, tmp_path: Path
) -> None:
    keygen(tmp_path / "other")
    kind, blob = (tmp_path / "other.pub").read_text().split()[:2]
    remote.known_hosts.write_text(f"# first line\n[127.0.0.1]:{ssh_server.port} {kind} {blob}\n")
    before = remote.known_hosts.read_bytes()
    path = remote.write(".env", ORIGINAL)
    for named in (None, ssh_server.host_fingerprint):  # naming the new key does not help
        with pytest.raises(ChangedHostKeyError) as caught:
            SshEnvTarget(remote.url, ssh_host_key=named).read_values()
        message = str(caught.value)
        assert caught.value.exit_code == 5
        assert "CHANGED" in message and f"{remote.known_hosts} on line 2" in message
        assert ssh_server.host_fingerprint in message
    assert remote.known_hosts.read_bytes() == before
    assert path.read_bytes() == ORIGINAL


# --- logging in -----------------------------------------------------------------------


@needs_sshd
def test_a_password_from_the_environment_logs_in_and_a_wrong_one_is_refused(
    remote: Remote, ssh_server: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.key.unlink()  # no key: only the password can log in
    remote.write(".env", ORIGINAL)
    monkeypatch.setenv("AMOCRM_SSH_PASSWORD", "wrong-" + ssh_server.password)
    with pytest.raises(ServerLoginRefusedError) as caught:
        SshEnvTarget(remote.url).read_values()
    assert caught.value.exit_code == 5 and "AMOCRM_SSH_PASSWORD" in str(caught.value)
    assert ssh_server.password not in str(caught.value)
    monkeypatch.setenv("AMOCRM_SSH_PASSWORD", ssh_server.password)
    assert SshEnvTarget(remote.url).read_values() == {}


@needs_sshd
def test_ssh_config_names_host_port_user_and_key(
    remote: Remote, ssh_server: SshServer, sandbox: Sandbox
) -> None:
    key = remote.home / "deploy-key"
    remote.key.rename(key)
    remote.key.with_suffix(".pub").unlink(missing_ok=True)
    (remote.home / ".ssh" / "config").write_text(
        f"Host backend\n  HostName 127.0.0.1\n  Port {ssh_server.port}\n  User {USER}\n  IdentityFile {key}\n"
    )
    target = SshEnvTarget(f"ssh://backend{remote.env_path}")
    target.save(connect_sandbox(sandbox))
    assert remote.env_path.stat().st_uid == ssh_server.user.pw_uid


@needs_sshd
def test_an_explicit_key_file_logs_in(remote: Remote, tmp_path: Path) -> None:
    key = tmp_path / "elsewhere"
    remote.key.rename(key)
    with pytest.raises(ServerLoginRefusedError):
        SshEnvTarget(remote.url).read_values()
    assert SshEnvTarget(remote.url, ssh_key=str(key)).read_values() == {}


def test_a_missing_key_file_is_bad_input() -> None:
    with pytest.raises(InvalidTargetError, match="does not exist"):
        SshEnvTarget("ssh://u@127.0.0.1/srv/.env", ssh_key="/nonexistent/key").read_values()


@needs_sshd
def test_an_unreachable_server(remote: Remote) -> None:
    with pytest.raises(ServerUnreachableError) as caught:
        SshEnvTarget(f"ssh://{USER}@127.0.0.1:{free_port()}/srv/.env").read_values()
    assert caught.value.exit_code == 5 and "refused" in str(caught.value)


# --- checked before anything is spent -------------------------------------------------


@needs_sshd
def test_a_missing_folder(remote: Remote) -> None:
    target = SshEnvTarget(remote.url_for(remote.folder / "nope" / ".env"))
    with pytest.raises(TargetError, match="does not exist"):
        target.check_writable()
    assert not (remote.folder / "nope").exists()


@needs_sshd
def test_a_read_only_file(remote: Remote) -> None:
    path = remote.write(".env", ORIGINAL, mode=0o440)
    before = snapshot(path)
    with pytest.raises(TargetError, match="read-only"):
        SshEnvTarget(remote.url).check_writable()
    assert snapshot(path) == before


@needs_sshd
def test_a_folder_the_user_cannot_write(remote: Remote) -> None:
    path = remote.write(".env", ORIGINAL)
    remote.folder.chmod(0o555)
    with pytest.raises(TargetError, match="permission denied"):
        SshEnvTarget(remote.url).check_writable()
    assert path.read_bytes() == ORIGINAL and sorted(p.name for p in remote.folder.iterdir()) == [".env"]


@needs_sshd
def test_not_a_regular_file(remote: Remote) -> None:
    (remote.folder / ".env").mkdir()
    with pytest.raises(TargetError, match="not a regular file"):
        SshEnvTarget(remote.url).check_writable()


@needs_sshd
def test_a_server_without_flock(remote: Remote, ssh_server: SshServer) -> None:
    # sshd_config has PermitUserEnvironment PATH: this user's sessions get a PATH without flock.
    environment = Path(ssh_server.user.pw_dir) / ".ssh" / "environment"
    environment.parent.mkdir(exist_ok=True)
    environment.write_text("PATH=/nonexistent\n")
    try:
        path = remote.write(".env", ORIGINAL)
        with pytest.raises(TargetError, match="no flock"):
            SshEnvTarget(remote.url).check_writable()
        assert path.read_bytes() == ORIGINAL
    finally:
        environment.unlink()


# --- the restart's way there -------------------------------------------------------------


@needs_sshd
def test_a_remote_command_runs_in_a_login_shell_and_is_stopped_at_its_timeout(remote: Remote) -> None:
    target = SshEnvTarget(remote.url)
    marker = remote.folder / "marker"
    shown: list[str] = []
    status = target.run_restart(
        f'echo "login=$AMOCRM_TEST_LOGIN_SHELL" | tee {marker}; echo oops >&2', 30, shown.append
    )
    assert status == 0
    assert marker.read_text() == "login=yes\n"
    assert marker.stat().st_uid == remote.server.user.pw_uid
    assert "".join(shown) == "login=yes\noops\n"
    assert target.run_restart("exit 3", 30, shown.append) == 3
    assert target.run_restart("sleep 4242", 1, shown.append) is None
    assert gone_from_server("sleep 4242")


@needs_sshd
def test_ctrl_c_during_a_remote_restart_stops_it_on_the_server(remote: Remote) -> None:
    def interrupted(text: str) -> None:
        raise KeyboardInterrupt  # what Ctrl+C does while the output is shown

    with pytest.raises(KeyboardInterrupt):
        SshEnvTarget(remote.url).run_restart("echo started; sleep 4646", 600, interrupted)
    assert gone_from_server("sleep 4646")


@needs_sshd
def test_a_login_script_that_prints_first_neither_hides_the_restart_nor_its_output(remote: Remote) -> None:
    """sshd runs the user's ~/.ssh/rc before every command, and what it prints comes first: the
    restart's process group is still found (Ctrl+C stops it) and that line is shown as output."""
    user = remote.server.user
    dot_ssh = Path(user.pw_dir) / ".ssh"
    dot_ssh.mkdir(mode=0o700, exist_ok=True)
    os.chown(dot_ssh, user.pw_uid, user.pw_gid)
    rc = dot_ssh / "rc"
    rc.write_text("echo Welcome to the backend server\n")
    os.chown(rc, user.pw_uid, user.pw_gid)
    shown: list[str] = []

    def interrupted(text: str) -> None:
        shown.append(text)
        if "started" in "".join(shown):
            raise KeyboardInterrupt  # Ctrl+C once the command has begun

    try:
        with pytest.raises(KeyboardInterrupt):
            SshEnvTarget(remote.url).run_restart("echo started; sleep 4747", 600, interrupted)
    finally:
        rc.unlink()
    assert gone_from_server("sleep 4747")
    assert "".join(shown) == "Welcome to the backend server\nstarted\n"


@needs_sshd
def test_a_password_typed_in_the_wizard_or_kept_in_the_keyring_logs_in(
    remote: Remote, ssh_server: SshServer, memory_keyring: MemoryKeyring
) -> None:
    remote.key.unlink()
    server = f"{USER}@127.0.0.1:{ssh_server.port}"
    with pytest.raises(ServerLoginRefusedError) as caught:
        SshEnvTarget(remote.url).read_values()
    assert caught.value.server == server  # what the wizard asks the password for
    ssh_password.give(server, ssh_server.password)
    try:
        assert SshEnvTarget(remote.url).read_values() == {}
    finally:
        ssh_password.forget_typed()
    assert ssh_password.keep(server, ssh_server.password)
    assert memory_keyring.entries[(ssh_password.SERVICE, server)] == ssh_server.password
    assert SshEnvTarget(remote.url).read_values() == {}  # from the keyring, once the keys were refused
