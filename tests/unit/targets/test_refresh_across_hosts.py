"""The runtime client and the CLI on a database target: several "hosts" (processes with
their own connections) share one system_settings row and refresh exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import connect_sandbox, integration_flags, run_cli
from tests.unit.targets.conftest import Db
from wizard.runtime import AmoCRMClient
from wizard.sandbox import Sandbox

HOST = """
import sys
from wizard.runtime import AmoCRMClient
from wizard.targets import open_target
client = AmoCRMClient(open_target(db=sys.argv[1]))
print(client.get("/api/v4/account").status_code, client.source.refresh_count)
"""


def test_two_hosts_on_a_dead_token_refresh_once(contended_db: Db, sandbox: Sandbox) -> None:
    db = contended_db
    db.target().save(connect_sandbox(sandbox))
    sandbox.expire_access_tokens()
    sandbox.refresh_delay = 1.0  # the second host asks while the first one's refresh is in flight
    hosts = [
        subprocess.Popen([sys.executable, "-c", HOST, db.url], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = sorted(h.communicate(timeout=120)[0].split() for h in hosts)
    assert [o[0] for o in outputs] == ["200", "200"]
    assert sorted(int(o[1]) for o in outputs) == [0, 1]
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0
    stored = db.target().load()
    assert stored is not None and stored.tokens is not None
    with AmoCRMClient(db.target()) as client:
        assert client.get("/api/v4/account").status_code == 200
        assert client.source.refresh_count == 0  # the stored pair is the newest, and it works


def test_cli_connect_test_and_refresh_on_a_database(
    db: Db, sandbox: Sandbox, cli_env: dict[str, str]
) -> None:
    it = sandbox.integration
    env = {**cli_env, "AMOCRM_CLIENT_SECRET": it.client_secret}
    connect = run_cli(
        ["connect", "--db", db.url, *integration_flags(sandbox, code=sandbox.issue_code())], env
    )
    assert connect.returncode == 0, connect.stderr
    sandbox.expire_access_tokens()
    test = run_cli(["test", "--db", db.url], cli_env)
    assert test.returncode == 0, test.stderr
    assert sandbox.stats.refreshes == 1
    check = run_cli(["check", "--db", db.url], cli_env)
    assert check.returncode == 0, check.stdout
    assert it.client_secret not in check.stdout
    assert os.environ.get("AMOCRM_CLIENT_SECRET") is None


def seed_table(db: Db, *, with_value: bool) -> None:
    """The Node backend's own table: the tokens, ``updated_at`` and perhaps ``value``."""
    key = "`key`" if db.backend == "mysql" else "key"
    text = "VARCHAR(255)" if db.backend == "mysql" else "TEXT"
    value = "value TEXT, " if with_value else ""
    stamp = "DATETIME" if db.backend == "mysql" else "TIMESTAMP"
    engine = " ENGINE=InnoDB" if db.backend == "mysql" else ""
    db.run(
        f"CREATE TABLE system_settings ({key} {text} PRIMARY KEY, {value}"
        f"amocrm_access_token TEXT, amocrm_refresh_token TEXT, updated_at {stamp} NULL){engine}"
    )
    db.run(f"INSERT INTO system_settings ({key}) VALUES ('smtp')")


def connect_into_seed_table(
    db: Db, sandbox: Sandbox, cli_env: dict[str, str], *, with_value: bool
) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """``connect --db`` on the backend's own table, the secret in the environment: that
    environment and connect's result (which succeeded)."""
    seed_table(db, with_value=with_value)
    env = {**cli_env, "AMOCRM_CLIENT_SECRET": sandbox.integration.client_secret}
    connect = run_cli(
        ["connect", "--db", db.url, *integration_flags(sandbox), "--code", sandbox.issue_code()], env
    )
    assert connect.returncode == 0, connect.stderr
    return env, connect


