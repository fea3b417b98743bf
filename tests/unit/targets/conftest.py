"""Fixtures for the target tests: keyrings that never touch the real OS keyring, and one
isolated, real database per test for each dialect.

PostgreSQL and MariaDB come from ``AMOCRM_TEST_POSTGRES_URL`` / ``AMOCRM_TEST_MYSQL_URL``
(the servers ``.ci/run`` starts); without them those tests skip. Isolation: SQLite gets a
file in ``tmp_path``, PostgreSQL a throwaway schema reached through ``search_path``, MariaDB
a throwaway database, so the fixed table name ``system_settings`` never collides.

The contention tests also run through a real PgBouncer in ``pool_mode = transaction`` (as
Supabase's pooler runs), started here on a free loopback port in front of the test
PostgreSQL. A pooler in that mode passes no ``options`` and keeps no session, so those
tests get a throwaway database instead of a schema.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import keyring.errors
import pytest
import sqlalchemy as sa
from keyring.backend import KeyringBackend

from wizard.core.logs import LOGGER_NAME
from wizard.targets import TokenTarget, keyring_store, open_target
from wizard.targets.sql import SqlTarget, parse_db_url

POSTGRES_ENV = "AMOCRM_TEST_POSTGRES_URL"
MYSQL_ENV = "AMOCRM_TEST_MYSQL_URL"
SERVER_ENV = {"postgresql": POSTGRES_ENV, "mysql": MYSQL_ENV}
DIALECTS = ("sqlite", "postgresql", "mysql")


# --- keyrings -------------------------------------------------------------------------


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict: what the OS keyring would hold, visible to the test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(KeyringBackend):
    """A backend that exists but fails on use, like a locked Secret Service collection."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringError("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringError("the collection is locked")


@contextlib.contextmanager
def using_keyring(backend: KeyringBackend) -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    keyring_store._warn_unavailable.warned = False
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        keyring_store._warn_unavailable.warned = False


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every target test gets an empty in-memory keyring unless it asks for another."""
    backend = MemoryKeyring()
    with using_keyring(backend):
        yield backend


@pytest.fixture
def project_log_to_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The project's logger may have stopped propagating (``setup_logging``): listen on it."""
    logger = logging.getLogger(LOGGER_NAME)
    propagate, logger.propagate = logger.propagate, False  # caught once, here
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate


@pytest.fixture
def fail_keyring(memory_keyring: MemoryKeyring) -> Iterator[None]:
    """No keyring at all, as on a headless server (keyring's own "fail" backend)."""
    with using_keyring(keyring.backends.fail.Keyring()):
        yield


@pytest.fixture
def locked_keyring(memory_keyring: MemoryKeyring) -> Iterator[None]:
    with using_keyring(LockedKeyring()):
        yield


# --- databases ------------------------------------------------------------------------


@dataclass
class Db:
    """One isolated place holding ``system_settings``, and a way to look at it directly."""

    backend: str
    url: str
    #: SQLAlchemy URL of the same place, for the test's own setup and inspection.
    engine: sa.Engine
    server_url: str = ""  # the env var's URL (PostgreSQL/MariaDB), for admin work
    name: str = ""  # schema (PostgreSQL) or database (MariaDB) created for this test
    _targets: list[TokenTarget] = field(default_factory=list)

    def target(self, url: str | None = None, **kwargs: Any) -> SqlTarget:
        target = SqlTarget(url or self.url, **kwargs)
        self._targets.append(target)
        return target

    def completed(self, known_values: Mapping[str, str] | None = None) -> TokenTarget:
        """The target as the commands open it: completed from flags, environment, keyring."""
        target = open_target(db=self.url, known_values=known_values)
        self._targets.append(target)
        return target

    def run(self, *statements: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), params)

    def rows(self, order_by: str = "key") -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            quoted = self.engine.dialect.identifier_preparer.quote(order_by)
            return [
                tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM system_settings ORDER BY {quoted}"))
            ]

    def has_table(self) -> bool:
        with self.engine.connect() as conn:
            return sa.inspect(conn).has_table("system_settings")

    def close(self) -> None:
        for target in self._targets:
            target.close()
        self.engine.dispose()


