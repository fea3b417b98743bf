"""The database target against real SQLite, PostgreSQL and MariaDB (no mocks).

Most tests run once per dialect through the ``db`` fixture (see conftest.py); the server
ones skip unless AMOCRM_TEST_POSTGRES_URL / AMOCRM_TEST_MYSQL_URL name a server.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import connect_sandbox
from tests.unit.targets.conftest import Db, MemoryKeyring, admin_engine, server_url
from wizard.core import connection as k
from wizard.core.connection import OWNED_KEYS, Connection
from wizard.core.errors import (
    InvalidTargetError,
    ReauthorizationRequired,
    TargetError,
    TargetLockTimeout,
    VerificationError,
)
from wizard.core.tokens import TokenPair
from wizard.runtime.source import TokenSource
from wizard.sandbox import Sandbox
from wizard.targets.base import SaveReport, TokenTarget
from wizard.targets.credentials import Credentials
from wizard.targets.keyring_store import SERVICE
from wizard.targets.sql import COLUMNS, SqlTarget, parse_db_url

REPO = Path(__file__).resolve().parents[3]
BASE = "https://mycompany.amocrm.ru"
CLIENT = "5e4b7c2a-1111-4222-8333-944455556666"
SECRET = "Zt8mQeVz3kP0yLrB6sWnA1cXhJ9uG4dF7oTiE2qR5vMbN0lKaYs"
REDIRECT = "https://backend.example.com/amocrm/callback"
EXPIRY = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def pair(n: int) -> TokenPair:
    # As long as a real amoCRM JWT (~900 characters), so short columns would show.
    return TokenPair(f"eyJ0eXAiOiJKV1Qi.{n:04d}.{'x' * 900}", f"def50200-rt-{n}", EXPIRY + timedelta(hours=n))


def connection(n: int = 0) -> Connection:
    return Connection(BASE, CLIENT, SECRET, REDIRECT, pair(n))


def refresh_of(stored: Connection | None) -> str:
    assert stored is not None and stored.tokens is not None
    return stored.tokens.refresh_token


# --- URLs (no server needed) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:////abs/path.db", "sqlite"),
        ("postgresql://user:pw@db.example.com:5432/app", "postgresql+psycopg"),
        (
            "postgres://postgres.abcd:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
            "postgresql+psycopg",
        ),
        ("postgresql+psycopg://user@db.example.com/app", "postgresql+psycopg"),
        ("mysql://user:pw@db.example.com:3306/app", "mysql+pymysql"),
        ("mariadb://user:pw@db.example.com/app", "mysql+pymysql"),
        ("mysql+pymysql://user@db.example.com/app", "mysql+pymysql"),
    ],
)
def test_accepted_urls(url: str, driver: str) -> None:
    assert parse_db_url(url).engine_url.drivername == driver


def test_a_relative_sqlite_path_is_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    parsed = parse_db_url("sqlite:///relative.db")
    assert parsed.engine_url.database == str(tmp_path / "relative.db")
    assert parsed.description == "sqlite:///relative.db"
    assert parse_db_url("sqlite:////abs/path.db").engine_url.database == "/abs/path.db"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "http://example.com/db",
        "oracle://scott:tiger-pw@db.example.com/app",
        "postgresql+asyncpg://user:tiger-pw@db.example.com/app",
        "mysql+mysqldb://user:tiger-pw@db.example.com/app",
        "postgresql://user:tiger-pw@db.example.com:port/app",
        "mysql://user:tiger-pw@db.example.com",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(InvalidTargetError) as caught:
        SqlTarget(url)
    error = caught.value
    assert error.exit_code == 2
    assert "tiger-pw" not in str(error)
    if "sqlite" not in url and "mysql://" not in url:
        assert "sqlite:///" in str(error) and "postgresql://" in str(error) and "mysql://" in str(error)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://admin:S3cr3t-pw@db.example.com:5432/app",
            "postgresql://admin:***@db.example.com:5432/app",
        ),
        (
            "postgres://postgres.abcd:S3cr3t-pw@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require",
            "postgres://postgres.abcd:***@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require",
        ),
        ("mysql://root:S3cr3t-pw@127.0.0.1/app", "mysql://root:***@127.0.0.1/app"),
        ("sqlite:////var/lib/app/settings.db", "sqlite:////var/lib/app/settings.db"),
    ],
)
def test_description_masks_the_password(url: str, shown: str) -> None:
    target = SqlTarget(url)
    assert target.description == shown


def test_sslmode_and_other_parameters_reach_the_driver() -> None:
    target = SqlTarget("postgres://user:pw@db.example.com:5432/app?sslmode=require")
    engine_url = target.engine().url  # building the engine does not connect
    assert engine_url.drivername == "postgresql+psycopg"
    assert engine_url.query["sslmode"] == "require"
    target.close()


def test_importing_the_targets_does_not_import_sqlalchemy() -> None:
    code = "import sys, wizard.targets; assert 'sqlalchemy' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- the layout the wizard creates ----------------------------------------------------


def test_creates_the_table_and_round_trips(db: Db) -> None:
    target = db.target()
    assert target.read_values() == {}
    assert target.load() is None
    assert target.plan(connection()).written == OWNED_KEYS

    before = datetime.now(timezone.utc).replace(microsecond=0)
    report = target.save(connection())
    assert report.written == OWNED_KEYS
    assert report.elsewhere == {}
    assert report.target == target.description

    assert target.load() == connection()
    assert db.target().load() == connection()  # a fresh engine reads the same
    values = db.target().read_values()
    assert values[k.EXPIRES_AT] == "2026-12-02T09:00:00Z"
    assert values[k.SUBDOMAIN] == "mycompany"

    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("system_settings")}
        updated_at = conn.execute(sa.text("SELECT updated_at FROM system_settings")).scalar_one()
    assert columns == {"key", "updated_at", *COLUMNS.values()}
    if isinstance(updated_at, str):  # SQLite hands DATETIME back as text through raw SQL
        updated_at = datetime.fromisoformat(updated_at)
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=2) <= updated_at <= datetime.now(timezone.utc) + timedelta(seconds=2)


def test_a_second_save_replaces_the_row(db: Db) -> None:
    target = db.target()
    target.save(connection(0))
    target.save(connection(1))
    assert target.load() == connection(1)
    assert len(db.rows()) == 1


def test_check_writable_leaves_nothing_behind(db: Db) -> None:
    target = db.target()
    target.check_writable()
    if db.backend == "sqlite":
        assert not Path(str(target.url.engine_url.database)).exists()
    elif db.backend == "postgresql":
        assert not db.has_table()
    else:
        # MySQL cannot roll back CREATE TABLE: the empty table the first save needs stays.
        assert db.has_table() and db.rows() == []
    target.save(connection())
    target.check_writable()
    assert target.load() == connection()


def test_a_lock_released_without_saving_changes_nothing(db: Db) -> None:
    target = db.target()
    with target.lock() as held:
        assert held.stored is None
    if db.has_table():
        assert db.rows() == []  # the row made to hold the lock was rolled back

    target.save(connection(0))
    with pytest.raises(RuntimeError), target.lock() as held:
        assert held.stored == connection(0)
        raise RuntimeError("the refresh failed")
    assert target.load() == connection(0)


def test_two_saves_under_one_lock(db: Db) -> None:
    target = db.target()
    with target.lock() as held:
        held.save(connection(0))
        held.save(connection(1))
        assert held.stored == connection(1)
    assert target.load() == connection(1)


# --- an existing table shaped like the backend's seed ---------------------------------

SEED_DDL = {
    "postgresql": """CREATE TABLE system_settings (
        key text PRIMARY KEY, value jsonb, description text,
        amocrm_access_token text, amocrm_refresh_token text,
        updated_at timestamptz DEFAULT now())""",
    "mysql": """CREATE TABLE system_settings (
        `key` varchar(255) PRIMARY KEY, value JSON, description text,
        amocrm_access_token text, amocrm_refresh_token text,
        updated_at datetime DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB""",
    "sqlite": """CREATE TABLE system_settings (
        key TEXT PRIMARY KEY, value TEXT, description TEXT,
        amocrm_access_token TEXT, amocrm_refresh_token TEXT,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""",
}
SEED_ROWS = [
    ("smtp", '{"host": "smtp.example.com", "port": 587}', "Mail server", None, None),
    ("amocrm_tokens", '{"note": "kept by the backend"}', "amoCRM OAuth tokens", "old-access", "old-refresh"),
]
NOT_STORED = {
    k.BASE_URL: "not stored: the table has no column amocrm_base_url",
    k.SUBDOMAIN: "not stored: the table has no column amocrm_subdomain",
    k.CLIENT_ID: "not stored: the table has no column amocrm_client_id",
    k.REDIRECT_URI: "not stored: the table has no column amocrm_redirect_uri",
    k.EXPIRES_AT: "not stored: the table has no column amocrm_expires_at",
}
#: What the seed table's ``value`` holds for the wizard's row: everything but the secret and tokens.
IN_VALUE = {
    k.BASE_URL: BASE,
    k.SUBDOMAIN: "mycompany",
    k.CLIENT_ID: CLIENT,
    k.REDIRECT_URI: REDIRECT,
    k.EXPIRES_AT: "2026-12-02T09:00:00Z",
}


def seed(db: Db, *, with_our_row: bool = True, with_value: bool = True) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    ddl = SEED_DDL[db.backend]
    if not with_value:
        ddl = ddl.replace(" value jsonb,", "").replace(" value JSON,", "").replace(" value TEXT,", "")
    db.run(ddl)
    value = "value, " if with_value else ""
    for row in SEED_ROWS if with_our_row else SEED_ROWS[:1]:
        db.run(
            f"INSERT INTO system_settings ({key}, {value}description, amocrm_access_token, "
            f"amocrm_refresh_token, updated_at) VALUES (:k, {':v, ' if with_value else ''}:d, :a, :r, :u)",
            k=row[0],
            v=row[1],
            d=row[2],
            a=row[3],
            r=row[4],
            u=datetime(2024, 1, 1),
        )


def value_of(row: tuple[Any, ...]) -> dict[str, Any]:
    """The ``value`` column as an object, whichever type the dialect hands back."""
    value = row[1]
    return json.loads(value) if isinstance(value, str | bytes) else dict(value)


def save_into_seed_table(db: Db, **seed_args: bool) -> tuple[TokenTarget, list[tuple[Any, ...]], SaveReport]:
    """Seed the backend's table, then save a connection into it as the commands open it: the
    target, the rows before, and the report (which planning foretold, writing nothing)."""
    seed(db, **seed_args)
    before = db.rows()
    target = db.completed()
    planned = target.plan(connection())
    assert db.rows() == before  # planning wrote nothing
    report = target.save(connection())
    assert report == planned
    return target, before, report


@pytest.mark.parametrize("with_our_row", [True, False], ids=["row-exists", "row-missing"])
def test_seed_table_keeps_the_rest_of_the_connection_in_value(
    db: Db, memory_keyring: MemoryKeyring, with_our_row: bool
) -> None:
    """The backend's own table: what has no column goes, as one JSON object keyed by the
    .env names, into the wizard's row's ``value`` (contract, "Database layout")."""
    _target, before, report = save_into_seed_table(db, with_our_row=with_our_row)
    assert report.written == tuple(key for key in OWNED_KEYS if key != k.CLIENT_SECRET)
    assert report.elsewhere == {k.CLIENT_SECRET: "the OS keyring"}
    assert memory_keyring.entries == {(SERVICE, f"{BASE}|{CLIENT}"): SECRET}

    after = db.rows()
    smtp_before = next(r for r in before if r[0] == "smtp")
    assert next(r for r in after if r[0] == "smtp") == smtp_before
    ours = next(r for r in after if r[0] == "amocrm_tokens")
    # key, value, description, access, refresh, updated_at
    assert value_of(ours) == IN_VALUE  # the whole object, replacing what was there; no secret
    assert SECRET not in str(ours[1])
    if with_our_row:
        old = next(r for r in before if r[0] == "amocrm_tokens")
        assert ours[2] == old[2]
        assert ours[5] != old[5]
    else:
        assert ours[2] is None
    assert ours[3:5] == (pair(0).access_token, pair(0).refresh_token)
    assert len(after) == 2

    # The table alone rebuilds the connection; the keyring gives the secret back.
    assert db.target().read_values() == {
        **IN_VALUE,
        k.ACCESS_TOKEN: pair(0).access_token,
        k.REFRESH_TOKEN: pair(0).refresh_token,
    }
    fresh = db.completed()
    assert fresh.load() == connection(0)
    with fresh.lock() as held:
        assert held.stored == connection(0)
        held.save(connection(1))
    assert db.target().load() == Connection(BASE, CLIENT, "", REDIRECT, pair(1))


@pytest.mark.parametrize("with_our_row", [True, False], ids=["row-exists", "row-missing"])
def test_seed_table_without_value_keeps_other_rows_and_columns(
    db: Db, memory_keyring: MemoryKeyring, with_our_row: bool
) -> None:
    target, before, report = save_into_seed_table(db, with_our_row=with_our_row, with_value=False)
    assert report.written == (k.ACCESS_TOKEN, k.REFRESH_TOKEN)
    assert report.elsewhere == {**NOT_STORED, k.CLIENT_SECRET: "the OS keyring"}
    assert memory_keyring.entries == {(SERVICE, f"{BASE}|{CLIENT}"): SECRET}

    after = db.rows()
    smtp_before = next(r for r in before if r[0] == "smtp")
    assert next(r for r in after if r[0] == "smtp") == smtp_before
    ours = next(r for r in after if r[0] == "amocrm_tokens")
    # key, description, access, refresh, updated_at
    if with_our_row:
        old = next(r for r in before if r[0] == "amocrm_tokens")
        assert ours[:2] == old[:2]
        assert ours[4] != old[4]
    else:
        assert ours[1] is None
    assert ours[2:4] == (pair(0).access_token, pair(0).refresh_token)
    assert len(after) == 2

    # The table has no account address, so on its own it cannot rebuild a connection...
    assert target.read_values() == {
        k.ACCESS_TOKEN: pair(0).access_token,
        k.REFRESH_TOKEN: pair(0).refresh_token,
    }
    assert target.load() is None
    # ...but a caller that knows the account and client gets the secret back from the keyring.
    known = db.completed(known_values={k.BASE_URL: BASE, k.CLIENT_ID: CLIENT, k.REDIRECT_URI: REDIRECT})
    loaded = known.load()
    assert loaded is not None and loaded.client_secret == SECRET
    assert loaded.tokens is not None and loaded.tokens.refresh_token == pair(0).refresh_token
    with known.lock() as held:
        assert held.stored == loaded
        held.save(connection(1))
    assert db.target().read_values()[k.REFRESH_TOKEN] == pair(1).refresh_token


@pytest.mark.usefixtures("fail_keyring")
def test_seed_table_without_a_keyring_says_the_secret_was_not_stored(db: Db) -> None:
    seed(db)
    report = db.completed().save(connection())
    assert report.elsewhere[k.CLIENT_SECRET] == (
        "not stored: the table has no column amocrm_client_secret and no OS keyring is available"
    )
    assert db.target().read_values()[k.REFRESH_TOKEN] == pair(0).refresh_token


# --- amoCRM's verdict on the refresh token --------------------------------------------

VERDICT = "2026-12-02T10:00:00Z 0123456789ab"


def test_the_verdict_has_a_column_in_the_wizards_table(db: Db) -> None:
    target = db.target()
    report = target.save(connection(0).with_verdict(VERDICT))
    assert report.written == (*OWNED_KEYS, k.REFRESH_REJECTED)
    assert db.target().load() == connection(0).with_verdict(VERDICT)
    with db.engine.connect() as conn:
        column = conn.execute(sa.text("SELECT amocrm_refresh_rejected FROM system_settings")).scalar_one()
    assert column == VERDICT
    # A save without a verdict clears it.
    assert target.save(connection(1)).written == OWNED_KEYS
    assert db.target().load() == connection(1)
    assert k.REFRESH_REJECTED not in db.target().read_values()


def test_the_verdict_goes_into_value_in_the_backends_table(db: Db) -> None:
    seed(db)
    target = db.completed()
    target.save(connection(0).with_verdict(VERDICT))
    ours = next(r for r in db.rows() if r[0] == "amocrm_tokens")
    assert value_of(ours) == {**IN_VALUE, k.REFRESH_REJECTED: VERDICT}
    assert db.completed().load() == connection(0).with_verdict(VERDICT)
    target.save(connection(0))
    ours = next(r for r in db.rows() if r[0] == "amocrm_tokens")
    assert value_of(ours) == IN_VALUE


def test_a_verdict_after_a_save_under_one_lock_keeps_what_that_save_put_in_value(db: Db) -> None:
    # The verdict is merged into the row as the lock last found it: the save's commit let the
    # row go and the verdict takes it again, so that is the saved row. Merging into the row
    # the lock first found would write the old expiry back into value.
    seed(db)
    with db.completed().lock() as held:
        held.save(connection(1))
        held.save_verdict(VERDICT)
    ours = next(r for r in db.rows() if r[0] == "amocrm_tokens")
    assert value_of(ours)[k.REFRESH_REJECTED] == VERDICT
    assert db.completed().load() == connection(1).with_verdict(VERDICT)


def test_an_older_wizard_table_keeps_the_verdict_in_value_or_in_memory(db: Db) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    text = "varchar(255)" if db.backend == "mysql" else "text"
    columns = ", ".join(f"{c} text" for k_, c in COLUMNS.items() if k_ != k.REFRESH_REJECTED)
    db.run(f"CREATE TABLE system_settings ({key} {text} PRIMARY KEY, {columns})")
    target = db.target()
    report = target.save(connection(0).with_verdict(VERDICT))
    assert report.written == OWNED_KEYS
    assert report.elsewhere == {
        k.REFRESH_REJECTED: "only in this program's memory: the table has no column "
        "amocrm_refresh_rejected and no value column"
    }
    assert target.load() == connection(0).with_verdict(VERDICT)  # this process remembers
    assert db.target().load() == connection(0)  # another does not
    with target.lock() as held:
        assert held.stored == connection(0).with_verdict(VERDICT)
        held.save(connection(1))
    assert target.load() == connection(1)

    db.run("ALTER TABLE system_settings ADD COLUMN value text")
    other = db.target()
    assert other.save(connection(1).with_verdict(VERDICT)).written == (*OWNED_KEYS, k.REFRESH_REJECTED)
    assert json.loads(db_value(db)) == {k.REFRESH_REJECTED: VERDICT}
    assert db.target().load() == connection(1).with_verdict(VERDICT)


def db_value(db: Db) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT value FROM system_settings")).scalar_one())


def test_a_key_column_without_a_unique_constraint(db: Db) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    text = "varchar(255)" if db.backend == "mysql" else "text"
    db.run(
        f"CREATE TABLE system_settings ({key} {text}, amocrm_base_url text, amocrm_access_token text, "
        "amocrm_refresh_token text)",
        f"INSERT INTO system_settings ({key}, amocrm_base_url) VALUES ('smtp', 'kept')",
    )
    target = db.target()
    target.save(connection(0))
    target.save(connection(1))
    assert sorted(db.rows(), key=lambda r: str(r[0])) == [
        ("amocrm_tokens", BASE, pair(1).access_token, pair(1).refresh_token),
        ("smtp", "kept", None, None),
    ]


def test_a_table_without_the_token_columns_is_refused(db: Db) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    db.run(f"CREATE TABLE system_settings ({key} varchar(255) PRIMARY KEY, value text)")
    target = db.target()
    with pytest.raises(TargetError, match="no column amocrm_access_token, amocrm_refresh_token"):
        target.check_writable()
    with pytest.raises(TargetError):
        target.save(connection())


def test_a_row_that_needs_foreign_values_is_explained(db: Db) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    db.run(
        f"CREATE TABLE system_settings ({key} varchar(255) PRIMARY KEY, description text NOT NULL, "
        "amocrm_access_token text, amocrm_refresh_token text)"
    )
    # (``value`` would not do: in the wizard's own row it is the wizard's, and gets "{}".)
    with pytest.raises(TargetError, match="needs values for description"):
        db.target().save(connection())


# --- locking --------------------------------------------------------------------------


def test_a_held_lock_times_out_another_host(contended_db: Db) -> None:
    db = contended_db
    holder, waiter = db.target(), db.target()  # separate engines: separate "hosts"
    holder.save(connection(0))
    with holder.lock():
        started = time.monotonic()
        with pytest.raises(TargetLockTimeout), waiter.lock(timeout=1):
            pass
        assert time.monotonic() - started < 5
    with waiter.lock(timeout=1) as held:  # free again
        assert held.stored == connection(0)


def test_a_waiter_gets_the_holders_new_pair(contended_db: Db) -> None:
    db = contended_db
    holder, waiter = db.target(), db.target()
    holder.save(connection(0))
    seen: list[Connection | None] = []
    entered = threading.Event()

    def wait_for_lock() -> None:
        entered.set()
        with waiter.lock(timeout=30) as held:
            seen.append(held.stored)

    with holder.lock() as held:
        thread = threading.Thread(target=wait_for_lock)
        thread.start()
        entered.wait()
        time.sleep(0.5)
        assert seen == []  # still waiting
        held.save(connection(1))
    thread.join(30)
    assert seen == [connection(1)]


def no_unique_key_table(db: Db) -> None:
    key = db.engine.dialect.identifier_preparer.quote("key")
    text = "varchar(255)" if db.backend == "mysql" else "text"
    db.run(
        f"CREATE TABLE system_settings ({key} {text}, amocrm_base_url text, amocrm_client_id text, "
        "amocrm_client_secret text, amocrm_redirect_uri text, amocrm_access_token text, "
        "amocrm_refresh_token text, amocrm_expires_at text)"
    )


@pytest.mark.parametrize("layout", ["no-table-yet", "key-not-unique"])
def test_the_first_lock_excludes_others_before_the_row_exists(contended_db: Db, layout: str) -> None:
    """Nothing to lock yet: the second host must still wait, then see the first one's pair."""
    db = contended_db
    if layout == "key-not-unique":
        no_unique_key_table(db)
    first, second = db.target(), db.target()
    seen: list[Connection | None] = []
    waiting = threading.Event()

    def second_host() -> None:
        waiting.set()
        with second.lock(timeout=30) as held:
            seen.append(held.stored)
            if held.stored is None:
                held.save(connection(99))

    with first.lock() as held:
        assert held.stored is None
        thread = threading.Thread(target=second_host)
        thread.start()
        waiting.wait()
        time.sleep(0.7)
        assert seen == []
        held.save(connection(0))
    thread.join(30)
    assert seen == [connection(0)]
    assert [r for r in db.rows() if r[0] == "amocrm_tokens"] == [db.rows()[0]]
    assert first.load() == connection(0)


def test_threads_sharing_a_target_never_lose_an_update(contended_db: Db) -> None:
    db = contended_db
    target = db.target()
    target.save(connection(0))
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            for _ in range(5):
                with target.lock(timeout=60) as held:
                    n = int(refresh_of(held.stored).rsplit("-", 1)[1])
                    held.save(connection(n + 1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=increment) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert target.load() == connection(40)


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from wizard.core.connection import Connection
    from wizard.core.tokens import TokenPair
    from wizard.targets.sql import SqlTarget

    url, rounds, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    target = SqlTarget(url)
    target.read_values()  # imports and the first connection happen before the start line
    while not go.exists():
        time.sleep(0.002)
    seen = []
    for _ in range(rounds):
        with target.lock(timeout=120) as held:
            stored = held.stored
            n = int(stored.tokens.refresh_token.split("-")[1]) if stored and stored.tokens else 0
            seen.append(n)
            time.sleep(0.005)  # a refresh takes a while; widen the window for a lost update
            tokens = TokenPair(f"access-{n + 1}", f"rt-{n + 1}", datetime(2026, 12, 2, tzinfo=timezone.utc))
            held.save(Connection("https://mycompany.amocrm.ru", "cid", "secret", "https://x", tokens))
    print(json.dumps(seen))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["no-table-yet", "key-not-unique"])
def test_processes_never_double_refresh(contended_db: Db, tmp_path: Path, layout: str) -> None:
    db = contended_db
    if layout == "key-not-unique":
        no_unique_key_table(db)
    processes, rounds = 8, 3
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db.url, str(rounds), str(go)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    time.sleep(1.5)  # let them all import and connect
    go.touch()
    seen: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        seen.extend(json.loads(out))
    total = processes * rounds
    # Every process saw a different stored value: nobody ever spent a spent token.
    assert sorted(seen) == list(range(total))
    assert db.target().read_values()[k.REFRESH_TOKEN] == f"rt-{total}"
    assert len([r for r in db.rows() if r[0] == "amocrm_tokens"]) == 1


def test_the_loser_of_a_create_table_race_on_postgresql_retries(db: Db) -> None:
    """Two PostgreSQL sessions running CREATE TABLE IF NOT EXISTS at once: the loser may fail
    on the table's row type (42710, 'type "system_settings" already exists'; seen in CI with
    8 processes) rather than find the table. That is the race the lock step retries, not a
    refusal to report. The error here is the server's own, from a type left in the way."""
    if db.backend != "postgresql":
        pytest.skip("the row-type collision is PostgreSQL's")
    from sqlalchemy import exc as sa_exc

    db.run("CREATE TYPE system_settings AS ENUM ('a')")
    with pytest.raises(sa_exc.DBAPIError) as caught, db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE system_settings (key text)"))
    assert getattr(caught.value.orig, "sqlstate", None) == "42710"
    assert db.target().dialect.is_race(caught.value)


# --- failures -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:1/test", "mysql://root@127.0.0.1:1/test"])
def test_an_unreachable_server_fails_within_seconds(url: str) -> None:
    target = SqlTarget(url)
    for attempt in (target.read_values, target.check_writable, lambda: target.save(connection())):
        started = time.monotonic()
        with pytest.raises(TargetError) as caught:
            attempt()
        assert time.monotonic() - started < 6
        assert caught.value.exit_code == 5
        assert caught.value.message == "Could not connect to the database at 127.0.0.1:1: connection refused."
        assert caught.value.hint == "Check the address and that the server is running."
    target.close()


def test_an_unknown_database_is_named(server_db: Db) -> None:
    url = sa.make_url(server_db.url).set(database="wiz_no_such_db").render_as_string(hide_password=False)
    with pytest.raises(TargetError, match=r"The database wiz_no_such_db does not exist at 127\.0\.0\.1"):
        server_db.target(url).check_writable()


@pytest.fixture
def mysql_user() -> Iterator[tuple[str, str]]:
    """A MariaDB user with a password, allowed to read (not write) one throwaway database."""
    base = server_url("mysql")
    user, password, database = (
        f"wiz_{uuid.uuid4().hex[:8]}",
        "Right-Pa55-7f3a",
        f"wiz_{uuid.uuid4().hex[:12]}",
    )
    admin = admin_engine(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {database}.system_settings (`key` varchar(255) PRIMARY KEY, "
                "amocrm_access_token text, amocrm_refresh_token text)"
            )
        )
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(sa.text(f"GRANT SELECT ON {database}.* TO '{user}'@'%'"))
    url = sa.make_url(base).set(username=user, password=password, database=database)
    try:
        yield url.render_as_string(hide_password=False), password
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP USER '{user}'@'%'"))
            conn.execute(sa.text(f"DROP DATABASE {database}"))
        admin.dispose()


@pytest.mark.db
def test_a_wrong_password_is_refused_without_showing_it(mysql_user: tuple[str, str]) -> None:
    url, _right = mysql_user
    wrong = "Wr0ng-Pa55-0c1d"
    bad = sa.make_url(url).set(password=wrong).render_as_string(hide_password=False)
    target = SqlTarget(bad)
    assert wrong not in target.description
    with pytest.raises(TargetError) as caught:
        target.check_writable()
    error = caught.value
    assert error.message.startswith("The database at 127.0.0.1:3306 refused the user wiz_")
    for text in (str(error), error.detail, error.hint, repr(error.args)):
        assert wrong not in text
    target.close()


@pytest.mark.db
def test_a_user_that_may_only_read_is_told_before_anything_is_spent(mysql_user: tuple[str, str]) -> None:
    url, password = mysql_user
    target = SqlTarget(url)
    with pytest.raises(TargetError, match="may not write to system_settings") as caught:
        target.check_writable()
    assert password not in str(caught.value) + caught.value.detail
    with pytest.raises(TargetError):
        target.save(connection())
    assert target.read_values() == {}
    target.close()


@pytest.mark.db
def test_a_postgres_role_that_may_only_read(server_db: Db) -> None:
    if server_db.backend != "postgresql":
        pytest.skip("the MariaDB case is test_a_user_that_may_only_read_is_told_before_anything_is_spent")
    server_db.target().save(connection(0))
    role = f"wiz_ro_{uuid.uuid4().hex[:8]}"
    admin = admin_engine(server_db.server_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {server_db.name} TO {role}"))
        conn.execute(sa.text(f"GRANT SELECT ON {server_db.name}.system_settings TO {role}"))
    try:
        target = SqlTarget(
            sa.make_url(server_db.url).set(username=role).render_as_string(hide_password=False)
        )
        assert target.load() == connection(0)
        with pytest.raises(TargetError, match=f"The user {role} may not write to system_settings"):
            target.check_writable()
        with pytest.raises(TargetError):
            target.save(connection(1))
        target.close()
        assert server_db.target().load() == connection(0)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def _kill_other_sessions(db: Db, marker: str) -> int:
    """End the target's server connection from another session, as a failover would."""
    admin = admin_engine(db.server_url)
    with admin.connect() as conn:
        if db.backend == "postgresql":
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :m"
                ),
                {"m": marker},
            ).scalar_one()
        else:
            ids = conn.execute(
                sa.text(
                    "SELECT id FROM information_schema.processlist WHERE db = :d AND id <> connection_id()"
                ),
                {"d": db.name},
            ).scalars()
            killed = 0
            for session_id in list(ids):
                conn.execute(sa.text(f"KILL {int(session_id)}"))
                killed += 1
    admin.dispose()
    return int(killed)


def test_a_connection_lost_while_saving_keeps_the_old_pair(server_db: Db) -> None:
    marker = f"wiz_victim_{uuid.uuid4().hex[:8]}"
    url = server_db.url
    if server_db.backend == "postgresql":
        url = (
            sa.make_url(url)
            .update_query_dict({"application_name": marker})
            .render_as_string(hide_password=False)
        )
    server_db.target().save(connection(0))
    victim = server_db.target(url)
    with victim.lock() as held:
        assert held.stored == connection(0)
        assert _kill_other_sessions(server_db, marker) >= 1
        time.sleep(0.2)
        with pytest.raises(TargetError) as caught:
            held.save(connection(1))
    error = caught.value
    assert "was lost" in error.message
    assert pair(1).refresh_token not in str(error) + error.detail
    assert server_db.target().load() == connection(0)
    # The target recovers on its own: the pool drops the dead connection.
    victim.save(connection(2))
    assert server_db.target().load() == connection(2)


def test_a_column_too_short_for_the_token_rolls_back(server_db: Db) -> None:
    key = server_db.engine.dialect.identifier_preparer.quote("key")
    server_db.run(
        f"CREATE TABLE system_settings ({key} varchar(255) PRIMARY KEY, amocrm_base_url text, "
        "amocrm_access_token varchar(40), amocrm_refresh_token varchar(40))",
        f"INSERT INTO system_settings ({key}, amocrm_base_url, amocrm_access_token, amocrm_refresh_token) "
        "VALUES ('amocrm_tokens', 'https://mycompany.amocrm.ru', 'old-access', 'old-refresh')",
    )
    target = server_db.target()
    with pytest.raises(TargetError) as caught:
        target.save(connection(1))
    assert pair(1).access_token not in str(caught.value) + caught.value.detail
    assert target.read_values()[k.REFRESH_TOKEN] == "old-refresh"


def test_sslmode_in_the_url_is_honoured(server_db: Db) -> None:
    if server_db.backend != "postgresql":
        pytest.skip("sslmode is a PostgreSQL parameter")
    url = sa.make_url(server_db.url).update_query_dict({"sslmode": "disable"})
    supabase_style = url.set(drivername="postgres").render_as_string(hide_password=False)
    target = server_db.target(supabase_style)
    assert target.engine().url.query["sslmode"] == "disable"
    target.save(connection())
    assert target.load() == connection()


# --- SQLite files ---------------------------------------------------------------------


def test_a_new_sqlite_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    target = SqlTarget(f"sqlite:///{path}")
    target.save(connection())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    target.close()


def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    target = SqlTarget(f"sqlite:///{tmp_path / 'nope' / 'tokens.db'}")
    assert target.read_values() == {}
    with pytest.raises(TargetError, match="does not exist"):
        target.check_writable()
    with pytest.raises(TargetError):
        target.save(connection())
    assert not (tmp_path / "nope").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write read-only files")
def test_a_read_only_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    SqlTarget(f"sqlite:///{path}").save(connection())
    path.chmod(0o400)
    with pytest.raises(TargetError, match="read-only"):
        SqlTarget(f"sqlite:///{path}").check_writable()


def test_not_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(TargetError, match="SQLite file"):
        SqlTarget(f"sqlite:///{path}").check_writable()
    assert path.read_text().startswith("this is not a database")


def test_a_column_that_quietly_truncates_is_caught_before_commit(server_db: Db) -> None:
    """MySQL without strict mode cuts a long token to fit and only warns; read back, roll back."""
    if server_db.backend != "mysql":
        pytest.skip("only MySQL truncates silently (outside strict mode)")
    key = server_db.engine.dialect.identifier_preparer.quote("key")
    server_db.run(
        f"CREATE TABLE system_settings ({key} varchar(255) PRIMARY KEY, amocrm_base_url text, "
        "amocrm_access_token varchar(40), amocrm_refresh_token varchar(40))",
        f"INSERT INTO system_settings ({key}, amocrm_base_url, amocrm_access_token, amocrm_refresh_token) "
        "VALUES ('amocrm_tokens', 'https://mycompany.amocrm.ru', 'old-access', 'old-refresh')",
    )
    lax = sa.make_url(server_db.url).update_query_dict({"init_command": "SET sql_mode=''"})
    target = server_db.target(lax.render_as_string(hide_password=False))
    with pytest.raises(VerificationError, match="amocrm_access_token") as caught:
        target.save(connection(1))
    assert pair(1).access_token[:40] not in str(caught.value)
    assert target.read_values()[k.ACCESS_TOKEN] == "old-access"


def test_a_bad_url_parameter_is_bad_input() -> None:
    target = SqlTarget("mysql://root:S3cr3t-pw@127.0.0.1:1/test?connect_timeout=soon")
    with pytest.raises(InvalidTargetError) as caught:
        target.read_values()
    assert "S3cr3t-pw" not in str(caught.value) + caught.value.detail


# --- a refused refresh writes only the verdict ----------------------------------------


def our_row(db: Db) -> dict[str, Any]:
    key = db.engine.dialect.identifier_preparer.quote("key")
    with db.engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT * FROM system_settings WHERE {key} = 'amocrm_tokens'")).one()
    return dict(row._mapping)


@pytest.mark.parametrize("shape", ["wizard", "seed", "seed-without-value"])
def test_a_refused_refresh_writes_only_where_the_verdict_goes(
    db: Db, memory_keyring: MemoryKeyring, sandbox: Sandbox, shape: str
) -> None:
    """Contract, "Exit codes": the verdict goes to its own column, or into ``value``, or (a
    table with nowhere to put it) nowhere; ``updated_at`` (the tokens' age to the backend),
    the tokens and the rest of the row stay as they were, and no secret reaches the keyring."""
    it = sandbox.integration
    environ = {
        k.BASE_URL: sandbox.base_url,
        k.CLIENT_ID: it.client_id,
        k.CLIENT_SECRET: it.client_secret,
        k.REDIRECT_URI: it.redirect_uri,
    }
    if shape != "wizard":
        seed(db, with_value=shape == "seed")
    Credentials(db.target(), environ=environ).save(connect_sandbox(sandbox))
    db.run("UPDATE system_settings SET updated_at = :u", u=datetime(2024, 1, 1))
    before = our_row(db)
    memory_keyring.entries.clear()
    sandbox.revoke_refresh_tokens()

    source = TokenSource(Credentials(db.target(), environ=environ))
    with pytest.raises(ReauthorizationRequired):
        source.refresh()

    after = our_row(db)
    if shape == "wizard":
        assert after.pop("amocrm_refresh_rejected") == source.connection.refresh_rejected != ""
        before.pop("amocrm_refresh_rejected")
    elif shape == "seed":
        added = {
            **value_of((None, before.pop("value"))),
            k.REFRESH_REJECTED: source.connection.refresh_rejected,
        }
        assert value_of((None, after.pop("value"))) == added
    assert after == before
    assert memory_keyring.entries == {}
    # The verdict holds in this process either way: the dead token is not sent again.
    with pytest.raises(ReauthorizationRequired):
        TokenSource(Credentials(db.target(), environ=environ)).refresh()
    assert sandbox.stats.refresh_attempts == 1
