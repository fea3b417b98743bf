"""What differs between SQLite, PostgreSQL and MySQL/MariaDB: engines, locks, errors.

Each dialect bounds lock waits its own way, serialises the creation of a row that nothing
stops from being inserted twice its own way, and reports failures with its own codes.
This module turns those codes into the wizard's errors, in whole sentences.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine

from wizard.core.errors import DatabaseRefusedError, TargetError, TargetLockTimeout
from wizard.core.i18n import Text, _
from wizard.core.redact import redact
from wizard.targets.sql.layout import TABLE
from wizard.targets.sql.url import DbUrl

#: What the wizard was doing when the database refused.
Action = Literal["read", "write", "lock"]

#: Seconds: an unreachable server should fail while the admin is still looking.
CONNECT_TIMEOUT = 5
# pg_advisory_xact_lock key ("amoc" "rmwz"), only used to serialise creating the row in a
# table whose ``key`` column is not unique.
_PG_ADVISORY_KEY = 0x616D6F63_726D777A
# Execution options our SQLite "begin" hook reads; unknown options are carried by SQLAlchemy.
SQLITE_IMMEDIATE = "amocrm_wizard_begin_immediate"
SQLITE_BUSY_MS = "amocrm_wizard_busy_timeout_ms"
# libpq reports a failed connection as text only: there is no SQLSTATE before the session
# exists, and SQLAlchemy marks nothing (``connection_invalidated`` is False at connect).
_AUTH_FAILED = re.compile(
    r"password authentication failed|authentication failed|no password supplied|role \".*\" does not exist"
)
_UNKNOWN_DATABASE = re.compile(r'database ".*" does not exist')
_UNKNOWN_HOST = re.compile(
    r"translate host name|name or service not known|nodename nor servname|name resolution|getaddrinfo"
)


class Dialect:
    """One database's engine settings, lock statements and error words."""

    def __init__(self, url: DbUrl) -> None:
        self.url = url
        self.backend = url.backend
        self.where = url.where

    # --- the engine ---------------------------------------------------------------------

    def create_engine(self) -> Engine:
        url = self.url.engine_url
        query = url.query
        connect_args: dict[str, Any] = {}
        options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        if self.backend == "postgresql":
            if "connect_timeout" not in query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT
            if "application_name" not in query:
                connect_args["application_name"] = "amocrm-wizard"
            # Server-side prepared statements break behind transaction poolers (PgBouncer,
            # Supavisor) and buy nothing for a handful of statements.
            connect_args["prepare_threshold"] = None
            options["isolation_level"] = "READ COMMITTED"
        elif self.backend == "mysql":
            if "connect_timeout" not in query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT
            if "charset" not in query:
                connect_args["charset"] = "utf8mb4"
            # READ COMMITTED: no gap locks, so two hosts creating the row at once get a
            # duplicate-key error to retry on instead of a deadlock.
            options["isolation_level"] = "READ COMMITTED"
        else:
            connect_args["timeout"] = CONNECT_TIMEOUT
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        if self.backend == "sqlite":
            _take_over_sqlite_begin(engine)
        return engine

    # --- locks --------------------------------------------------------------------------

    def begin_locking(self, conn: DbConnection, seconds: float) -> None:
        """Begin a transaction whose lock waits last at most ``seconds``."""
        if self.backend == "sqlite":
            conn.execution_options(**{SQLITE_IMMEDIATE: True, SQLITE_BUSY_MS: math.ceil(seconds * 1000)})
        conn.begin()
        self.set_lock_timeout(conn, seconds)

    def set_lock_timeout(self, conn: DbConnection, seconds: float) -> None:
        """Bound this transaction's waits for locks (SQLite: set when it began)."""
        if self.backend == "postgresql":
            ms = max(1, math.ceil(seconds * 1000))  # 0 would mean "wait forever"
            conn.execute(sa.select(sa.func.set_config("lock_timeout", f"{ms}ms", True)))
        elif self.backend == "mysql":
            # A session variable with no function form; InnoDB counts whole seconds, at least 1.
            conn.execute(
                sa.text("SET SESSION innodb_lock_wait_timeout = :seconds"),
                {"seconds": max(1, math.ceil(seconds))},
            )

    def serialise_row_creation(self, conn: DbConnection, deadline: float) -> str | None:
        """Exclude other hosts from creating the row; returns a MySQL lock name to release."""
        if self.backend == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_ADVISORY_KEY)))
        elif self.backend == "mysql":
            name = f"amocrm-wizard:{self.url.engine_url.database}.{TABLE}"[:64]
            wait = max(1, math.ceil(deadline - time.monotonic()))
            got = conn.execute(sa.select(sa.func.get_lock(name, wait))).scalar()
            if got != 1:
                raise self.busy()
            return name
        return None

    @staticmethod
    def release_named_lock(conn: DbConnection, name: str) -> None:
        try:
            conn.execute(sa.select(sa.func.release_lock(name)))
            conn.commit()
        except sa_exc.SQLAlchemyError:
            # A session that cannot let go of its named lock must not go back to the
            # pool holding it; ending the session releases it on the server.
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                conn.invalidate()

    def busy(self) -> TargetLockTimeout:
        return TargetLockTimeout(
            _("Another amocrm-wizard is still working on {target}.", target=self.url.description),
            _("Wait a minute and try again."),
        )

    # --- what an error means ------------------------------------------------------------

    def is_lock_timeout(self, exc: sa_exc.DBAPIError) -> bool:
        sqlstate, errno, sqlite_name = _codes(exc)
        return sqlstate == "55P03" or errno in (1205, 3572) or sqlite_name in ("SQLITE_BUSY", "SQLITE_LOCKED")

    def is_race(self, exc: sa_exc.DBAPIError) -> bool:
        """Another process created the table or row, or deadlocked with us doing so.

        PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one: the
        loser may fail on the table's row type (42710, 'type "system_settings" already
        exists') or on the catalogue's unique index (23505) instead of finding the table.
        """
        sqlstate, errno, _sqlite = _codes(exc)
        return (
            isinstance(exc, sa_exc.IntegrityError)
            or sqlstate in ("23505", "42P07", "42710", "40P01", "40001")
            or errno in (1050, 1062, 1213)
        )

    @staticmethod
    def is_disconnect(exc: sa_exc.DBAPIError) -> bool:
        """SQLAlchemy's own verdict (each dialect knows its codes: MySQL 2006, 2013, 1927…;
        a psycopg connection marked broken), and PostgreSQL's connection classes, which
        arrive before psycopg has marked the connection broken."""
        sqlstate, _errno, _sqlite = _codes(exc)
        return exc.connection_invalidated or (sqlstate or "").startswith(("08", "57P"))

    # --- in words -----------------------------------------------------------------------

    @contextlib.contextmanager
    def errors(
        self, doing: Action, secrets: tuple[str, ...] = (), forget: Callable[[], None] = lambda: None
    ) -> Iterator[None]:
        """Turn database errors into ``TargetError`` in plain words; ``doing`` says what the
        wizard was doing, so each message is a whole sentence. ``forget`` is called when the
        table may have changed under us."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            forget()
            raise self.explain(exc, doing, secrets) from None
        except sa_exc.NoSuchTableError:
            forget()
            raise TargetError(
                _(
                    "The table system_settings disappeared from {where} while the wizard used it.",
                    where=self.where,
                ),
                _("Try again."),
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            forget()
            raise DatabaseRefusedError(
                _refused(doing, self.where, self.words(exc, secrets)),
                _("Check the table and the user's rights."),
            ) from None

    def words(self, exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
        """The server's own words, without the password, tokens or the SQL."""
        orig = getattr(exc, "orig", None) or exc
        diag = getattr(orig, "diag", None)
        text = getattr(diag, "message_primary", None) if diag is not None else None
        if not text:
            args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
            text = str(args[1]) if len(args) == 2 and isinstance(args[0], int) else str(orig)
        text = text.strip().splitlines()[0] if text.strip() else type(orig).__name__
        for secret in (self.url.engine_url.password, *secrets):
            if secret:
                text = text.replace(str(secret), "***")
        return redact(text).rstrip(".")

    def lost_while_saving(self, exc: sa_exc.DBAPIError, secrets: tuple[str, ...]) -> TargetError:
        return TargetError(
            _(
                "The connection to the database at {where} was lost while saving; the new "
                "tokens may or may not have been stored.",
                where=self.where,
            ),
            _("Run amocrm-wizard status to see which pair the database holds."),
            detail=self.words(exc, secrets),
        )

    def explain(self, exc: sa_exc.DBAPIError, doing: Action, secrets: tuple[str, ...] = ()) -> TargetError:
        sqlstate, errno, sqlite_name = _codes(exc)
        words = self.words(exc, secrets)
        user = self.url.engine_url.username or _("(no user)")
        if self.is_lock_timeout(exc):
            return self.busy()
        if self.is_disconnect(exc):
            return TargetError(
                _("The connection to the database at {where} was lost; nothing was saved.", where=self.where),
                _("Check that the server is running and reachable, then try again."),
                detail=words,
            )
        if sqlstate == "42501" or errno in (1142, 1143, 1044, 1227) or sqlite_name == "SQLITE_READONLY":
            if self.backend == "sqlite":
                return TargetError(
                    _("{path} is read-only.", path=self.url.sqlite_path),
                    fix_sqlite(self.url.sqlite_path),
                    detail=words,
                )
            return DatabaseRefusedError(
                _not_allowed(doing, user, self.where),
                _(
                    "Grant it SELECT, INSERT and UPDATE on system_settings (and CREATE while the table "
                    "does not exist yet), or use another user."
                ),
                detail=words,
            )
        if sqlite_name in ("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_IOERR"):
            return TargetError(
                _("Could not use the SQLite file {path}: {reason}.", path=self.url.sqlite_path, reason=words),
                fix_sqlite(self.url.sqlite_path),
                detail=words,
            )
        return DatabaseRefusedError(
            _refused(doing, self.where, words),
            _("Check the table and the user's rights."),
            detail=words,
        )

    def connect_error(self, exc: sa_exc.DBAPIError) -> TargetError:
        _sqlstate, errno, _sqlite = _codes(exc)
        words = self.words(exc)
        where = self.where
        user = self.url.engine_url.username or _("(no user)")
        database = self.url.engine_url.database or ""
        lowered = words.lower() + " " + str(getattr(exc, "orig", "")).lower()
        if self.backend == "sqlite":
            return TargetError(
                _("Could not open the SQLite file {path}: {reason}.", path=where, reason=words),
                fix_sqlite(self.url.sqlite_path),
                detail=words,
            )
        if errno == 1045 or _AUTH_FAILED.search(lowered):
            return DatabaseRefusedError(
                _("The database at {where} refused the user {user} or its password.", where=where, user=user),
                _("Check the user name and password in the URL."),
                detail=words,
            )
        if errno == 1049 or _UNKNOWN_DATABASE.search(lowered):
            return DatabaseRefusedError(
                _("The database {database} does not exist at {where}.", database=database, where=where),
                _("Create it first, or correct its name in the URL."),
                detail=words,
            )
        if errno == 1044:
            return DatabaseRefusedError(
                _(
                    "The user {user} may not use the database {database} at {where}.",
                    user=user,
                    database=database,
                    where=where,
                ),
                _("Grant the user access to that database, or use another user."),
                detail=words,
            )
        reason: str
        if "refused" in lowered:
            reason = _("connection refused")
        elif "timed out" in lowered or "timeout" in lowered:
            reason = _("no answer within {seconds} seconds", seconds=CONNECT_TIMEOUT)
        elif _UNKNOWN_HOST.search(lowered):
            reason = _("the host name is not known")
        else:
            reason = words
        return DatabaseRefusedError(
            _("Could not connect to the database at {where}: {reason}.", where=where, reason=reason),
            _("Check the address and that the server is running."),
            detail=words,
        )


