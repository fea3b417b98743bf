"""Where a real deployment keeps its .env: a Docker bind mount, a symbolic link into a shared
folder, hard links, a file of another user, and things that are not files at all.

Each case is made for real: a bind mount in a private mount namespace, a second user created
with useradd and a process run as that user, a FIFO, a device node. Where the machine cannot
make one (no root), the test says so and skips.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

from tests.helpers import connect_sandbox, integration_flags, run_cli
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_USER = "amocrm-test"


def refresh_token(path: Path) -> str:
    return dotenv_values(path)["AMOCRM_REFRESH_TOKEN"] or ""


def works(sandbox: Sandbox, path: Path) -> bool:
    token = dotenv_values(path)["AMOCRM_ACCESS_TOKEN"]
    answer = requests.get(
        f"{sandbox.base_url}/api/v4/account", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    return answer.status_code == 200


# --- 1. a Docker bind mount -------------------------------------------------------------


def _private_mounts_reason() -> str | None:
    if not IS_ROOT:
        return "a bind mount needs root"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"this machine refuses a private mount namespace: {probe.stderr.strip()}"
    return None


needs_mounts = pytest.mark.skipif(_private_mounts_reason() is not None, reason=str(_private_mounts_reason()))


def in_bind_mount(
    source: Path, mount_point: Path, args: list[str], env: dict[str, str], *, read_only: bool = False
) -> subprocess.CompletedProcess[str]:
    """``amocrm-wizard ARGS`` with ``source`` bind-mounted on ``mount_point``, as ``docker run
    -v source:mount_point`` does. The mount lives in a private namespace and dies with the command."""
    remount = 'mount -o remount,bind,ro "$2" && ' if read_only else ""
    script = f'mount --bind "$1" "$2" && {remount}shift 2 && exec "$@"'
    return subprocess.run(
        [
            *(
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                str(source),
                str(mount_point),
            ),
            *(sys.executable, "-m", "wizard", *args),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_mounts
def test_a_bind_mounted_env_is_rewritten_in_place_and_keeps_the_new_pair(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / ".env").write_text("")  # docker creates the mount point
    inode, spent = connected_env.stat().st_ino, refresh_token(connected_env)
    result = in_bind_mount(connected_env, app / ".env", ["refresh", "--env", str(app / ".env")], cli_env)
    assert result.returncode == 0, result.stderr
    assert sandbox.stats.refreshes == 1
    # The host's file itself holds the new pair: same inode, the backend's own line kept.
    assert connected_env.stat().st_ino == inode
    assert refresh_token(connected_env) != spent and works(sandbox, connected_env)
    assert connected_env.read_text().startswith("# backend settings\nPORT=3000\n")
    assert (app / ".env").read_text() == ""  # outside the namespace the mount point is untouched


UNSEEN_MOUNT = """
import sys
from wizard.core.logs import setup_logging
from wizard.runtime.source import TokenSource
from wizard.targets import localfile
from wizard.targets.envfile import EnvFileTarget
localfile._mount_points = lambda: set()  # a mount the checks cannot see (another namespace's view)
setup_logging()
TokenSource(EnvFileTarget(sys.argv[1])).refresh()
"""


@needs_mounts
def test_a_rename_the_kernel_refuses_after_all_falls_back_to_writing_in_place(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    (tmp_path / "app").mkdir()
    mount_point = tmp_path / "app" / ".env"
    mount_point.write_text("")
    script = 'mount --bind "$1" "$2" && exec "$3" -c "$4" "$2"'
    result = subprocess.run(
        [
            *("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"),
            *(str(connected_env), str(mount_point), sys.executable, UNSEEN_MOUNT),
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert sandbox.stats.refreshes == 1 and works(sandbox, connected_env)
    log = (Path(cli_env["AMOCRM_WIZARD_LOG_DIR"]) / "amocrm-wizard.log").read_text()
    assert "the rename was refused" in log


@needs_mounts
def test_a_read_only_bind_mount_is_refused_before_the_token_is_spent(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".env").write_text("")
    before = connected_env.read_bytes()
    result = in_bind_mount(
        connected_env,
        tmp_path / "app" / ".env",
        ["refresh", "--env", str(tmp_path / "app" / ".env")],
        cli_env,
        read_only=True,
    )
    assert result.returncode == 5, result.stderr
    assert "read-only" in result.stderr
    assert sandbox.stats.refresh_attempts == 0
    assert connected_env.read_bytes() == before


# --- 2. symbolic and hard links ---------------------------------------------------------


def test_a_symbolic_link_stays_a_link_and_the_file_it_leads_to_is_written_and_locked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    shared, app = tmp_path / "shared", tmp_path / "releases" / "42"
    shared.mkdir()
    app.mkdir(parents=True)
    (shared / ".env").write_text("PORT=3000\n")
    (shared / ".env").chmod(0o640)
    (app / ".env").symlink_to("../../shared/.env")
    EnvFileTarget(app / ".env").save(connect_sandbox(sandbox))
    assert (app / ".env").is_symlink() and os.readlink(app / ".env") == "../../shared/.env"
    assert (shared / ".env").read_text().startswith("PORT=3000\n") and works(sandbox, shared / ".env")
    assert stat.S_IMODE((shared / ".env").stat().st_mode) == 0o640
    assert (shared / ".env.lock").exists() and not (app / ".env.lock").exists()
    assert sorted(p.name for p in app.iterdir()) == [".env"]


def test_a_link_to_a_file_not_there_yet_creates_it_behind_the_link(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / ".env").symlink_to("shared/.env")
    EnvFileTarget(tmp_path / ".env").save(connect_sandbox(sandbox))
    assert (tmp_path / ".env").is_symlink()
    assert stat.S_IMODE((tmp_path / "shared" / ".env").stat().st_mode) == 0o600
    assert works(sandbox, tmp_path / "shared" / ".env")


WORKER = """
import sys
from wizard.runtime.source import TokenSource
from wizard.targets.envfile import EnvFileTarget
source = TokenSource(EnvFileTarget(sys.argv[1]))
refused = source.connection.tokens.access_token  # the pair before anybody refreshed
print("ready", flush=True)
sys.stdin.readline()
source.refresh(stale_access_token=refused)  # as after amoCRM's 401
print(source.refresh_count, flush=True)
"""


def test_workers_reaching_one_file_by_different_paths_refresh_it_once(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    # Capistrano's layout: a release folder links to the shared .env, and "current" links
    # to the release. Workers use any of the three paths.
    release = tmp_path / "releases" / "7"
    release.mkdir(parents=True)
    (release / ".env").symlink_to(connected_env)
    (tmp_path / "current").symlink_to(release)
    paths = [connected_env, release / ".env", tmp_path / "current" / ".env"] * 2
    sandbox.expire_access_tokens()
    sandbox.refresh_delay = 1.0  # every worker is inside access_token() before the first answer
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path)],
            env=cli_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:  # all at once: communicate() would let them go one by one
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outcomes = [worker.communicate(timeout=60) for worker in workers]
    assert [w.returncode for w in workers] == [0] * len(workers), outcomes
    assert sum(int(out.strip()) for out, _ in outcomes) == 1
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0
    assert (release / ".env").is_symlink() and works(sandbox, connected_env)


def test_a_hard_linked_env_keeps_its_inode_and_every_name_sees_the_new_pair(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.env"
    os.link(connected_env, backup)
    inode = connected_env.stat().st_ino
    target = EnvFileTarget(connected_env)
    stored = target.load()
    assert stored is not None
    target.save(connect_sandbox(sandbox))
    assert connected_env.stat().st_ino == inode and connected_env.stat().st_nlink == 2
    assert backup.read_bytes() == connected_env.read_bytes()
    assert refresh_token(backup) != stored.tokens.refresh_token  # type: ignore[union-attr]


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_a_file_rewritten_in_place_loses_nothing_to_a_kill_outside_the_window(
    sandbox: Sandbox, connected_env: Path
) -> None:
    from tests.crash_harness import run_trials

    report = run_trials(sandbox, connected_env, trials=80, seed=20261203, in_place=True)
    assert report.trials == 80 and report.in_place
    assert report.lost_outside_window == 0, report.summary()
    assert report.torn <= report.lost <= report.in_window, report.summary()
    assert report.in_window >= 5 and report.trials - report.in_window >= 5, report.summary()
    assert connected_env.stat().st_nlink == 2  # still the same inode as its second name
    assert connected_env.read_text().startswith("# backend settings\nPORT=3000\n")


# --- 3. another user's file -------------------------------------------------------------


@pytest.fixture(scope="module")
def other_user() -> pwd.struct_passwd:
    if not IS_ROOT:
        pytest.skip("needs root: creates a second user and runs a process as that user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    try:
        return pwd.getpwnam(OTHER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
            check=True,
        )
        return pwd.getpwnam(OTHER_USER)


def as_user(
    user: pwd.struct_passwd, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``amocrm-wizard ARGS`` run by ``user``. The interpreter and pytest's folders may lie
    under folders only root may enter (/root/.pyenv, /tmp/pytest-of-root), so the process
    keeps CAP_DAC_READ_SEARCH (read and traverse) and nothing else: every write, and every
    open for writing, is checked as that user's."""
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--init-groups",
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
            sys.executable,
            "-m",
            "wizard",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def users_folder(other_user: pwd.struct_passwd, tmp_path: Path, cli_env: dict[str, str]) -> Iterator[Path]:
    """A folder the other user owns, and a log folder it may write."""
    folder = tmp_path / "backend"
    folder.mkdir()
    logs = tmp_path / "user-logs"
    logs.mkdir()
    for path in (folder, logs):
        os.chown(path, other_user.pw_uid, other_user.pw_gid)
    cli_env["AMOCRM_WIZARD_LOG_DIR"] = str(logs)
    cli_env["HOME"] = str(logs)
    yield folder


