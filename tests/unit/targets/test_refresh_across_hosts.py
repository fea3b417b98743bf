"""The runtime client and the CLI on a database target: several "hosts" (processes with
their own connections) share one system_settings row and refresh exactly once."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_two_hosts_on_a_dead_token_refresh_once(db: Db, sandbox: Sandbox) -> None:
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


def test_the_backends_own_seed_table_with_flags_for_what_it_lacks(
    db: Db, sandbox: Sandbox, cli_env: dict[str, str]
) -> None:
    """The Node backend's table keeps only the tokens; the flags and the secret's environment
    variable supply the rest, on connect and on every later run."""
    text = "TEXT" if db.backend != "mysql" else "VARCHAR(255)"
    db.run(
        f"CREATE TABLE system_settings (key {text} PRIMARY KEY, value TEXT, "
        "amocrm_access_token TEXT, amocrm_refresh_token TEXT, updated_at TIMESTAMP NULL)"
        if db.backend != "mysql"
        else "CREATE TABLE system_settings (`key` VARCHAR(255) PRIMARY KEY, value TEXT, "
        "amocrm_access_token TEXT, amocrm_refresh_token TEXT, updated_at DATETIME NULL) ENGINE=InnoDB",
    )
    db.run(
        "INSERT INTO system_settings ("
        + ("`key`" if db.backend == "mysql" else "key")
        + ", value) VALUES ('smtp', 'mail.example.com')"
    )
    it = sandbox.integration
    env = {**cli_env, "AMOCRM_CLIENT_SECRET": it.client_secret}
    flags = ["--db", db.url, *integration_flags(sandbox)]
    connect = run_cli(
        ["connect", *flags, "--code", sandbox.issue_code()],
        env,
    )
    assert connect.returncode == 0, connect.stderr
    assert "amocrm_client_id" in connect.stdout  # the admin is told what the table could not hold
    sandbox.expire_access_tokens()
    test = run_cli(["test", *flags], env)
    assert test.returncode == 0, test.stderr
    assert sandbox.stats.refreshes == 1
    ours, other = db.rows()  # ordered by key: "amocrm_tokens" < "smtp"
    assert other == ("smtp", "mail.example.com", None, None, None)
    assert ours[0] == "amocrm_tokens" and ours[1] is None
    assert ours[2].startswith("eyJ") and ours[3].startswith("def502") and ours[4] is not None
