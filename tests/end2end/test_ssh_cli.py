"""The headless commands on an ``ssh://`` target, against a real sshd and the sandbox, as
subprocesses; ``--restart-cmd``; ``export-setup``.

Every failure leaves the file on the server as it was (bytes, mode, owner), and nothing is
spent at amoCRM before the target has been checked.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.helpers import integration_flags, run_cli
from tests.ssh_server import Remote, SshServer, gone_from_server, keygen, needs_sshd, remote, ssh_server
from wizard.core.connection import REFRESH_TOKEN
from wizard.sandbox import Sandbox
from wizard.setupfile import apply_setup, read_setup
from wizard.targets import open_target, ssh_session

__all__ = ["remote", "ssh_server"]  # the fixtures, imported for pytest

pytestmark = needs_sshd
BACKEND_LINES = "# the backend's own settings\nPORT=3000\nDB_URL='postgres://db/app'  # keep\n"


def snapshot(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mode, st.st_uid


def refresh_token(path: Path) -> str:
    return dotenv_values(path)[REFRESH_TOKEN] or ""


@pytest.fixture
def env(remote: Remote, cli_env: dict[str, str]) -> dict[str, str]:
    return remote.env(cli_env)


def connect(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    env = dict(env, AMOCRM_CLIENT_SECRET=sandbox.integration.client_secret)
    args = [
        "connect",
        *integration_flags(sandbox),
        "--code",
        sandbox.issue_code(),
        "--env",
        remote.url,
        *extra,
    ]
    return run_cli(args, env)


@pytest.fixture
def connected(sandbox: Sandbox, remote: Remote, env: dict[str, str]) -> Path:
    """The server's .env after a successful connect over SSH."""
    remote.write(".env", BACKEND_LINES, mode=0o640)
    result = connect(sandbox, remote, env)
    assert result.returncode == 0, result.stderr
    return remote.env_path


def test_connect_restarts_on_the_server_through_a_login_shell(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], ssh_server: SshServer
) -> None:
    remote.write(".env", BACKEND_LINES, mode=0o640)
    marker = remote.folder / "restarted"
    command = f'echo "login shell: $AMOCRM_TEST_LOGIN_SHELL" > {marker}; echo pm2 says ok'
    result = connect(sandbox, remote, env, "--restart-cmd", command)
    assert result.returncode == 0, result.stderr

    data, mode, uid = snapshot(remote.env_path)
    assert data.startswith(BACKEND_LINES.encode()) and (mode & 0o777, uid) == (0o640, ssh_server.user.pw_uid)
    values = dotenv_values(remote.env_path)
    assert values["AMOCRM_BASE_URL"] == sandbox.base_url and values[REFRESH_TOKEN]
    assert marker.read_text() == "login shell: yes\n"
    assert marker.stat().st_uid == ssh_server.user.pw_uid  # it ran as the SSH user, on the server
    out = result.stdout
    assert "pm2 says ok" in out
    assert out.index("The backend was restarted.") < out.index("Connected to")  # before the account test


def test_test_status_check_and_refresh_work_over_ssh(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path
) -> None:
    before = refresh_token(connected)
    for command in ("check", "status", "test"):
        result = run_cli([command, "--env", remote.url], env)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    assert "Sandbox" in run_cli(["test", "--env", remote.url], env).stdout
    assert refresh_token(connected) == before
    result = run_cli(["refresh", "--env", remote.url], env)
    assert result.returncode == 0, result.stderr
    assert refresh_token(connected) not in ("", before)
    assert connected.read_text().startswith(BACKEND_LINES)


def test_token_prints_the_stored_token_and_renews_a_stale_one_on_the_server(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path
) -> None:
    stored = dotenv_values(connected)["AMOCRM_ACCESS_TOKEN"] or ""
    result = run_cli(["token", "--env", remote.url], env)
    assert (result.returncode, result.stdout) == (0, stored + "\n")
    result = run_cli(["token", "--env", remote.url, "--stale", "--json"], env, stdin=stored + "\n")
    assert result.returncode == 0, result.stderr
    renewed = json.loads(result.stdout)["access_token"]
    assert renewed != stored and dotenv_values(connected)["AMOCRM_ACCESS_TOKEN"] == renewed
    assert sandbox.stats.refreshes == 1