def test_sudo_keeps_the_backends_owner_and_mode_and_leaves_it_a_lock_it_can_take(
    sandbox: Sandbox, other_user: pwd.struct_passwd, users_folder: Path, cli_env: dict[str, str]
) -> None:
    env = users_folder / ".env"
    EnvFileTarget(env).save(connect_sandbox(sandbox))
    os.chown(env, other_user.pw_uid, other_user.pw_gid)
    env.chmod(0o600)
    sandbox.expire_access_tokens()
    # sudo amocrm-wizard refresh: root writes the backend's file.
    assert run_cli(["refresh", "--env", str(env)], cli_env).returncode == 0
    info, lock = env.stat(), os.stat(str(env) + ".lock")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (
        other_user.pw_uid,
        other_user.pw_gid,
        0o600,
    )
    assert (lock.st_uid, lock.st_gid, stat.S_IMODE(lock.st_mode)) == (
        other_user.pw_uid,
        other_user.pw_gid,
        0o600,
    )
    # The backend, as its own user, still reads, locks and renews its file.
    result = as_user(other_user, ["refresh", "--env", str(env)], cli_env)
    assert result.returncode == 0, result.stderr
    assert sandbox.stats.refreshes == 2 and works(sandbox, env)
    assert env.stat().st_uid == other_user.pw_uid


