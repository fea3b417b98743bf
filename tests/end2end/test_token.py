"""``amocrm-wizard token``, the credential helper, run as a subprocess against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

from tests.helpers import connect_sandbox
from tests.helpers import run_cli as run
from wizard.core.connection import Connection
from wizard.core.tokens import TokenPair, format_utc, utcnow
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget, merge


def token(
    env_path: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run(["token", "--env", str(env_path), *args], env, stdin)


def stored(env_path: Path, key: str) -> str:
    return dotenv_values(env_path)[key] or ""


def expire_in(env_path: Path, seconds: int) -> None:
    """Make the stored expiry say the token ends in ``seconds`` (what a day's wait does)."""
    moment = format_utc(utcnow() + timedelta(seconds=seconds))
    env_path.write_text(merge(env_path.read_text(), {"AMOCRM_TOKEN_EXPIRES_AT": moment}))


def works(sandbox: Sandbox, access_token: str) -> bool:
    answer = requests.get(
        f"{sandbox.base_url}/api/v4/account", headers={"Authorization": f"Bearer {access_token}"}, timeout=5
    )
    return answer.status_code == 200


def test_prints_the_stored_token_and_nothing_else_without_calling_amocrm(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    sandbox.reset_stats()
    result = token(connected_env, cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == stored(connected_env, "AMOCRM_ACCESS_TOKEN") + "\n"
    assert sandbox.stats.requests == 0


def test_json_gives_token_expiry_in_utc_and_base_url(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    result = token(connected_env, cli_env, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"access_token", "expires_at", "base_url"}
    assert answer["access_token"] == stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    assert answer["expires_at"] == stored(connected_env, "AMOCRM_TOKEN_EXPIRES_AT")
    assert answer["expires_at"].endswith("Z")
    assert answer["base_url"] == sandbox.base_url


def test_json_after_a_refresh_that_followed_a_moved_account_gives_the_new_address(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    refused = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    old = sandbox.base_url
    new = sandbox.move_account()
    result = token(connected_env, cli_env, "--stale", "--json", stdin=refused)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert old != new and answer["base_url"] == new == stored(connected_env, "AMOCRM_BASE_URL")
    assert sandbox.stats.subdomain_lookups == 1 and works(sandbox, answer["access_token"])


def test_a_token_expiring_within_min_valid_is_renewed_first(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    old = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    expire_in(connected_env, 200)
    assert token(connected_env, cli_env, "--min-valid", "100").stdout == old + "\n"
    assert sandbox.stats.refreshes == 0
    result = token(connected_env, cli_env)  # the default margin is 300 seconds
    assert result.returncode == 0, result.stderr
    new = result.stdout.strip()
    assert new != old and new == stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    assert sandbox.stats.refreshes == 1 and works(sandbox, new)


def test_stale_renews_only_while_the_refused_token_is_still_stored(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    refused = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    sandbox.expire_access_tokens()
    first = token(connected_env, cli_env, "--stale", stdin=refused + "\n")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() != refused and works(sandbox, first.stdout.strip())
    # A second backend refused with the same old token: somebody renewed already.
    second = token(connected_env, cli_env, "--stale", stdin=refused)
    assert second.stdout == first.stdout
    assert sandbox.stats.refreshes == 1


def test_stale_reads_bearer_header_values_too(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    refused = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    result = token(connected_env, cli_env, "--stale", stdin=f"Bearer {refused}\n")
    assert result.returncode == 0 and result.stdout.strip() != refused
    assert sandbox.stats.refreshes == 1


def test_stale_without_a_token_on_stdin_is_bad_input(connected_env: Path, cli_env: dict[str, str]) -> None:
    before = connected_env.read_bytes()
    result = token(connected_env, cli_env, "--stale", stdin="")
    assert result.returncode == 2 and result.stdout == ""
    assert "standard input" in result.stderr
    assert connected_env.read_bytes() == before


@pytest.mark.parametrize("value", ["-1", "3601", "five", ""])
def test_bad_min_valid_is_exit_2(connected_env: Path, cli_env: dict[str, str], value: str) -> None:
    result = token(connected_env, cli_env, "--min-valid", value)
    assert result.returncode == 2 and result.stdout == ""
    assert "--min-valid" in result.stderr and "3600" in result.stderr


def test_the_token_never_goes_on_the_command_line(connected_env: Path, cli_env: dict[str, str]) -> None:
    result = token(connected_env, cli_env, "--stale", "eyJsome.token")
    assert result.returncode == 2 and result.stdout == ""


def test_a_long_lived_token_is_printed_as_it_is_and_never_renewed(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    long_lived = sandbox.issue_long_lived_token(days=1)
    it = sandbox.integration
    env_path = tmp_path / ".env"
    EnvFileTarget(env_path).save(
        Connection(
            sandbox.base_url,
            it.client_id,
            it.client_secret,
            it.redirect_uri,
            TokenPair.long_lived(long_lived),
        )
    )
    sandbox.reset_stats()
    for args, stdin in ((("--min-valid", "3600"), ""), (("--stale", "--json"), long_lived)):
        result = token(env_path, cli_env, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        assert long_lived in result.stdout
    assert sandbox.stats.requests == 0


def test_a_dead_refresh_token_is_exit_3_with_nothing_on_stdout(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    refused = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    sandbox.expire_access_tokens()
    sandbox.revoke_refresh_tokens()
    result = token(connected_env, cli_env, "--stale", "--json", stdin=refused)
    assert result.returncode == 3 and result.stdout == ""
    assert "amocrm-wizard" in result.stderr and refused not in result.stderr


def test_amocrm_unreachable_is_exit_4_and_the_target_is_unchanged(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str]
) -> None:
    before = connected_env.read_bytes()
    sandbox.fail_next(1000, status=503, path_prefix="/oauth2/")
    result = token(connected_env, cli_env, "--stale", stdin=stored(connected_env, "AMOCRM_ACCESS_TOKEN"))
    assert result.returncode == 4 and result.stdout == ""
    assert connected_env.read_bytes() == before


def test_nothing_stored_is_exit_1_and_a_folder_is_exit_5(tmp_path: Path, cli_env: dict[str, str]) -> None:
    empty = tmp_path / ".env"
    empty.write_text("PORT=3000\n")
    result = token(empty, cli_env)
    assert result.returncode == 1 and result.stdout == ""
    assert "connect" in result.stderr
    folder = tmp_path / "folder.env"
    folder.mkdir()
    result = token(folder, cli_env)
    assert result.returncode == 5 and result.stdout == ""


def test_a_stored_address_that_breaks_the_rules_is_exit_2_before_anything_is_printed(
    connected_env: Path, cli_env: dict[str, str]
) -> None:
    connected_env.write_text(merge(connected_env.read_text(), {"AMOCRM_BASE_URL": "http://evil.example.com"}))
    result = token(connected_env, cli_env, "--json")
    assert result.returncode == 2 and result.stdout == ""


def test_a_database_target_works_the_same(sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]) -> None:
    from wizard.targets.sql import SqlTarget

    url = f"sqlite:///{tmp_path / 'settings.db'}"
    target = SqlTarget(url)
    target.save(connect_sandbox(sandbox))
    first = target.load()
    target.close()
    assert first is not None and first.tokens is not None
    sandbox.expire_access_tokens()
    result = run(["token", "--db", url, "--stale", "--json"], cli_env, first.tokens.access_token)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["access_token"] != first.tokens.access_token and works(sandbox, answer["access_token"])
    assert answer["base_url"] == sandbox.base_url


@pytest.mark.parametrize("why", ["stale", "min-valid"])
def test_six_helpers_at_once_renew_exactly_once(
    sandbox: Sandbox, connected_env: Path, cli_env: dict[str, str], why: str
) -> None:
    refused = stored(connected_env, "AMOCRM_ACCESS_TOKEN")
    if why == "stale":  # six backends were refused with the same token
        sandbox.expire_access_tokens()
        args = ["--stale"]
    else:  # six backends start as the token nears its end
        expire_in(connected_env, 100)
        args = []
    sandbox.refresh_delay = 1.0  # every helper has read the old pair before the winner saves
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wizard", "token", *args, "--env", str(connected_env)],
            env=cli_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(refused, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, outputs
    printed = {out for out, _err in outputs}
    assert printed == {stored(connected_env, "AMOCRM_ACCESS_TOKEN") + "\n"}
    assert printed != {refused + "\n"}
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0


def test_the_no_refresh_path_imports_no_http_jwt_lock_or_sql_library(
    connected_env: Path, cli_env: dict[str, str]
) -> None:
    # It runs on every backend start (bench/bench_token.py times it); these cost the most.
    probe = (
        "import sys; from wizard.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in ('requests', 'jwt', 'filelock', 'sqlalchemy') if m in sys.modules), "
        "file=sys.stderr); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "token", "--env", str(connected_env)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"