def server_url(backend: str) -> str:
    url = os.environ.get(SERVER_ENV[backend], "")
    if not url:
        pytest.skip(f"set {SERVER_ENV[backend]} to run the {backend} tests against a real server")
    return url


def admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(parse_db_url(url).engine_url, isolation_level="AUTOCOMMIT")


def _sqlite_db(tmp_path: Path) -> Iterator[Db]:
    path = tmp_path / "settings.db"
    url = f"sqlite:///{path}"
    db = Db("sqlite", url, sa.create_engine(parse_db_url(url).engine_url))
    yield db
    db.close()


def _postgres_db() -> Iterator[Db]:
    base = server_url("postgresql")
    name = f"wiz_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
    url_text = url.render_as_string(hide_password=False)
    db = Db("postgresql", url_text, sa.create_engine(parse_db_url(url_text).engine_url), base, name)
    try:
        yield db
    finally:
        db.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def _mysql_db() -> Iterator[Db]:
    base = server_url("mysql")
    name = f"wiz_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    url_text = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    db = Db("mysql", url_text, sa.create_engine(parse_db_url(url_text).engine_url), base, name)
    try:
        yield db
    finally:
        db.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


# --- PgBouncer --------------------------------------------------------------------------

PGBOUNCER = "pgbouncer"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pgbouncer_config(folder: Path, port: int, server: sa.URL) -> Path:
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
admin_users = {server.username or "postgres"}
auth_file = {folder / "users.txt"}
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""
    )
    return config


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[int]:
    """A PgBouncer in transaction mode in front of the test PostgreSQL; yields its port."""
    server = sa.make_url(server_url("postgresql"))
    binary = shutil.which(PGBOUNCER) or shutil.which(PGBOUNCER, path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        pytest.fail(
            "pgbouncer is not installed; scripts/setup.sh installs it (Debian: apt-get install pgbouncer)"
        )
    # PgBouncer refuses to run as root: as root, it runs as the postgres user, with its
    # configuration and log in a folder that user owns.
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="amocrm-wizard-pgbouncer-"))
    port = _free_port()
    config = _pgbouncer_config(folder, port, server)
    user = "postgres" if as_root else None
    if as_root:
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres", "postgres")
    process = subprocess.Popen(
        [binary, str(config)], user=user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                detail = (process.stderr.read() if process.stderr else "") + (
                    log.read_text() if log.exists() else ""
                )
                pytest.fail(f"PgBouncer did not start on 127.0.0.1:{port}: {detail}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _pgbouncer_db(port: int) -> Iterator[Db]:
    base = server_url("postgresql")
    name = f"wiz_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    direct = sa.make_url(base).set(database=name)
    pooled = direct.set(port=port).render_as_string(hide_password=False)
    inspect = sa.create_engine(parse_db_url(direct.render_as_string(hide_password=False)).engine_url)
    db = Db("postgresql", pooled, inspect, base, name)
    try:
        yield db
    finally:
        db.close()
        with admin.connect() as conn:
            # The pooler still holds server connections to it.
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def make_db(backend: str, tmp_path: Path) -> Iterator[Db]:
    if backend == "sqlite":
        return _sqlite_db(tmp_path)
    if backend == "postgresql":
        return _postgres_db()
    return _mysql_db()


@pytest.fixture(params=[pytest.param(d, marks=[] if d == "sqlite" else [pytest.mark.db]) for d in DIALECTS])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A fresh, empty place for ``system_settings`` in each dialect."""
    yield from make_db(request.param, tmp_path)


@pytest.fixture(
    params=[pytest.param(d, marks=[] if d == "sqlite" else [pytest.mark.db]) for d in (*DIALECTS, PGBOUNCER)]
)
def contended_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """Like ``db``, and PostgreSQL through PgBouncer in transaction mode as well: for the
    tests where several hosts contend for the row."""
    if request.param == PGBOUNCER:
        yield from _pgbouncer_db(request.getfixturevalue("pgbouncer"))
    else:
        yield from make_db(request.param, tmp_path)


@pytest.fixture(params=[pytest.param(d, marks=pytest.mark.db) for d in ("postgresql", "mysql")])
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """Like ``db`` but only the client/server dialects (connections that can be lost, users)."""
    yield from make_db(request.param, tmp_path)