def test_a_user_renewing_a_file_it_may_write_but_not_own_keeps_the_owner(
    sandbox: Sandbox, other_user: pwd.struct_passwd, users_folder: Path, cli_env: dict[str, str]
) -> None:
    env = users_folder / ".env"
    EnvFileTarget(env).save(connect_sandbox(sandbox))
    os.chown(env, 0, other_user.pw_gid)  # root's file, shared with the backend's group
    env.chmod(0o660)
    Path(str(env) + ".lock").unlink()  # the backend's run makes its own
    inode = env.stat().st_ino
    result = as_user(other_user, ["refresh", "--env", str(env)], cli_env)
    assert result.returncode == 0, result.stderr
    info = env.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, other_user.pw_gid, 0o660)
    assert info.st_ino == inode and works(sandbox, env)
    lock = os.stat(str(env) + ".lock")
    assert stat.S_IMODE(lock.st_mode) == 0o660 and lock.st_gid == other_user.pw_gid


def test_a_lock_file_left_as_roots_names_the_fix_and_a_root_run_gives_it_back(
    sandbox: Sandbox, other_user: pwd.struct_passwd, users_folder: Path, cli_env: dict[str, str]
) -> None:
    env = users_folder / ".env"
    EnvFileTarget(env).save(connect_sandbox(sandbox))
    os.chown(env, other_user.pw_uid, other_user.pw_gid)
    lock = Path(str(env) + ".lock")
    lock.unlink(missing_ok=True)
    lock.touch(0o644)  # what an older version left after `sudo amocrm-wizard refresh`
    os.chown(lock, 0, 0)
    result = as_user(other_user, ["refresh", "--env", str(env)], cli_env)
    assert result.returncode == 5 and sandbox.stats.refresh_attempts == 0
    assert "lock file" in result.stderr and "belongs to root" in result.stderr
    assert f"-o {OTHER_USER}" in result.stderr  # the fix, in one command
    assert "another folder" not in result.stderr and "folder you can write to" not in result.stderr
    assert run_cli(["check", "--env", str(env)], cli_env).returncode == 0  # reading needs no lock
    assert run_cli(["refresh", "--env", str(env)], cli_env).returncode == 0  # root, as sudo would
    assert lock.stat().st_uid == other_user.pw_uid
    assert as_user(other_user, ["refresh", "--env", str(env)], cli_env).returncode == 0


