"""``SqlTarget``: the engine, the reads, the checks and the lock of the database target."""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine

from wizard.core import connection as keys
from wizard.core.connection import OWNED_KEYS, Connection
from wizard.core.errors import InvalidTargetError, TargetError
from wizard.core.i18n import _
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, SaveReport, TokenTarget
from wizard.targets.sql.dialect import SQLITE_BUSY_MS, Action, Dialect, fix_sqlite
from wizard.targets.sql.held import HeldRow, remembered
from wizard.targets.sql.layout import COLUMNS, KEY_COLUMN, ROW_KEY, Layouts
from wizard.targets.sql.url import parse_db_url

#: How long ``check_writable`` waits for a row somebody else has locked (they can write, so can we).
CHECK_LOCK_WAIT = 2.0


class SqlTarget(TokenTarget):
    """``system_settings`` in a database named by an SQLAlchemy-style URL."""

    def __init__(self, url: str) -> None:
        self.url = parse_db_url(url)
        self.dialect = Dialect(self.url)
        self._layouts = Layouts(self.url.backend, self.url.where)
        self._thread_lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self._engine: Engine | None = None
        #: The verdict on the refresh token when the table has no place for it, for this
        #: process only (contract, "Exit codes").
        self._memory: dict[str, str] = {}

    @property
    def description(self) -> str:
        return self.url.description

    @property
    def backend(self) -> str:
        return self.url.backend

    def close(self) -> None:
        with self._engine_lock:
            engine, self._engine = self._engine, None
            self._layouts.forget()
        if engine is not None:
            engine.dispose()

    # --- engine and connections -------------------------------------------------------

    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = self.dialect.create_engine()
            return self._engine

    def _connect(self) -> DbConnection:
        try:
            return self.engine().connect()
        except sa_exc.DBAPIError as exc:
            raise self.dialect.connect_error(exc) from None
        except (ValueError, TypeError) as exc:  # e.g. ?connect_timeout=soon
            raise InvalidTargetError(
                _("The --db URL has a parameter the database driver does not accept."),
                _("Check the part of the URL after the question mark."),
                detail=self.dialect.words(exc),
            ) from None
        except sa_exc.SQLAlchemyError as exc:
            raise TargetError(
                _(
                    "Could not connect to the database at {where}: {reason}.",
                    where=self.url.where,
                    reason=self.dialect.words(exc),
                ),
                _("Check the URL."),
            ) from None

    def _errors(self, doing: Action) -> contextlib.AbstractContextManager[None]:
        return self.dialect.errors(doing, forget=self._layouts.forget)

    # --- SQLite files -----------------------------------------------------------------

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
                _("The folder {folder} does not exist.", folder=folder), fix_sqlite(self.url.sqlite_path)
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            # SQLite writes its journal next to the file, so the folder must be writable too.
            raise TargetError(_("Cannot write in {folder}.", folder=folder), fix_sqlite(self.url.sqlite_path))

    # --- reading ----------------------------------------------------------------------

    def read_values(self) -> dict[str, str]:
        if self._sqlite_file_missing():
            return {}
        with self._connect() as conn, self._errors("read"), conn.begin():
            layout = self._layouts.find(conn)
            if layout is None:
                return {}
            row = conn.execute(layout.select_row()).first()
        return remembered(layout, layout.values(row), self._memory)

    # --- planning and checking --------------------------------------------------------

    def plan(self, connection: Connection) -> SaveReport:
        if self._sqlite_file_missing():
            return SaveReport(self.description, OWNED_KEYS)
        with self._connect() as conn, self._errors("read"), conn.begin():
            layout = self._layouts.find(conn)
        if layout is None:
            return SaveReport(self.description, OWNED_KEYS)
        return layout.report(self.description, connection.to_values())

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
                raise TargetError(_("{path} is read-only.", path=path), fix_sqlite(path))
        with self._connect() as conn, self._errors("write"):
            if self.backend == "sqlite":
                conn.execution_options(**{SQLITE_BUSY_MS: math.ceil(CHECK_LOCK_WAIT * 1000)})
            conn.begin()
            try:
                self.dialect.set_lock_timeout(conn, CHECK_LOCK_WAIT)
                layout = self._layouts.ensure(conn)
                table = layout.table
                key = table.c[KEY_COLUMN]
                exists = conn.execute(sa.select(key).where(key == ROW_KEY).limit(1)).first()
                if exists:
                    access = table.c[COLUMNS[keys.ACCESS_TOKEN]]
                    conn.execute(sa.update(table).where(key == ROW_KEY).values({access: access}))
                else:
                    conn.execute(sa.insert(table).values(layout.placeholder_row()))
            except sa_exc.OperationalError as exc:
                # Rights are checked before row locks are waited for, so somebody else
                # holding the row means the writes themselves are allowed.
                if not self.dialect.is_lock_timeout(exc):
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
            raise self.dialect.busy()
        try:
            if self.backend == "sqlite":
                self._create_sqlite_file()
            held = HeldRow(self._connect(), self.dialect, self._layouts, self.description, self._memory)
            try:
                held.acquire(deadline)
                yield held
            finally:
                held.release()
        finally:
            self._thread_lock.release()
