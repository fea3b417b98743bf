"""The held row: one connection, in a transaction that holds the row lock until released.

The lock is a row lock (``SELECT … FOR UPDATE``) on PostgreSQL and MySQL, so several hosts
sharing one database never refresh at once, and ``BEGIN IMMEDIATE`` on SQLite. Row locks,
unlike session-level advisory locks, also work through transaction-mode poolers such as
Supabase's: nothing here relies on the session outliving the transaction.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection as DbConnection

from wizard.core import connection as keys
from wizard.core.connection import Connection
from wizard.core.errors import TargetError, VerificationError
from wizard.core.i18n import _
from wizard.core.logs import LOGGER_NAME
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, SaveReport, iter_secrets
from wizard.targets.sql.dialect import Dialect
from wizard.targets.sql.layout import KEY_COLUMN, ROW_KEY, Layout, Layouts

log = logging.getLogger(f"{LOGGER_NAME}.targets.sql")

# Retries of the lock step when two processes create the table or the row at the same moment.
_RACE_ATTEMPTS = 5


class HeldRow(Held):
    """The wizard's row, locked on ``conn`` by ``acquire`` until ``release``."""

    def __init__(
        self,
        conn: DbConnection,
        dialect: Dialect,
        layouts: Layouts,
        description: str,
        memory: dict[str, str],
    ) -> None:
        self._conn = conn
        self._dialect = dialect
        self._layouts = layouts
        self._description = description
        #: What this process keeps of a value the table has no place for (the verdict).
        self._memory = memory
        self._layout: Layout | None = None
        #: The row as the lock found it when it was last taken (a commit lets it go): a
        #: verdict kept in ``value`` is merged into it.
        self._row: sa.Row[Any] | None = None
        self._mysql_lock: str | None = None
        self._broken = False
        #: What this lock last committed, to notice a change between two saves.
        self._written: tuple[object, ...] | None = None
        self._values: dict[str, str] = {}
        self.stored = None

    def values(self) -> dict[str, str]:
        return dict(self._values)

    # --- taking and giving back -------------------------------------------------------

    def acquire(self, deadline: float) -> None:
        try:
            with self._dialect.errors("lock", forget=self._layouts.forget):
                row = self._lock_row_retrying(deadline)
        except TargetError:
            self._broken = True
            raise
        assert self._layout is not None
        self._row = row
        self._values = remembered(self._layout, self._layout.values(row), self._memory)
        self.stored = Connection.from_values(self._values)
        log.debug("Locked the %s row in %s", ROW_KEY, self._description)

    def _lock_row_retrying(self, deadline: float) -> sa.Row[Any]:
        for attempt in range(_RACE_ATTEMPTS):
            try:
                return self._lock_row(deadline)
            except sa_exc.DBAPIError as exc:
                if attempt == _RACE_ATTEMPTS - 1 or not self._dialect.is_race(exc):
                    raise
                self._rollback()
                self._layouts.forget()
        raise AssertionError("unreachable")

    def _lock_row(self, deadline: float) -> sa.Row[Any]:
        """Begin, lock the row (creating the table and the row when missing), return it."""
        conn = self._conn
        # Always try once, even with no time left: timeout=0 means "only if free now".
        self._dialect.begin_locking(conn, max(0.001, deadline - time.monotonic()))
        layout = self._layout = self._layouts.ensure(conn)
        select = layout.select_row().with_for_update()
        row = conn.execute(select).first()
        if row is None and not layout.key_unique:
            # Nothing to lock yet and nothing to stop two hosts inserting the row twice.
            self._mysql_lock = self._dialect.serialise_row_creation(conn, deadline) or self._mysql_lock
            row = conn.execute(select).first()
        if row is None:
            conn.execute(sa.insert(layout.table).values(layout.placeholder_row()))
            row = conn.execute(select).first()
        assert row is not None
        return row

    def release(self) -> None:
        self._rollback()
        if self._mysql_lock:
            self._dialect.release_named_lock(self._conn, self._mysql_lock)
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            self._conn.close()

    def _rollback(self) -> None:
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            if self._conn.in_transaction():
                self._conn.rollback()

    # --- saving -----------------------------------------------------------------------

    def save(self, connection: Connection) -> SaveReport:
        secrets = tuple(s for s in iter_secrets(connection) if s)
        values = connection.to_values()
        with self._writing(secrets) as layout:
            row = layout.row(values)
            if self._conn.execute(sa.update(layout.table).where(layout.our_row).values(row)).rowcount == 0:
                self._conn.execute(sa.insert(layout.table).values({KEY_COLUMN: ROW_KEY, **row}))
            self._read_back(layout, lambda got: layout.misread(got, values))
        self.stored = connection
        remember(layout, values, self._memory)
        kept = {k: v for k, v in values.items() if k in layout.stored_keys}
        self._values = remembered(layout, kept, self._memory)
        return layout.report(self._description, values)

    def save_verdict(self, verdict: str) -> None:
        with self._writing(()) as layout:
            row = layout.verdict_row(self._row, verdict)
            if row is not None:
                self._conn.execute(sa.update(layout.table).where(layout.our_row).values(row))
                self._read_back(layout, lambda got: layout.misread_verdict(got, verdict))
        self._values = {**self._values, keys.REFRESH_REJECTED: verdict}
        remember(layout, self._values, self._memory)
        if self.stored is not None:
            self.stored = self.stored.with_verdict(verdict)

    @contextlib.contextmanager
    def _writing(self, secrets: tuple[str, ...]) -> Iterator[Layout]:
        """One write under the lock, committed when the block ends. The lock is taken again
        when an earlier commit let the row go; any failure rolls back and marks the lock
        lost, so nothing later writes over a row this process no longer holds."""
        layout = self._layout
        if self._broken or layout is None:
            raise TargetError(
                _("The lock on {target} was lost, so nothing was saved.", target=self._description),
                _("Try again."),
            )
        try:
            with self._dialect.errors("write", secrets, forget=self._layouts.forget):
                if not self._conn.in_transaction():
                    self._relock()
                yield layout
                self._commit(secrets)
        except TargetError:
            self._broken = True
            self._rollback()
            raise

    def _read_back(self, layout: Layout, misread: Callable[[sa.Row[Any] | None], list[str]]) -> None:
        """Read back before committing: a column too short for a JWT (or MySQL quietly
        truncating) must roll back, not replace a working pair with a broken one."""
        got = self._conn.execute(layout.select_row()).first()
        wrong = misread(got)
        if wrong:
            raise VerificationError(
                _(
                    "After saving, system_settings in {where} does not read back as written "
                    "({columns}); nothing was saved.",
                    where=self._dialect.where,
                    columns=", ".join(wrong),
                ),
                _("The columns may be too short for the tokens; make them TEXT."),
            )
        self._written = tuple(got) if got else None

    def _commit(self, secrets: tuple[str, ...]) -> None:
        try:
            self._conn.commit()
        except sa_exc.DBAPIError as exc:
            if self._dialect.is_disconnect(exc):
                raise self._dialect.lost_while_saving(exc, secrets) from None
            raise

    def _relock(self) -> None:
        """A second save under one lock: the first commit let the row go, so take it again
        and make sure nobody saved in between (their pair would be newer than ours)."""
        row = self._row = self._lock_row(time.monotonic() + DEFAULT_LOCK_TIMEOUT)
        if self._written is not None and tuple(row) != self._written:
            raise TargetError(
                _(
                    "Another program saved tokens to {target} meanwhile; nothing was saved over them.",
                    target=self._description,
                ),
                _("Try again."),
            )


def remember(layout: Layout, values: dict[str, str], memory: dict[str, str]) -> None:
    """Keep in memory the verdict this table has no place for; a save without one clears it."""
    if keys.REFRESH_REJECTED in layout.stored_keys or not values.get(keys.REFRESH_REJECTED):
        memory.pop(keys.REFRESH_REJECTED, None)
    else:
        memory[keys.REFRESH_REJECTED] = values[keys.REFRESH_REJECTED]


def remembered(layout: Layout, values: dict[str, str], memory: dict[str, str]) -> dict[str, str]:
    """``values`` with what this process remembers for keys the table cannot hold."""
    return {**{k: v for k, v in memory.items() if k not in layout.stored_keys}, **values}
