"""The public CLI, run as a subprocess against the sandbox over real HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

from tests.helpers import allow, integration_flags
from tests.helpers import run_cli as run
from wizard.core.connection import OWNED_KEYS
from wizard.sandbox import Sandbox


def connect_args(sb: Sandbox, env_path: Path, **override: str) -> list[str]:
    return ["connect", "--env", str(env_path), *integration_flags(sb, **override)]


def assert_no_secret_shown(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout + result.stderr


def test_connect_with_a_code_writes_every_key(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env_path = tmp_path / ".env"
    env_path.write_text("PORT=3000\n")
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    result = run([*connect_args(sandbox, env_path), "--code", sandbox.issue_code()], cli_env)
    assert result.returncode == 0, result.stderr
    assert "Sandbox" in result.stdout
    values = dotenv_values(env_path)
    assert values["PORT"] == "3000"
    assert all(values.get(k) or k == "AMOCRM_SUBDOMAIN" for k in OWNED_KEYS)
    assert values["AMOCRM_BASE_URL"] == sandbox.base_url and values["AMOCRM_SUBDOMAIN"] == ""
    assert_no_secret_shown(
        result,
        sandbox.integration.client_secret,
        values["AMOCRM_ACCESS_TOKEN"],
        values["AMOCRM_REFRESH_TOKEN"],
    )
    assert sandbox.stats.exchanges == 1


def test_connect_with_a_pasted_redirect_url(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env_path = tmp_path / ".env"
    location = allow(sandbox, "state-from-own-browser")
    secret = sandbox.integration.client_secret + "\n"
    result = run(
        [*connect_args(sandbox, env_path), "--redirect-url", location, "--client-secret-stdin"],
        cli_env,
        secret,
    )
    assert result.returncode == 0, result.stderr
    assert dotenv_values(env_path)["AMOCRM_REFRESH_TOKEN"]


def _interactive(
    sb: Sandbox, env_path: Path, env: dict[str, str], answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Start connect without a code, do the consent like a person would, paste the address back."""
    env["AMOCRM_CLIENT_SECRET"] = sb.integration.client_secret
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", *connect_args(sb, env_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdin is not None
    consent = ""
    while not consent:
        line = proc.stdout.readline()
        assert line, "the consent URL was never printed"
        if "/oauth?" in line:
            consent = line.strip()
    state = re.search(r"state=([^&]+)", consent).group(1)  # type: ignore[union-attr]
    pasted = allow(sb, state) if answer is None else answer
    out, err = proc.communicate(pasted + "\n", timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_interactive_connect_checks_state(sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]) -> None:
    env_path = tmp_path / ".env"
    result = _interactive(sandbox, env_path, cli_env)
    assert result.returncode == 0, result.stderr
    assert dotenv_values(env_path)["AMOCRM_ACCESS_TOKEN"]