def test_refresh_waits_for_a_lock_held_on_the_server(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path, ssh_server: SshServer
) -> None:
    """The holder reads the file under the lock and writes its copy back later: a refresh that
    did not wait would be overwritten by that stale copy."""
    before = refresh_token(connected)
    copy = remote.folder / "copy"
    script = f"cp {connected} {copy}; sleep 2; echo HELD=1 >> {copy}; mv {copy} {connected}"
    holder = subprocess.Popen(ssh_server.as_user("flock", f"{connected}.lock", "-c", script))
    try:
        while not copy.exists():
            assert holder.poll() is None
            threading.Event().wait(0.02)
        result = run_cli(["refresh", "--env", remote.url], env)
    finally:
        holder.wait(30)
    assert result.returncode == 0, result.stderr
    assert "HELD=1" in connected.read_text()  # the holder wrote first…
    assert refresh_token(connected) not in ("", before)  # …and the wizard after it
    assert sandbox.stats.refreshes == 1


def test_a_failing_restart_keeps_the_tokens_and_exits_6(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path
) -> None:
    before = refresh_token(connected)
    result = run_cli(["refresh", "--env", remote.url, "--restart-cmd", "echo trying; exit 7"], env)
    assert result.returncode == 6, result.stderr
    assert "trying" in result.stdout
    assert "exit code 7" in result.stderr and "The new tokens are saved" in result.stderr
    assert refresh_token(connected) not in ("", before)


@pytest.mark.parametrize(
    ("command", "seconds", "printed"),
    [
        ("sleep 4343", "1", ""),
        # The deadline holds while output keeps coming, not only when the command is silent
        # (without it this never ends, and run_cli's own timeout fails the test).
        ("while :; do echo tick-4747; sleep 0.1; done", "2", "tick-4747"),
    ],
    ids=["silent", "printing"],
)
def test_a_hanging_restart_is_stopped_and_exits_6(
    sandbox: Sandbox,
    remote: Remote,
    env: dict[str, str],
    connected: Path,
    command: str,
    seconds: str,
    printed: str,
) -> None:
    before = refresh_token(connected)
    result = run_cli(
        ["refresh", "--env", remote.url, "--restart-cmd", command, "--restart-timeout", seconds], env
    )
    assert result.returncode == 6, result.stderr
    assert printed in result.stdout
    assert f"did not finish within {seconds} s" in result.stderr
    assert refresh_token(connected) not in ("", before)
    assert gone_from_server(printed or command), "the restart command still runs on the server"