def _codes(exc: sa_exc.DBAPIError) -> tuple[str | None, int | None, str | None]:
    """(PostgreSQL SQLSTATE, MySQL error number, SQLite error name) of a driver error."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    if sqlite_name is None and type(orig).__module__.startswith("sqlite3"):
        # Python 3.10's sqlite3 has no error names; its messages are all there is.
        message = str(orig).lower()
        sqlite_name = (
            "SQLITE_BUSY" if "locked" in message else "SQLITE_READONLY" if "readonly" in message else None
        )
    return sqlstate, errno, sqlite_name


def fix_sqlite(path: Path) -> str:
    return _("Choose an SQLite file in a folder you can write to (now: {path}).", path=path)


def _take_over_sqlite_begin(engine: Engine) -> None:
    """SQLAlchemy's documented pysqlite recipe, so BEGIN IMMEDIATE and transactional DDL work.

    pysqlite's own transaction handling would neither let us choose IMMEDIATE (the write
    lock taken up front, so reads under the lock are the latest) nor run CREATE TABLE
    inside the transaction.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: DbConnection) -> None:
        options = conn.get_execution_options()
        busy_ms = int(options.get(SQLITE_BUSY_MS, CONNECT_TIMEOUT * 1000))
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(SQLITE_IMMEDIATE) else "BEGIN")


# Whole sentences per action, so a translation never has to splice a verb into a sentence.
def _refused(doing: Action, where: str, reason: str) -> Text:
    if doing == "read":
        return _(
            "The database at {where} refused to read system_settings: {reason}.", where=where, reason=reason
        )
    if doing == "lock":
        return _(
            "The database at {where} refused to lock system_settings: {reason}.", where=where, reason=reason
        )
    return _(
        "The database at {where} refused to write to system_settings: {reason}.", where=where, reason=reason
    )


def _not_allowed(doing: Action, user: str, where: str) -> Text:
    if doing == "read":
        return _("The user {user} may not read system_settings in {where}.", user=user, where=where)
    if doing == "lock":
        return _("The user {user} may not lock system_settings in {where}.", user=user, where=where)
    return _("The user {user} may not write to system_settings in {where}.", user=user, where=where)