def test_in_a_sticky_shared_folder_root_and_the_backend_both_keep_taking_the_lock(
    sandbox: Sandbox, other_user: pwd.struct_passwd, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    shared = tmp_path / "shared"  # like /tmp or /var/tmp: everybody writes, only owners delete
    shared.mkdir()
    shared.chmod(0o1777)
    env = shared / ".env"
    EnvFileTarget(env).save(connect_sandbox(sandbox))
    Path(str(env) + ".lock").unlink()
    os.chown(env, other_user.pw_uid, other_user.pw_gid)
    env.chmod(0o600)
    cli_env["AMOCRM_WIZARD_LOG_DIR"] = str(shared)
    for _run in range(2):  # the second run takes the lock the first one left
        result = run_cli(["refresh", "--env", str(env)], cli_env)
        assert result.returncode == 0, result.stderr
    result = as_user(other_user, ["refresh", "--env", str(env)], cli_env)
    assert result.returncode == 0, result.stderr
    assert sandbox.stats.refreshes == 3 and works(sandbox, env)
    assert env.stat().st_uid == other_user.pw_uid


# --- 4. not a regular file --------------------------------------------------------------


def _make(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if not IS_ROOT:
            pytest.skip("mknod of a character device needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    elif kind == "link-to-dev-null":
        path.symlink_to("/dev/null")
    elif kind == "folder":
        path.mkdir()
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()


KINDS = {
    "fifo": "named pipe (FIFO)",
    "device": "device",
    "link-to-dev-null": "device",
    "folder": "folder",
    "socket": "socket",
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("command", ["check", "status", "test", "refresh", "connect"])
def test_anything_but_a_regular_file_is_refused_with_exit_5_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str], kind: str, command: str
) -> None:
    path = tmp_path / ".env"
    _make(kind, path)
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    extra = integration_flags(sandbox, code=sandbox.issue_code()) if command == "connect" else []
    # A FIFO used to block every command on open(): the timeout is the hang.
    result = run_cli([command, "--env", str(path), *extra], cli_env, timeout=30)
    assert result.returncode == 5, result.stderr
    expected = "is a folder, not a file" if kind == "folder" else f"{KINDS[kind]}, not a regular file"
    assert expected in result.stderr
    assert sandbox.stats.requests == 0  # not even the code exchange
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("logs")) == [".env"]
    if kind == "link-to-dev-null":
        assert path.is_symlink()
    elif kind != "folder":
        assert not stat.S_ISREG(os.lstat(path).st_mode)  # the special file is still what it was
