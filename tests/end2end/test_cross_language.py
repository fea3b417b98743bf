"""Node processes on ``amocrm-wizard-client`` and Python processes on ``AmoCRMClient`` share one
target; its access token dies under them: exactly one refresh, no rejected grant.

Every process first makes a request (so each holds the soon-dead token), then all are let
go at once. The sandbox holds the winner's refresh for a second, so every other process
is refused and asks for a new token while the first refresh is still in flight.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import connect_sandbox
from wizard.sandbox import Sandbox
from wizard.targets import open_target
from wizard.targets.sql import SqlTarget

ROOT = Path(__file__).resolve().parents[2]
NODE_WORKER = Path(__file__).with_name("cross_language_worker.js")
PYTHON_WORKER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from wizard.runtime import AmoCRMClient
from wizard.targets import open_target
kind, where, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with AmoCRMClient(open_target(**{kind: where})) as client:
    client.account()
    print("ready", flush=True)
    sys.stdin.readline()
    with ThreadPoolExecutor(count) as pool:
        codes = list(pool.map(lambda _: client.get("/api/v4/account").status_code, range(count)))
print("done", codes.count(200), flush=True)
"""
PROCESSES_PER_LANGUAGE = 3
REQUESTS_PER_PROCESS = 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("node") is None or not (ROOT / "clients/node/node_modules/axios").is_dir(),
        reason="needs node and clients/node/node_modules (scripts/setup.sh)",
    ),
]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway schema on the test server, reached through search_path."""
    import sqlalchemy as sa

    from wizard.targets.sql import parse_db_url

    base = os.environ.get("AMOCRM_TEST_POSTGRES_URL", "")
    if not base:
        pytest.skip("set AMOCRM_TEST_POSTGRES_URL to run against PostgreSQL")
    schema = f"wiz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(parse_db_url(base).engine_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def helper_script(folder: Path) -> str:
    """``amocrm-wizard`` for the Node processes: this checkout, this interpreter."""
    path = folder / "amocrm-wizard"
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m wizard "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def start(kind: str, where: str, tmp_path: Path, cli_env: dict[str, str]) -> list[subprocess.Popen[str]]:
    count = str(REQUESTS_PER_PROCESS)
    node = ["node", str(NODE_WORKER), kind, where, helper_script(tmp_path), count]
    python = [sys.executable, "-c", PYTHON_WORKER, kind, where, count]
    env = {**cli_env, "PYTHONPATH": str(ROOT)}
    return [
        subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for cmd in [node] * PROCESSES_PER_LANGUAGE + [python] * PROCESSES_PER_LANGUAGE
    ]


def one_refresh_for_everyone(
    sandbox: Sandbox, kind: str, where: str, tmp_path: Path, env: dict[str, str]
) -> None:
    procs = start(kind, where, tmp_path, env)
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.communicate(timeout=60)
        sandbox.expire_access_tokens()  # the token every process holds dies
        sandbox.reset_stats()
        sandbox.refresh_delay = 1.0
        outputs = [proc.communicate("go\n", timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    assert [out.strip() for out, _err in outputs] == [f"done {REQUESTS_PER_PROCESS}"] * len(procs), outputs
    stats = sandbox.stats
    assert stats.refreshes == 1 and stats.refresh_attempts == 1, stats
    assert stats.rejected_refresh_replays == 0, stats
    # The target holds the one new pair, and it works.
    target = open_target(**{kind: where})
    try:
        stored = target.load()
    finally:
        target.close()
    assert stored is not None and stored.tokens is not None
    answer = requests.get(
        f"{sandbox.base_url}/api/v4/account",
        headers={"Authorization": f"Bearer {stored.tokens.access_token}"},
        timeout=5,
    )
    assert answer.status_code == 200


def test_node_and_python_processes_on_one_env_file_refresh_once(
    sandbox: Sandbox, connected_env: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    one_refresh_for_everyone(sandbox, "env", str(connected_env), tmp_path, cli_env)


@pytest.mark.db
def test_node_and_python_processes_on_one_postgresql_row_refresh_once(
    sandbox: Sandbox, postgres_url: str, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    target = SqlTarget(postgres_url)  # a table the wizard creates, as connect --db leaves it
    try:
        target.save(connect_sandbox(sandbox))
    finally:
        target.close()
    one_refresh_for_everyone(sandbox, "db", postgres_url, tmp_path, cli_env)
