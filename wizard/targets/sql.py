"""The database target: one row of ``system_settings`` in SQLite, PostgreSQL or MySQL/MariaDB.

The layout is the one the Node backend already reads (``key = 'amocrm_tokens'``, columns
``amocrm_access_token``, ``amocrm_refresh_token``, ``updated_at``). When the table is
missing the wizard creates it with columns for the rest of the contract's keys too:

==============================  =========================  ==================================
contract key                    column                     type when the wizard creates it
==============================  =========================  ==================================
(row identity)                  ``key``                    VARCHAR(255) primary key
AMOCRM_BASE_URL                 ``amocrm_base_url``        TEXT
AMOCRM_SUBDOMAIN                ``amocrm_subdomain``       TEXT
AMOCRM_CLIENT_ID                ``amocrm_client_id``       TEXT
AMOCRM_CLIENT_SECRET            ``amocrm_client_secret``   TEXT
AMOCRM_REDIRECT_URI             ``amocrm_redirect_uri``    TEXT
AMOCRM_ACCESS_TOKEN             ``amocrm_access_token``    TEXT
AMOCRM_REFRESH_TOKEN            ``amocrm_refresh_token``   TEXT
AMOCRM_TOKEN_EXPIRES_AT         ``amocrm_expires_at``      timestamp, UTC
(last write)                    ``updated_at``             timestamp, UTC
==============================  =========================  ==================================

"timestamp, UTC" is ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and ``DATETIME`` holding UTC
on MySQL and SQLite, so SQL on the backend side can compare it with ``now()``. A table that
already exists is used as it is: each value goes to whichever column type is there
(timestamps, epoch integers or ISO text), columns it lacks are reported rather than added,
and other rows and columns are never touched. Only ``key`` and the two token columns are
required; without them the backend could not read anything the wizard writes.

The lock is a row lock (``SELECT … FOR UPDATE``) on PostgreSQL and MySQL, so several hosts
sharing one database never refresh at once, and ``BEGIN IMMEDIATE`` on SQLite. Row locks,
unlike session-level advisory locks, also work through transaction-mode poolers such as
Supabase's.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.engine import Connection as DbConnection

from wizard.core import connection as keys
from wizard.core.connection import OWNED_KEYS, Connection
from wizard.core.errors import (
    DatabaseRefusedError,
    InvalidTargetError,
    TargetError,
    TargetLockTimeout,
    VerificationError,
)
from wizard.core.i18n import Text, _
from wizard.core.redact import redact
from wizard.core.tokens import format_utc, parse_utc, utcnow
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, SaveReport, TokenTarget, iter_secrets

#: What the wizard was doing when the database refused.
Action = Literal["read", "write", "lock"]

log = logging.getLogger(__name__)

TABLE = "system_settings"
ROW_KEY = "amocrm_tokens"
KEY_COLUMN = "key"
UPDATED_AT = "updated_at"
#: Contract key → column of ``system_settings``.
COLUMNS: dict[str, str] = {
    keys.BASE_URL: "amocrm_base_url",
    keys.SUBDOMAIN: "amocrm_subdomain",
    keys.CLIENT_ID: "amocrm_client_id",
    keys.CLIENT_SECRET: "amocrm_client_secret",
    keys.REDIRECT_URI: "amocrm_redirect_uri",
    keys.ACCESS_TOKEN: "amocrm_access_token",
    keys.REFRESH_TOKEN: "amocrm_refresh_token",
    keys.EXPIRES_AT: "amocrm_expires_at",
}
REQUIRED_COLUMNS = (KEY_COLUMN, COLUMNS[keys.ACCESS_TOKEN], COLUMNS[keys.REFRESH_TOKEN])
#: Seconds: an unreachable server should fail while the admin is still looking.
CONNECT_TIMEOUT = 5
#: How long ``check_writable`` waits for a row somebody else has locked (they can write, so can we).
CHECK_LOCK_WAIT = 2.0

ACCEPTED_FORMS = _(
    "Use sqlite:///path/to/file.db, postgresql://user:password@host:port/database "
    "(postgres:// as Supabase shows it is fine) or mysql://user:password@host:port/database "
    "(mariadb:// works too)."
)
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# Retries of the lock step when two processes create the table or the row at the same moment.
_RACE_ATTEMPTS = 5
# pg_advisory_xact_lock key ("amoc" "rmwz"), only used to serialise creating the row in a
# table whose ``key`` column is not unique.
_PG_ADVISORY_KEY = 0x616D6F63_726D777A
# Execution options our SQLite "begin" hook reads; unknown options are carried by SQLAlchemy.
_SQLITE_IMMEDIATE = "amocrm_wizard_begin_immediate"
_SQLITE_BUSY_MS = "amocrm_wizard_busy_timeout_ms"
# libpq reports connection failures as text only (no SQLSTATE before the session exists).
_AUTH_FAILED = re.compile(
    r"password authentication failed|authentication failed|no password supplied|role \".*\" does not exist"
)
_UNKNOWN_DATABASE = re.compile(r'database ".*" does not exist')
_UNKNOWN_HOST = re.compile(
    r"translate host name|name or service not known|nodename nor servname|name resolution|getaddrinfo"
)


# --- the URL --------------------------------------------------------------------------


@dataclass(frozen=True)
class DbUrl:
    """A ``--db`` value: as typed (for people) and as SQLAlchemy is given it."""

    given: URL
    engine_url: URL
    backend: str  # "sqlite", "postgresql" or "mysql"

    @property
    def description(self) -> str:
        return self.given.render_as_string(hide_password=True)

    @property
    def where(self) -> str:
        """The server (host:port) or file, for messages."""
        if self.backend == "sqlite":
            return str(self.sqlite_path)
        host = self.engine_url.host or "localhost"
        return f"{host}:{self.engine_url.port or _DEFAULT_PORTS[self.backend]}"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.engine_url.database or "")


def parse_db_url(text: str) -> DbUrl:
    """Check a ``--db`` value and choose the driver; raises ``InvalidTargetError``."""
    raw = (text or "").strip()
    try:
        given = make_url(raw)
    except (sa_exc.ArgumentError, ValueError) as exc:
        # Never echo the text: it may hold a password that failed to parse.
        raise InvalidTargetError(_("The --db value is not a database URL."), ACCEPTED_FORMS) from exc
    backend, _plus, driver = given.drivername.lower().partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg"):
        url = given.set(drivername="postgresql+psycopg")
        return DbUrl(given, url, "postgresql")
    if backend in ("mysql", "mariadb") and driver in ("", "pymysql"):
        if not given.database:
            raise InvalidTargetError(
                _("{url} names no database.", url=given.render_as_string(hide_password=True)),
                _("Add the database name after the host, e.g. mysql://user:password@host:3306/mydb."),
            )
        return DbUrl(given, given.set(drivername="mysql+pymysql"), "mysql")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        database = given.database or ""
        if given.host or not database or database == ":memory:" or database.startswith("file:"):
            raise InvalidTargetError(
                _("{url} is not an SQLite file.", url=given.render_as_string(hide_password=True)),
                _("Use sqlite:///relative/path.db or sqlite:////absolute/path.db."),
            )
        # Absolute now, so a later change of working folder cannot move the target.
        path = Path(database).expanduser().absolute()
        return DbUrl(given, given.set(drivername="sqlite", database=str(path)), "sqlite")
    raise InvalidTargetError(
        _("The wizard cannot store tokens in a {scheme}:// database.", scheme=given.drivername),
        ACCEPTED_FORMS,
    )


# --- the table ------------------------------------------------------------------------


def _wizard_table(metadata: sa.MetaData) -> sa.Table:
    text_columns = [sa.Column(COLUMNS[k], sa.Text) for k in OWNED_KEYS if k != keys.EXPIRES_AT]
    return sa.Table(
        TABLE,
        metadata,
        sa.Column(KEY_COLUMN, sa.String(255), primary_key=True),
        *text_columns,
        sa.Column(COLUMNS[keys.EXPIRES_AT], sa.DateTime(timezone=True)),
        sa.Column(UPDATED_AT, sa.DateTime(timezone=True)),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


@dataclass(frozen=True)
class _Layout:
    table: sa.Table
    #: False when ``key`` has neither a primary key nor a unique index: duplicates are possible.
    key_unique: bool

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.table.c.keys())

    @property
    def stored_keys(self) -> tuple[str, ...]:
        return tuple(k for k in OWNED_KEYS if COLUMNS[k] in self.table.c)


def _key_is_unique(table: sa.Table) -> bool:
    key = [KEY_COLUMN]
    if [c.name for c in table.primary_key.columns] == key:
        return True
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and [c.name for c in constraint.columns] == key:
            return True
    return any(index.unique and [c.name for c in index.columns] == key for index in table.indexes)


def _to_db(column: sa.Column[Any], moment: datetime | None, text: str, *, backend: str) -> object:
    """A timestamp for whatever type the column has; ``text`` is used for text columns."""
    if moment is None:
        return None
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    if isinstance(column.type, sa.DateTime):
        # Only PostgreSQL keeps a zone; MySQL DATETIME and SQLite get naive UTC.
        keeps_zone = backend == "postgresql" and bool(column.type.timezone)
        return moment if keeps_zone else moment.replace(tzinfo=None)
    if isinstance(column.type, sa.Integer | sa.Numeric):
        return int(moment.timestamp())
    return text


def _needs_value(column: sa.Column[Any]) -> bool:
    """Would an INSERT that leaves this column out fail?"""
    generated = column.identity is not None or column.autoincrement is True
    integer_key = column.primary_key and isinstance(column.type, sa.Integer)
    return not column.nullable and column.server_default is None and not generated and not integer_key


def _from_db(value: object, *, moment: bool = False) -> str:
    """Back to the contract's text; ``moment``: numbers in this column are epoch seconds."""
    if isinstance(value, datetime):
        return format_utc(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if moment and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_utc(datetime.fromtimestamp(float(value), timezone.utc))
    return str(value)


# --- the target -----------------------------------------------------------------------


class SqlTarget(TokenTarget):
    """``system_settings`` in a database named by an SQLAlchemy-style URL."""

    def __init__(self, url: str) -> None:
        self.url = parse_db_url(url)
        self._thread_lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self._engine: Engine | None = None
        self._layout: _Layout | None = None

    @property
    def description(self) -> str:
        return self.url.description

    @property
    def backend(self) -> str:
        return self.url.backend

    def close(self) -> None:
        with self._engine_lock:
            engine, self._engine = self._engine, None
            self._layout = None
        if engine is not None:
            engine.dispose()

    # --- engine and connections -------------------------------------------------------

    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self) -> Engine:
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

    def _connect(self) -> DbConnection:
        try:
            return self.engine().connect()
        except sa_exc.DBAPIError as exc:
            raise self._connect_error(exc) from None
        except (ValueError, TypeError) as exc:  # e.g. ?connect_timeout=soon
            raise InvalidTargetError(
                _("The --db URL has a parameter the database driver does not accept."),
                _("Check the part of the URL after the question mark."),
                detail=self._words(exc),
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            raise TargetError(
                _(
                    "Could not connect to the database at {where}: {reason}.",
                    where=self.url.where,
                    reason=self._words(exc),
                ),
                _("Check the URL."),
            ) from None

    def _sqlite_file_missing(self) -> bool:
        return self.backend == "sqlite" and not self.url.sqlite_path.exists()

    def _create_sqlite_file(self) -> None:
        """A new database file holds the client secret: owner-only, like a new .env."""
        path = self.url.sqlite_path
        if path.exists():
            return
        self._check_sqlite_folder()
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    def _check_sqlite_folder(self) -> None:
        folder = self.url.sqlite_path.parent
        if not folder.is_dir():
            raise TargetError(
                _("The folder {folder} does not exist.", folder=folder), _fix_sqlite(self.url.sqlite_path)
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            # SQLite writes its journal next to the file, so the folder must be writable too.
            raise TargetError(
                _("Cannot write in {folder}.", folder=folder), _fix_sqlite(self.url.sqlite_path)
            )

    # --- the layout -------------------------------------------------------------------

    def _find_layout(self, conn: DbConnection) -> _Layout | None:
        """The existing table, reflected once per target; None when it does not exist."""
        if self._layout is not None:
            return self._layout
        if not sa.inspect(conn).has_table(TABLE):
            return None
        table = sa.Table(TABLE, sa.MetaData(), autoload_with=conn)
        missing = [name for name in REQUIRED_COLUMNS if name not in table.c]
        if missing:
            raise TargetError(
                _(
                    "The table system_settings in {where} has no column {columns}.",
                    where=self.url.where,
                    columns=", ".join(missing),
                ),
                _(
                    "The backend reads the tokens from amocrm_access_token and amocrm_refresh_token "
                    "in the row key = 'amocrm_tokens'; add those columns, or use another database."
                ),
            )
        engine_name = str(table.kwargs.get("mysql_engine", "InnoDB"))
        if self.backend == "mysql" and engine_name.lower() != "innodb":
            raise TargetError(
                _(
                    "The table system_settings uses the {engine} storage engine, which cannot lock a row.",
                    engine=engine_name,
                ),
                _(
                    "Convert it to InnoDB (ALTER TABLE system_settings ENGINE=InnoDB), "
                    "or use another database."
                ),
            )
        layout = _Layout(table, _key_is_unique(table))
        self._layout = layout
        return layout

    def _ensure_layout(self, conn: DbConnection) -> _Layout:
        """The table, created when missing (inside the caller's transaction, except on MySQL)."""
        layout = self._find_layout(conn)
        if layout is not None:
            return layout
        # On MySQL, CREATE TABLE commits implicitly; that is harmless here because nothing
        # has been written yet, and MySQL starts a new transaction with the next statement.
        table = _wizard_table(sa.MetaData())
        table.create(conn, checkfirst=True)
        # Not cached: the creation is undone if this transaction rolls back.
        return _Layout(table, True)

    # --- reading ----------------------------------------------------------------------

    def read_values(self) -> dict[str, str]:
        if self._sqlite_file_missing():
            return {}
        with self._connect() as conn, self._errors("read"), conn.begin():
            layout = self._find_layout(conn)
            if layout is None:
                return {}
            row = conn.execute(self._select_row(layout)).first()
        return self._values(layout, row)

    def _select_row(self, layout: _Layout) -> sa.Select[Any]:
        table = layout.table
        columns = [table.c[COLUMNS[k]] for k in layout.stored_keys]
        return sa.select(*columns).where(table.c[KEY_COLUMN] == ROW_KEY).limit(1)

    def _values(self, layout: _Layout, row: sa.Row[Any] | None) -> dict[str, str]:
        values: dict[str, str] = {}
        if row is not None:
            mapping = row._mapping
            for key in layout.stored_keys:
                value = mapping[COLUMNS[key]]
                if value is not None:
                    values[key] = _from_db(value, moment=key == keys.EXPIRES_AT)
        return values

    # --- planning and checking --------------------------------------------------------

    def plan(self, connection: Connection) -> SaveReport:
        if self._sqlite_file_missing():
            return SaveReport(self.description, OWNED_KEYS)
        with self._connect() as conn, self._errors("read"), conn.begin():
            layout = self._find_layout(conn)
        if layout is None:
            return SaveReport(self.description, OWNED_KEYS)
        return self._report(layout)

    def _report(self, layout: _Layout) -> SaveReport:
        elsewhere: dict[str, str] = {
            key: _("not stored: the table has no column {column}", column=COLUMNS[key])
            for key in OWNED_KEYS
            if COLUMNS[key] not in layout.names
        }
        return SaveReport(self.description, layout.stored_keys, elsewhere)

    def check_writable(self) -> None:
        """Connect, and try the writes a save needs inside a transaction that is rolled back.

        Nothing is left behind, except on MySQL when the table is missing: MySQL cannot
        roll back a CREATE TABLE, so the (empty) table the first save needs is created now.
        """
        if self.backend == "sqlite":
            self._check_sqlite_folder()
            path = self.url.sqlite_path
            if not path.exists():
                return  # creating the file is all a save needs, and the folder is writable
            if not os.access(path, os.R_OK | os.W_OK):
                raise TargetError(_("{path} is read-only.", path=path), _fix_sqlite(path))
        with self._connect() as conn, self._errors("write"):
            if self.backend == "sqlite":
                conn.execution_options(**{_SQLITE_BUSY_MS: math.ceil(CHECK_LOCK_WAIT * 1000)})
            conn.begin()
            try:
                self._set_lock_timeout(conn, CHECK_LOCK_WAIT)
                layout = self._ensure_layout(conn)
                table = layout.table
                key = table.c[KEY_COLUMN]
                exists = conn.execute(sa.select(key).where(key == ROW_KEY).limit(1)).first()
                if exists:
                    access = table.c[COLUMNS[keys.ACCESS_TOKEN]]
                    conn.execute(sa.update(table).where(key == ROW_KEY).values({access: access}))
                else:
                    conn.execute(sa.insert(table).values(self._placeholder_row(layout)))
            except sa_exc.OperationalError as exc:
                # Rights are checked before row locks are waited for, so somebody else
                # holding the row means the writes themselves are allowed.
                if not self._is_lock_timeout(exc):
                    raise
            finally:
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    conn.rollback()

    # --- locking ----------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Held]:
        deadline = time.monotonic() + timeout
        acquired = (
            self._thread_lock.acquire(timeout=timeout)
            if timeout > 0
            else self._thread_lock.acquire(blocking=False)
        )
        if not acquired:
            raise self._busy()
        try:
            if self.backend == "sqlite":
                self._create_sqlite_file()
            held = _HeldRow(self, self._connect())
            try:
                held.acquire(deadline)
                yield held
            finally:
                held.release()
        finally:
            self._thread_lock.release()

    def _set_lock_timeout(self, conn: DbConnection, seconds: float) -> None:
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

    def _busy(self) -> TargetLockTimeout:
        return TargetLockTimeout(
            _("Another amocrm-wizard is still working on {target}.", target=self.description),
            _("Wait a minute and try again."),
        )

    def _placeholder_row(self, layout: _Layout) -> dict[str, object]:
        """A row that satisfies the table's constraints until the first save fills it in."""
        table = layout.table
        now = utcnow()
        owned = {COLUMNS[k] for k in OWNED_KEYS}
        row: dict[str, object] = {KEY_COLUMN: ROW_KEY}
        if UPDATED_AT in table.c:
            row[UPDATED_AT] = self._to_db(table.c[UPDATED_AT], now)
        foreign: list[str] = []
        for column in table.columns:
            if column.name in row or not _needs_value(column):
                continue
            if column.name == COLUMNS[keys.EXPIRES_AT]:
                row[column.name] = self._to_db(column, now)
            elif column.name in owned:
                row[column.name] = ""
            else:
                foreign.append(column.name)
        if foreign:
            raise TargetError(
                _(
                    "The table system_settings has no row key = 'amocrm_tokens', and a new row needs "
                    "values for {columns}, which the wizard does not own.",
                    columns=", ".join(foreign),
                ),
                _("Add that row yourself (its token columns may stay empty), then try again."),
            )
        return row

    def _to_db(self, column: sa.Column[Any], moment: datetime | None, text: str | None = None) -> object:
        if text is None:
            text = format_utc(moment) if moment else ""
        return _to_db(column, moment, text, backend=self.backend)

    # --- errors -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, doing: Action, secrets: tuple[str, ...] = ()) -> Iterator[None]:
        """Turn database errors into ``TargetError`` in plain words; ``doing`` says what the
        wizard was doing ("read", "write" or "lock"), so each message is a whole sentence."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            self._layout = None  # the table may have changed under us
            raise self._explain(exc, doing, secrets) from None
        except sa_exc.NoSuchTableError:
            self._layout = None
            raise TargetError(
                _(
                    "The table system_settings disappeared from {where} while the wizard used it.",
                    where=self.url.where,
                ),
                _("Try again."),
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            self._layout = None
            raise DatabaseRefusedError(
                _refused(doing, self.url.where, self._words(exc, secrets)),
                _("Check the table and the user's rights."),
            ) from None

    def _words(self, exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
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

    def _is_lock_timeout(self, exc: sa_exc.DBAPIError) -> bool:
        sqlstate, errno, sqlite_name = _codes(exc)
        return sqlstate == "55P03" or errno in (1205, 3572) or sqlite_name in ("SQLITE_BUSY", "SQLITE_LOCKED")

    def _is_race(self, exc: sa_exc.DBAPIError) -> bool:
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

    def _is_disconnect(self, exc: sa_exc.DBAPIError) -> bool:
        sqlstate, errno, _sqlite = _codes(exc)
        return (
            exc.connection_invalidated
            or errno in (2006, 2013, 1927)
            or (sqlstate or "").startswith(("08", "57P"))
        )

    def _explain(self, exc: sa_exc.DBAPIError, doing: Action, secrets: tuple[str, ...] = ()) -> TargetError:
        sqlstate, errno, sqlite_name = _codes(exc)
        words = self._words(exc, secrets)
        user = self.url.engine_url.username or _("(no user)")
        if self._is_lock_timeout(exc):
            return self._busy()
        if self._is_disconnect(exc):
            return TargetError(
                _(
                    "The connection to the database at {where} was lost; nothing was saved.",
                    where=self.url.where,
                ),
                _("Check that the server is running and reachable, then try again."),
                detail=words,
            )
        if sqlstate == "42501" or errno in (1142, 1143, 1044, 1227) or sqlite_name == "SQLITE_READONLY":
            if self.backend == "sqlite":
                return TargetError(
                    _("{path} is read-only.", path=self.url.sqlite_path),
                    _fix_sqlite(self.url.sqlite_path),
                    detail=words,
                )
            return DatabaseRefusedError(
                _not_allowed(doing, user, self.url.where),
                _(
                    "Grant it SELECT, INSERT and UPDATE on system_settings (and CREATE while the table "
                    "does not exist yet), or use another user."
                ),
                detail=words,
            )
        if sqlite_name in ("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_IOERR"):
            return TargetError(
                _("Could not use the SQLite file {path}: {reason}.", path=self.url.sqlite_path, reason=words),
                _fix_sqlite(self.url.sqlite_path),
                detail=words,
            )
        return DatabaseRefusedError(
            _refused(doing, self.url.where, words),
            _("Check the table and the user's rights."),
            detail=words,
        )

    def _connect_error(self, exc: sa_exc.DBAPIError) -> TargetError:
        _sqlstate, errno, _sqlite = _codes(exc)
        words = self._words(exc)
        where = self.url.where
        user = self.url.engine_url.username or _("(no user)")
        database = self.url.engine_url.database or ""
        lowered = words.lower() + " " + str(getattr(exc, "orig", "")).lower()
        if self.backend == "sqlite":
            return TargetError(
                _("Could not open the SQLite file {path}: {reason}.", path=where, reason=words),
                _fix_sqlite(self.url.sqlite_path),
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
        message = str(orig).lower()
        sqlite_name = (
            "SQLITE_BUSY" if "locked" in message else "SQLITE_READONLY" if "readonly" in message else None
        )
    return sqlstate, errno, sqlite_name


def _fix_sqlite(path: Path) -> str:
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
        busy_ms = int(options.get(_SQLITE_BUSY_MS, CONNECT_TIMEOUT * 1000))
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_SQLITE_IMMEDIATE) else "BEGIN")


# --- the held lock --------------------------------------------------------------------


class _HeldRow(Held):
    """One connection, in a transaction that holds the row lock until save or release."""

    def __init__(self, target: SqlTarget, conn: DbConnection) -> None:
        self._target = target
        self._conn = conn
        self._layout: _Layout | None = None
        self._mysql_lock: str | None = None
        self._broken = False
        #: What this lock last committed, to notice a change between two saves.
        self._written: tuple[object, ...] | None = None
        self._values: dict[str, str] = {}
        self.stored = None

    # --- taking and giving back -------------------------------------------------------

    def acquire(self, deadline: float) -> None:
        target = self._target
        try:
            with target._errors("lock"):
                row = self._lock_row_retrying(deadline)
        except TargetError:
            self._broken = True
            raise
        assert self._layout is not None
        self._values = target._values(self._layout, row)
        self.stored = Connection.from_values(self._values)
        log.debug("Locked the %s row in %s", ROW_KEY, target.description)

    def _lock_row_retrying(self, deadline: float) -> sa.Row[Any]:
        for attempt in range(_RACE_ATTEMPTS):
            try:
                return self._lock_row(deadline)
            except sa_exc.DBAPIError as exc:
                if attempt == _RACE_ATTEMPTS - 1 or not self._target._is_race(exc):
                    raise
                self._rollback()
                self._target._layout = None
        raise AssertionError("unreachable")

    def _lock_row(self, deadline: float) -> sa.Row[Any]:
        """Begin, lock the row (creating the table and the row when missing), return it."""
        target, conn = self._target, self._conn
        # Always try once, even with no time left: timeout=0 means "only if free now".
        remaining = max(0.001, deadline - time.monotonic())
        if target.backend == "sqlite":
            conn.execution_options(**{_SQLITE_IMMEDIATE: True, _SQLITE_BUSY_MS: math.ceil(remaining * 1000)})
        conn.begin()
        target._set_lock_timeout(conn, remaining)
        layout = self._layout = target._ensure_layout(conn)
        select = target._select_row(layout).with_for_update()
        row = conn.execute(select).first()
        if row is None and not layout.key_unique:
            # Nothing to lock yet and nothing to stop two hosts inserting the row twice.
            self._serialise_row_creation(deadline)
            row = conn.execute(select).first()
        if row is None:
            conn.execute(sa.insert(layout.table).values(target._placeholder_row(layout)))
            row = conn.execute(select).first()
        assert row is not None
        return row

    def _serialise_row_creation(self, deadline: float) -> None:
        target, conn = self._target, self._conn
        if target.backend == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_ADVISORY_KEY)))
        elif target.backend == "mysql":
            name = f"amocrm-wizard:{target.url.engine_url.database}.{TABLE}"[:64]
            wait = max(1, math.ceil(deadline - time.monotonic()))
            got = conn.execute(sa.select(sa.func.get_lock(name, wait))).scalar()
            if got != 1:
                raise target._busy()
            self._mysql_lock = name

    def release(self) -> None:
        self._rollback()
        if self._mysql_lock:
            try:
                self._conn.execute(sa.select(sa.func.release_lock(self._mysql_lock)))
                self._conn.commit()
            except sa_exc.SQLAlchemyError:
                # A session that cannot let go of its named lock must not go back to the
                # pool holding it; ending the session releases it on the server.
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    self._conn.invalidate()
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            self._conn.close()

    def _rollback(self) -> None:
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            if self._conn.in_transaction():
                self._conn.rollback()

    # --- saving -----------------------------------------------------------------------

    def save(self, connection: Connection) -> SaveReport:
        target = self._target
        if self._broken or self._layout is None:
            raise TargetError(
                _("The lock on {target} was lost, so nothing was saved.", target=target.description),
                _("Try again."),
            )
        secrets = tuple(s for s in iter_secrets(connection) if s)
        values = connection.to_values()
        try:
            with target._errors("write", secrets):
                if not self._conn.in_transaction():
                    self._relock()
                layout = self._layout
                row = self._row(layout, values)
                table = layout.table
                where = table.c[KEY_COLUMN] == ROW_KEY
                if self._conn.execute(sa.update(table).where(where).values(row)).rowcount == 0:
                    self._conn.execute(sa.insert(table).values({KEY_COLUMN: ROW_KEY, **row}))
                self._verify(layout, values)
                self._commit(secrets)
        except TargetError:
            self._broken = True
            self._rollback()
            raise
        self.stored = connection
        self._values = {k: v for k, v in values.items() if k in layout.stored_keys}
        return target._report(layout)

    def values(self) -> dict[str, str]:
        return dict(self._values)

    def _row(self, layout: _Layout, values: dict[str, str]) -> dict[str, object]:
        row: dict[str, object] = {}
        for key in layout.stored_keys:
            column = layout.table.c[COLUMNS[key]]
            if key == keys.EXPIRES_AT:
                text = values[key]
                row[column.name] = self._target._to_db(column, parse_utc(text) if text else None, text)
            else:
                row[column.name] = values[key]
        if UPDATED_AT in layout.table.c:
            now = utcnow()
            row[UPDATED_AT] = self._target._to_db(layout.table.c[UPDATED_AT], now)
        return row

    def _verify(self, layout: _Layout, values: dict[str, str]) -> None:
        """Read back before committing: a column too short for a JWT (or MySQL quietly
        truncating) must roll back, not replace a working pair with a broken one."""
        got = self._conn.execute(self._target._select_row(layout)).first()
        mapping = got._mapping if got else {}
        expires = COLUMNS[keys.EXPIRES_AT]
        stored = {str(k): _from_db(v, moment=str(k) == expires) for k, v in mapping.items() if v is not None}
        wrong = [k for k in layout.stored_keys if stored.get(COLUMNS[k], "") != values[k]]
        if wrong:
            self._rollback()
            raise VerificationError(
                _(
                    "After saving, system_settings in {where} does not read back as written "
                    "({columns}); nothing was saved.",
                    where=self._target.url.where,
                    columns=", ".join(COLUMNS[k] for k in wrong),
                ),
                _("The columns may be too short for the tokens; make them TEXT."),
            )
        self._written = tuple(got) if got else None

    def _commit(self, secrets: tuple[str, ...]) -> None:
        try:
            self._conn.commit()
        except sa_exc.DBAPIError as exc:
            if self._target._is_disconnect(exc):
                raise TargetError(
                    _(
                        "The connection to the database at {where} was lost while saving; the new "
                        "tokens may or may not have been stored.",
                        where=self._target.url.where,
                    ),
                    _("Run amocrm-wizard status to see which pair the database holds."),
                    detail=self._target._words(exc, secrets),
                ) from None
            raise

    def _relock(self) -> None:
        """A second save under one lock: the first commit let the row go, so take it again
        and make sure nobody saved in between (their pair would be newer than ours)."""
        assert self._layout is not None
        row = self._lock_row(time.monotonic() + DEFAULT_LOCK_TIMEOUT)
        if self._written is not None and tuple(row) != self._written:
            raise TargetError(
                _(
                    "Another program saved tokens to {target} meanwhile; nothing was saved over them.",
                    target=self._target.description,
                ),
                _("Try again."),
            )


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