def test_the_backends_own_seed_table_needs_no_flag_after_connect(
    db: Db, sandbox: Sandbox, cli_env: dict[str, str]
) -> None:
    """After connect, the account address, client id, redirect URI and expiry live in the
    wizard's row's ``value``; the secret comes from the environment (contract, "Database
    layout"). test, refresh and status then take nothing but the target."""
    it = sandbox.integration
    env, connect = connect_into_seed_table(db, sandbox, cli_env, with_value=True)
    assert "amocrm_client_id" not in connect.stdout  # nothing was left unstored but the secret
    ours, other = db.rows()  # ordered by key: "amocrm_tokens" < "smtp"
    assert other == ("smtp", None, None, None, None)
    kept = json.loads(ours[1])
    assert kept["AMOCRM_BASE_URL"] == sandbox.base_url and kept["AMOCRM_CLIENT_ID"] == it.client_id
    assert kept["AMOCRM_REDIRECT_URI"] == it.redirect_uri and "AMOCRM_TOKEN_EXPIRES_AT" in kept
    assert it.client_secret not in ours[1]

    sandbox.expire_access_tokens()
    test = run_cli(["test", "--db", db.url], env)
    assert test.returncode == 0, test.stderr
    assert sandbox.stats.refreshes == 1
    refresh = run_cli(["refresh", "--db", db.url], env)
    assert refresh.returncode == 0, refresh.stderr
    assert sandbox.stats.refreshes == 2
    status = run_cli(["status", "--db", db.url], cli_env)  # status needs no secret at all
    assert status.returncode == 0, status.stderr
    ours, _other = db.rows()
    assert ours[0] == "amocrm_tokens" and ours[2].startswith("eyJ") and ours[3].startswith("def502")
    assert ours[4] is not None

    without_secret = run_cli(["refresh", "--db", db.url], cli_env)
    assert without_secret.returncode == 1
    assert "AMOCRM_CLIENT_SECRET" in without_secret.stderr
    assert sandbox.stats.refreshes == 2  # nothing was sent


def test_a_seed_table_without_value_takes_the_rest_from_the_environment(
    db: Db, sandbox: Sandbox, cli_env: dict[str, str]
) -> None:
    """Where nothing can hold a value, the AMOCRM_* environment supplies it; a value found
    nowhere is exit 1, named, with where to put it."""
    it = sandbox.integration
    env, connect = connect_into_seed_table(db, sandbox, cli_env, with_value=False)
    assert "amocrm_client_id" in connect.stdout  # the admin is told what the table could not hold

    nowhere = run_cli(["refresh", "--db", db.url], env)
    assert nowhere.returncode == 1
    for name in ("AMOCRM_BASE_URL", "AMOCRM_CLIENT_ID", "AMOCRM_REDIRECT_URI", "--account"):
        assert name in nowhere.stderr
    assert sandbox.stats.refreshes == 0

    backend_env = {
        **env,
        "AMOCRM_BASE_URL": sandbox.base_url,
        "AMOCRM_CLIENT_ID": it.client_id,
        "AMOCRM_REDIRECT_URI": it.redirect_uri,
    }
    sandbox.expire_access_tokens()
    test = run_cli(["test", "--db", db.url], backend_env)
    assert test.returncode == 0, test.stderr
    assert sandbox.stats.refreshes == 1
    flags = run_cli(["refresh", "--db", db.url, *integration_flags(sandbox)], env)
    assert flags.returncode == 0, flags.stderr
    assert sandbox.stats.refreshes == 2


@pytest.mark.db
def test_the_pooler_the_contention_tests_use_is_in_transaction_mode(pgbouncer: int) -> None:
    """So the PgBouncer runs of the contention tests prove what the contract promises."""
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={pgbouncer} dbname=pgbouncer user=postgres",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    ) as conn:
        settings = {row[0]: row[1] for row in conn.execute("SHOW CONFIG").fetchall()}
    assert settings["pool_mode"] == "transaction"