def test_a_failed_restart_takes_precedence_over_a_later_failure(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Locally too: the restart runs before connect's account test, whose 503 (exit 4) is shown,
    while the exit code stays 6 and the pair stays saved."""
    env_path = tmp_path / ".env"
    sandbox.fail_next(5, 503, "/api/v4/account")
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    marker = tmp_path / "ran"
    args = [*integration_flags(sandbox), "--code", sandbox.issue_code(), "--env", str(env_path)]
    result = run_cli(["connect", *args, "--restart-cmd", f"touch {marker}; exit 1"], cli_env)
    assert result.returncode == 6, result.stderr
    assert marker.exists()
    assert refresh_token(env_path)
    assert "exit code 1" in result.stderr


# --- refused, the target unchanged ----------------------------------------------------


def test_an_unknown_host_key_is_refused_then_accepted_by_fingerprint(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path, ssh_server: SshServer
) -> None:
    remote.known_hosts.write_text("")
    before = snapshot(connected)
    result = run_cli(["refresh", "--env", remote.url], env)
    assert result.returncode == 5
    assert ssh_server.host_fingerprint in result.stderr and "--ssh-host-key" in result.stderr
    assert snapshot(connected) == before and sandbox.stats.refresh_attempts == 0
    result = run_cli(["refresh", "--env", remote.url, "--ssh-host-key", ssh_server.host_fingerprint], env)
    assert result.returncode == 0, result.stderr
    assert remote.known_hosts.read_text() == ssh_server.known_hosts_line()


def test_a_changed_host_key_is_refused_loudly(
    sandbox: Sandbox,
    remote: Remote,
    env: dict[str, str],
    connected: Path,
    tmp_path: Path,
    ssh_server: SshServer,
) -> None:
    keygen(tmp_path / "impostor")
    kind, blob = (tmp_path / "impostor.pub").read_text().split()[:2]
    remote.known_hosts.write_text(f"[127.0.0.1]:{ssh_server.port} {kind} {blob}\n")
    before = snapshot(connected)
    result = run_cli(["refresh", "--env", remote.url, "--ssh-host-key", ssh_server.host_fingerprint], env)
    assert result.returncode == 5
    assert "CHANGED" in result.stderr and f"{remote.known_hosts} on line 1" in result.stderr
    assert snapshot(connected) == before and sandbox.stats.refresh_attempts == 0


def test_a_wrong_password_is_refused(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path, ssh_server: SshServer
) -> None:
    remote.key.unlink()
    before = snapshot(connected)
    result = run_cli(
        ["refresh", "--env", remote.url], dict(env, AMOCRM_SSH_PASSWORD="not-" + ssh_server.password)
    )
    assert result.returncode == 5
    assert "refused the login" in result.stderr and ssh_server.password not in result.stderr
    assert snapshot(connected) == before and sandbox.stats.refresh_attempts == 0
    result = run_cli(["refresh", "--env", remote.url], dict(env, AMOCRM_SSH_PASSWORD=ssh_server.password))
    assert result.returncode == 0, result.stderr


def test_a_missing_folder_is_refused_before_the_code_is_spent(
    sandbox: Sandbox, remote: Remote, env: dict[str, str]
) -> None:
    code = sandbox.issue_code()
    secret = dict(env, AMOCRM_CLIENT_SECRET=sandbox.integration.client_secret)
    missing = remote.url_for(remote.folder / "nope" / ".env")
    result = run_cli(["connect", *integration_flags(sandbox), "--code", code, "--env", missing], secret)
    assert result.returncode == 5
    assert "does not exist" in result.stderr and sandbox.stats.exchanges == 0
    assert not (remote.folder / "nope").exists()
    result = run_cli(["connect", *integration_flags(sandbox), "--code", code, "--env", remote.url], secret)
    assert result.returncode == 0, result.stderr  # the same code still works: it was not spent


def test_a_password_in_the_address_is_refused_unseen(cli_env: dict[str, str]) -> None:
    result = run_cli(["check", "--env", "ssh://deploy:s3cr/etPW@host/srv/.env"], cli_env)
    assert result.returncode == 2, result.stderr
    assert "holds a password" in result.stderr and "AMOCRM_SSH_PASSWORD" in result.stderr
    assert "s3cr" not in result.stdout + result.stderr and "etPW" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("kind", "said"), [("fifo", "named pipe (FIFO)"), ("link-to-dev-null", "device"), ("folder", "folder")]
)
@pytest.mark.parametrize("command", ["check", "status", "refresh", "connect"])
def test_anything_but_a_regular_file_is_refused_with_exit_5_before_anything_is_sent(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], kind: str, said: str, command: str
) -> None:
    path = remote.env_path
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/null")
    env = dict(env, AMOCRM_CLIENT_SECRET=sandbox.integration.client_secret)
    extra = integration_flags(sandbox, code=sandbox.issue_code()) if command == "connect" else []
    # A FIFO used to block the server's SFTP process, and with it every command: the timeout is the hang.
    result = run_cli([command, "--env", remote.url, *extra], env, timeout=30)
    assert result.returncode == 5, result.stderr
    assert f"{said}, not a regular file" in result.stderr
    assert sandbox.stats.requests == 0  # not even the code exchange
    assert sorted(p.name for p in remote.folder.iterdir()) == [".env"]
    assert not stat.S_ISREG(os.lstat(path).st_mode)


def test_a_read_only_file_is_refused_and_the_refresh_token_kept(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path
) -> None:
    connected.chmod(0o440)
    before = snapshot(connected)
    result = run_cli(["refresh", "--env", remote.url], env)
    assert result.returncode == 5
    assert "read-only" in result.stderr
    assert snapshot(connected) == before and sandbox.stats.refresh_attempts == 0


# --- setup files --------------------------------------------------------------------------


def test_export_setup_from_a_working_target_reads_back_the_same(
    sandbox: Sandbox,
    remote: Remote,
    env: dict[str, str],
    connected: Path,
    ssh_server: SshServer,
    tmp_path: Path,
) -> None:
    file = tmp_path / "backend.amocrm-setup"
    args = ["export-setup", "--env", remote.url, "--restart-cmd", "pm2 restart backend"]
    result = run_cli([*args, "--output", str(file)], env)
    assert result.returncode == 0, result.stderr
    setup = read_setup(file)
    it = sandbox.integration
    assert (setup.account, setup.client_id, setup.redirect_uri) == (
        sandbox.base_url,
        it.client_id,
        it.redirect_uri,
    )
    assert (setup.env, setup.ssh_host_key, setup.restart_cmd) == (
        remote.url,
        ssh_server.host_fingerprint,
        "pm2 restart backend",
    )
    text = file.read_text()
    assert it.client_secret not in text and refresh_token(connected) not in text
    printed = run_cli(args, env)
    assert printed.returncode == 0 and printed.stdout == text  # without --output: standard output


def test_a_setup_file_opens_with_everything_but_the_consent(
    sandbox: Sandbox,
    remote: Remote,
    env: dict[str, str],
    connected: Path,
    ssh_server: SshServer,
    tmp_path: Path,
) -> None:
    """What ``amocrm-wizard --setup FILE`` does before the first window: on a machine that has
    never seen the server, the file's host key lets it in, and the target gives the rest."""
    file = tmp_path / "backend.amocrm-setup"
    assert run_cli(["export-setup", "--env", remote.url, "--output", str(file)], env).returncode == 0
    remote.known_hosts.write_text("")
    options = argparse.Namespace(
        setup=str(file), account=None, client_id=None, redirect_uri=None, env=None, db=None
    )
    try:
        apply_setup(options)
        stored = open_target(env=options.env).load()
    finally:
        ssh_session._confirmed.clear()
    it = sandbox.integration
    assert (options.account, options.client_id, options.redirect_uri) == (
        sandbox.base_url,
        it.client_id,
        it.redirect_uri,
    )
    assert stored is not None and stored.client_secret == it.client_secret
    assert remote.known_hosts.read_text() == ssh_server.known_hosts_line()


def test_a_refused_refresh_adds_only_the_verdict_on_the_server(
    sandbox: Sandbox, remote: Remote, env: dict[str, str], connected: Path
) -> None:
    """Contract, "Exit codes": the .env on the server keeps its bytes, mode and owner, and
    gains amoCRM's verdict and nothing else: not the secret the environment supplied."""
    kept = [line for line in connected.read_text().splitlines(keepends=True) if "CLIENT_SECRET" not in line]
    remote.write(".env", "".join(kept), mode=0o640)
    data, mode, uid = snapshot(connected)
    sandbox.revoke_refresh_tokens()
    result = run_cli(
        ["refresh", "--env", remote.url], dict(env, AMOCRM_CLIENT_SECRET=sandbox.integration.client_secret)
    )
    assert result.returncode == 3, result.stderr
    after, after_mode, after_uid = snapshot(connected)
    assert (after_mode, after_uid) == (mode, uid)
    assert after.startswith(data) and after[len(data) :].startswith(b"AMOCRM_REFRESH_REJECTED=")
    assert after.count(b"\n") == data.count(b"\n") + 1