def test_interactive_connect_refuses_a_forged_state(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env_path = tmp_path / ".env"
    env_path.write_text("KEEP=1\n")
    forged = allow(sandbox, "attacker-state")
    result = _interactive(sandbox, env_path, cli_env, answer=forged)
    assert result.returncode == 3
    assert "does not belong" in result.stderr
    assert env_path.read_text() == "KEEP=1\n" and sandbox.stats.exchanges == 0


def test_check_lists_keys_masked(connected_env: Path, cli_env: dict[str, str]) -> None:
    result = run(["check", "--env", str(connected_env)], cli_env)
    assert result.returncode == 0, result.stdout
    values = dotenv_values(connected_env)
    for key in OWNED_KEYS:
        assert key in result.stdout
    assert_no_secret_shown(
        result, values["AMOCRM_CLIENT_SECRET"], values["AMOCRM_ACCESS_TOKEN"], values["AMOCRM_REFRESH_TOKEN"]
    )  # type: ignore[arg-type]
    partial = connected_env.parent / "partial.env"
    partial.write_text(f"AMOCRM_BASE_URL={values['AMOCRM_BASE_URL']}\nAMOCRM_CLIENT_ID=x\n")
    result = run(["check", "--env", str(partial)], cli_env)
    assert result.returncode == 1 and "AMOCRM_REFRESH_TOKEN: missing" in result.stdout


def test_test_refreshes_once_on_401_and_stores_the_rotated_pair(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    before = dotenv_values(connected_env)
    sandbox.expire_access_tokens()
    result = run(["test", "--env", str(connected_env)], cli_env)
    assert result.returncode == 0, result.stderr
    assert "Sandbox" in result.stdout and "renewed" in result.stdout
    after = dotenv_values(connected_env)
    assert sandbox.stats.refreshes == 1
    assert after["AMOCRM_REFRESH_TOKEN"] != before["AMOCRM_REFRESH_TOKEN"]
    assert after["PORT"] == "3000"
    again = run(["test", "--env", str(connected_env)], cli_env)
    assert again.returncode == 0 and sandbox.stats.refreshes == 1


def test_refresh_status_and_if_older_than(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    before = dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"]
    skipped = run(["refresh", "--env", str(connected_env), "--if-older-than", "30d"], cli_env)
    assert skipped.returncode == 0 and "Not renewed" in skipped.stdout
    assert sandbox.stats.refreshes == 0
    done = run(["refresh", "--env", str(connected_env)], cli_env)
    assert done.returncode == 0, done.stderr
    assert dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"] != before and sandbox.stats.refreshes == 1
    status = run(["status", "--env", str(connected_env)], cli_env)
    assert status.returncode == 0
    assert re.search(r"(89|90) days left", status.stdout), status.stdout


@pytest.mark.parametrize(
    ("override", "code_kind", "exit_code", "words"),
    [
        ({"account": "my company"}, "fresh", 2, "spaces"),
        ({"account": "ftp://x.amocrm.ru"}, "fresh", 2, "ftp://"),
        ({"account": "javascript:alert(1)"}, "fresh", 2, "not an amoCRM address"),
        ({"account": "http://evil.example.com"}, "fresh", 2, "plain http"),
        ({"account": "https://"}, "fresh", 2, "no address"),
        ({"client_id": "not-a-uuid"}, "fresh", 2, "Client ID"),
        ({"secret": "wrong-secret-wrong-secret"}, "fresh", 3, "secret"),
        ({"redirect_uri": "REGISTERED/"}, "fresh", 3, "Redirect URI"),
        ({}, "used", 3, "already used"),
        ({}, "expired", 3, "expired"),
        ({}, "garbage", 3, "does not recognise"),
        ({"account": "http://127.0.0.1:1"}, "fresh", 4, "Could not connect"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    sandbox: Sandbox,
    connected_env: Path,
    cli_env: dict[str, str],
    override: dict[str, str],
    code_kind: str,
    exit_code: int,
    words: str,
) -> None:
    before = connected_env.read_bytes()
    override = dict(override)
    cli_env["AMOCRM_CLIENT_SECRET"] = override.pop("secret", sandbox.integration.client_secret)
    if "redirect_uri" in override:
        override["redirect_uri"] = override["redirect_uri"].replace(
            "REGISTERED", sandbox.integration.redirect_uri
        )
    code = {"fresh": sandbox.issue_code, "used": sandbox.issue_code, "expired": sandbox.issue_code}.get(
        code_kind, lambda: "garbage-code"
    )()
    if code_kind == "used":
        run([*connect_args(sandbox, connected_env.parent / "other.env"), "--code", code], cli_env)
    if code_kind == "expired":
        sandbox.advance(21 * 60)
    started = time.monotonic()
    result = run([*connect_args(sandbox, connected_env, **override), "--code", code], cli_env)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert words.lower() in result.stderr.lower()
    assert "What to do:" in result.stderr
    assert connected_env.read_bytes() == before
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("where", ["missing-folder", "inside-a-file"])
def test_unwritable_target_exits_5_before_spending_the_code(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str], where: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = tmp_path / "missing" / ".env" if where == "missing-folder" else tmp_path / "file.txt" / ".env"
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    result = run([*connect_args(sandbox, path), "--code", sandbox.issue_code()], cli_env)
    assert result.returncode == 5, result.stderr
    assert sandbox.stats.exchanges == 0 and "What to do:" in result.stderr


def test_a_revoked_refresh_token_exits_3_and_says_run_the_wizard(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    before = connected_env.read_bytes()
    sandbox.revoke_refresh_tokens()
    result = run(["refresh", "--env", str(connected_env)], cli_env)
    assert result.returncode == 3
    assert "amocrm-wizard again" in result.stderr
    # What it held, plus amoCRM's verdict, so that nobody sends the dead token again.
    after = connected_env.read_bytes()
    assert after.startswith(before) and after[len(before) :].startswith(b"AMOCRM_REFRESH_REJECTED=")
    again = run(["refresh", "--env", str(connected_env)], cli_env)
    assert again.returncode == 3 and "not sent again" in again.stderr
    assert sandbox.stats.refresh_attempts == 1
    status = run(["status", "--env", str(connected_env)], cli_env)
    assert status.returncode == 3 and "refused" in status.stdout


def test_secret_is_never_taken_from_argv(sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = run([*connect_args(sandbox, tmp_path / ".env"), "--client-secret", "x", "--code", "c"], cli_env)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


@pytest.mark.parametrize("command", ["test", "refresh"])
def test_six_processes_at_once_refresh_exactly_once(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str], command: str
) -> None:
    sandbox.expire_access_tokens()
    # Keep the winner's refresh in flight long enough that every other process has
    # started and read the old pair: the race the lock and the re-read must win. A
    # `refresh` started after the winner saved would rightly refresh again, so the delay
    # covers six interpreters starting on a loaded two-core machine (1.5 s did not).
    sandbox.refresh_delay = 5.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wizard", command, "--env", str(connected_env)],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, results
    assert sandbox.stats.refreshes == 1
    assert sandbox.stats.rejected_refresh_replays == 0
    # The target ends with the newest pair, and it works.
    token = dotenv_values(connected_env)["AMOCRM_ACCESS_TOKEN"]
    answer = requests.get(
        f"{sandbox.base_url}/api/v4/account", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == 200


def test_sandbox_command_serves_and_prints_what_to_enter(cli_env: dict[str, str]) -> None:
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(6)]
    text = "".join(lines)
    assert f"http://127.0.0.1:{port}" in text
    answer = requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=5)
    assert answer.status_code == 200 and "requests" in answer.json()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_version_and_module_entry_point(cli_env: dict[str, str]) -> None:
    from wizard import __version__

    result = run(["--version"], cli_env)
    assert result.returncode == 0 and result.stdout.strip() == f"amocrm-wizard {__version__}"


def test_the_log_file_records_what_happened_without_secrets(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    env_path = tmp_path / ".env"
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    assert run([*connect_args(sandbox, env_path), "--code", sandbox.issue_code()], cli_env).returncode == 0
    sandbox.expire_access_tokens()
    assert run(["test", "--env", str(env_path)], cli_env).returncode == 0
    log = (Path(cli_env["AMOCRM_WIZARD_LOG_DIR"]) / "amocrm-wizard.log").read_text()
    assert "Connected http://127.0.0.1" in log and "Tokens renewed and saved" in log
    values = dotenv_values(env_path)
    for secret in (
        sandbox.integration.client_secret,
        values["AMOCRM_ACCESS_TOKEN"],
        values["AMOCRM_REFRESH_TOKEN"],
    ):
        assert secret and secret not in log


# --- the chain survives amoCRM's behaviour and an impatient admin ---------------------------


def test_verbose_works_before_and_after_the_command(connected_env: Path, cli_env: dict[str, str]) -> None:
    for args in (
        ["-v", "refresh", "--env", str(connected_env)],
        ["refresh", "--env", str(connected_env), "-v"],
    ):
        result = run(args, cli_env)
        assert result.returncode == 0, result.stderr
        assert "Tokens renewed and saved" in result.stderr  # the log, on the terminal too
    quiet = run(["refresh", "--env", str(connected_env)], cli_env)
    assert quiet.returncode == 0 and "Tokens renewed and saved" not in quiet.stderr
    for command in ("check", "status", "test", "token"):
        after = run([command, "--env", str(connected_env), "--verbose"], cli_env)
        assert after.returncode == 0, (command, after.stderr)


def test_connect_saves_the_pair_before_testing_it(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    once = tmp_path / "once.env"
    sandbox.fail_next(1, status=503, path_prefix="/api/v4/account")
    result = run([*connect_args(sandbox, once), "--code", sandbox.issue_code()], cli_env)
    assert result.returncode == 0, result.stderr  # one 503 is retried
    assert sandbox.stats.injected_failures == 1 and dotenv_values(once)["AMOCRM_REFRESH_TOKEN"]
    # A test that fails for good (403 is never retried) keeps the pair, and says so.
    kept = tmp_path / "kept.env"
    sandbox.fail_next(1, status=403, path_prefix="/api/v4/account")
    failed = run([*connect_args(sandbox, kept), "--code", sandbox.issue_code()], cli_env)
    assert failed.returncode == 4, failed.stderr
    assert "saved" in failed.stdout and "testing them failed" in failed.stdout
    assert run(["test", "--env", str(kept)], cli_env).returncode == 0  # and the saved pair works
    assert sandbox.stats.exchanges == 2 and sandbox.stats.refreshes == 0


def test_a_value_the_env_cannot_hold_is_refused_before_the_code_is_spent(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    env_path = tmp_path / ".env"
    code = sandbox.issue_code()
    unwritable = sandbox.integration.redirect_uri + "?it's=$HOME"
    result = run([*connect_args(sandbox, env_path, redirect_uri=unwritable), "--code", code], cli_env)
    assert result.returncode == 2, result.stderr
    assert sandbox.stats.exchanges == 0 and not env_path.exists()
    # The code was not spent: it still connects.
    assert run([*connect_args(sandbox, env_path), "--code", code], cli_env).returncode == 0


def test_a_stored_address_outside_the_rules_receives_nothing(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    import socket

    sandbox.reset_stats()
    with socket.socket() as listener:
        listener.bind(("127.0.0.2", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        text = connected_env.read_text().replace(sandbox.base_url, f"http://127.0.0.2:{port}")
        connected_env.write_text(text)
        for command in ("test", "refresh", "status"):
            result = run([command, "--env", str(connected_env)], cli_env)
            assert result.returncode == 2, (command, result.stdout, result.stderr)
            assert "AMOCRM_BASE_URL" in result.stderr
        with pytest.raises(socket.timeout):
            listener.accept()  # nobody ever knocked
    assert sandbox.stats.requests == 0


def test_ctrl_c_during_a_refresh_waits_for_the_save(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    import signal

    before = dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"]
    sandbox.refresh_delay = 3.0  # a slow token endpoint: the old token is spent, the answer not sent
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "refresh", "--env", str(connected_env)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while sandbox.stats.refreshes == 0:  # amoCRM has rotated the pair...
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)  # ...and the admin presses Ctrl+C before the answer arrives
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "Nothing was changed" not in err and "saved to" in err, err
    stored = dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"]
    assert stored != before
    sandbox.refresh_delay = 0
    # The saved pair is the live one: it refreshes without a rejected grant.
    assert run(["refresh", "--env", str(connected_env)], cli_env).returncode == 0
    assert sandbox.stats.refreshes == 2 and sandbox.stats.rejected_refresh_replays == 0


def test_a_blocked_account_exits_4_and_says_what_to_tell_support(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    before = connected_env.read_bytes()
    sandbox.block_account(True)
    result = run(["test", "--env", str(connected_env)], cli_env)
    assert result.returncode == 4, result.stderr
    assert "support" in result.stderr and str(sandbox.account["id"]) in result.stderr
    assert sandbox.stats.blocked == 1  # never retried
    sandbox.expire_access_tokens()
    assert run(["refresh", "--env", str(connected_env)], cli_env).returncode == 4
    assert sandbox.stats.blocked == 2 and connected_env.read_bytes() == before


def test_refresh_follows_a_moved_account(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    new = sandbox.move_account()
    result = run(["refresh", "--env", str(connected_env)], cli_env)
    assert result.returncode == 0, result.stderr
    assert dotenv_values(connected_env)["AMOCRM_BASE_URL"] == new
    assert sandbox.stats.refreshes == 1 and sandbox.stats.subdomain_lookups == 1
    assert run(["test", "--env", str(connected_env)], cli_env).returncode == 0


def test_an_amocrm_com_address_and_an_address_bar_paste_become_the_account(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    cli_env["AMOCRM_CLIENT_SECRET"] = sandbox.integration.client_secret
    args = ["connect", "--env", str(tmp_path / ".env")]
    args += ["--client-id", sandbox.integration.client_id, "--redirect-uri", "https://example.com/cb"]
    kommo = run([*args, "--account", "MyCompany.amocrm.com"], cli_env, stdin="\n")
    assert kommo.returncode == 2  # nothing pasted
    assert "https://www.kommo.com/oauth?" in kommo.stdout
    pasted = f"{sandbox.base_url}/leads/pipeline/1?filter=open#card"
    reduced = run(
        ["connect", "--env", str(tmp_path / ".env"), *integration_flags(sandbox, account=pasted)],
        cli_env,
        stdin="\n",
    )
    assert f"Using the account address {sandbox.base_url}" in reduced.stdout
    assert "/leads/pipeline/1?filter=open#card" in reduced.stdout
    assert f"{sandbox.base_url}/oauth?" in reduced.stdout


@pytest.mark.parametrize(("issued_days_ago", "exit_code"), [(1, 0), (80, 1), (91, 3)])
def test_status_exit_code_is_for_monitoring(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str], issued_days_ago: int, exit_code: int
) -> None:
    from datetime import timedelta

    from wizard.core.tokens import format_utc, parse_utc

    values = dotenv_values(connected_env)
    expiry = values["AMOCRM_TOKEN_EXPIRES_AT"]
    assert expiry
    aged = format_utc(parse_utc(expiry) - timedelta(days=issued_days_ago))
    connected_env.write_text(connected_env.read_text().replace(expiry, aged))
    result = run(["status", "--env", str(connected_env)], cli_env)
    assert result.returncode == exit_code, result.stdout


def test_the_commands_do_not_import_the_command_line(cli_env: dict[str, str]) -> None:
    """No import loop: cli imports commands (when a command runs), never the other way round."""
    probe = "import sys, wizard.commands; print('wizard.cli' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_command_names_agree() -> None:
    from wizard import cli, commands

    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert set(cli.SUBCOMMANDS) == set(commands.COMMANDS) == set(subparsers.choices or ())
