"""The layout of ``system_settings``: the one the wizard creates, or the one it finds.

A table that already exists is used as it is: which of the wizard's columns it has, what
type each one is (timestamps, epoch integers or ISO text), whether ``key`` is unique and
what a new row needs. This module turns the contract's values into that table's row and
back, and says which values had nowhere to go.

A table shaped like the backend's own (the two token columns, ``updated_at`` and a
``value`` column) keeps what has no column of its own in ``value``: one JSON object keyed
by the .env names, written whole each time (JSON where the column is JSON, JSON text where
it is text). The client secret never goes there; the wizard keeps it in the OS keyring
(``wizard.targets.credentials``). amoCRM's verdict on the refresh token goes to a column of
its own, else into ``value``, else nowhere: the target keeps it in memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection as DbConnection

from wizard.core import connection as keys
from wizard.core.connection import OWNED_KEYS, STORED_KEYS
from wizard.core.errors import TargetError
from wizard.core.i18n import _
from wizard.core.tokens import format_utc, parse_utc, utcnow
from wizard.targets.base import SaveReport

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
    keys.REFRESH_REJECTED: "amocrm_refresh_rejected",
}
#: The backend's own column for settings; the wizard's row keeps there what has no column.
VALUE_COLUMN = "value"
#: Never in ``value``: the secret (the keyring keeps it) and the tokens (required columns).
_NEVER_IN_VALUE = frozenset({keys.CLIENT_SECRET, keys.ACCESS_TOKEN, keys.REFRESH_TOKEN})
REQUIRED_COLUMNS = (KEY_COLUMN, COLUMNS[keys.ACCESS_TOKEN], COLUMNS[keys.REFRESH_TOKEN])


def wizard_table(metadata: sa.MetaData) -> sa.Table:
    """The table the wizard creates when there is none."""
    text_columns = [sa.Column(COLUMNS[k], sa.Text) for k in STORED_KEYS if k != keys.EXPIRES_AT]
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
class Layout:
    """One table's shape in one dialect, and the wizard's row in it."""

    table: sa.Table
    #: False when ``key`` has neither a primary key nor a unique index: duplicates are possible.
    key_unique: bool
    backend: str  # "sqlite", "postgresql" or "mysql"

    @property
    def column_keys(self) -> tuple[str, ...]:
        """The keys that have a column of their own."""
        return tuple(k for k in STORED_KEYS if COLUMNS[k] in self.table.c)

    @property
    def json_keys(self) -> tuple[str, ...]:
        """The keys kept in the ``value`` JSON: those without a column, if there is one."""
        if VALUE_COLUMN not in self.table.c:
            return ()
        return tuple(k for k in STORED_KEYS if COLUMNS[k] not in self.table.c and k not in _NEVER_IN_VALUE)

    @property
    def stored_keys(self) -> tuple[str, ...]:
        """Every key this table can hold, in a column or in ``value``."""
        held = {*self.column_keys, *self.json_keys}
        return tuple(k for k in STORED_KEYS if k in held)

    @property
    def our_row(self) -> sa.ColumnElement[bool]:
        return self.table.c[KEY_COLUMN] == ROW_KEY

    def select_row(self) -> sa.Select[Any]:
        columns = [self.table.c[COLUMNS[k]] for k in self.column_keys]
        if self.json_keys:
            columns.append(self.table.c[VALUE_COLUMN])
        return sa.select(*columns).where(self.our_row).limit(1)

    # --- values to the row and back -----------------------------------------------------

    def values(self, row: sa.Row[Any] | None) -> dict[str, str]:
        """The contract's values in the row (absent where a column is NULL or missing)."""
        values: dict[str, str] = {}
        if row is None:
            return values
        mapping = row._mapping
        for key in self.column_keys:
            value = mapping[COLUMNS[key]]
            if value is not None:
                values[key] = from_db(value, moment=key == keys.EXPIRES_AT)
        if self.json_keys:
            kept = _json_object(mapping[VALUE_COLUMN])
            for key in self.json_keys:
                value = kept.get(key)
                if isinstance(value, str):
                    values[key] = value
        return values

    def row(self, values: dict[str, str]) -> dict[str, object]:
        """The columns an upsert of ``values`` writes, ``updated_at`` included."""
        row: dict[str, object] = {}
        for key in self.column_keys:
            column = self.table.c[COLUMNS[key]]
            if key == keys.EXPIRES_AT:
                text = values[key]
                row[column.name] = self.to_db(column, parse_utc(text) if text else None, text)
            else:
                # A save without a verdict clears the one stored (contract, "Exit codes").
                row[column.name] = values.get(key) or (None if key == keys.REFRESH_REJECTED else "")
        if self.json_keys:
            row[VALUE_COLUMN] = self._to_json(self._json_values(values))
        if UPDATED_AT in self.table.c:
            row[UPDATED_AT] = self.to_db(self.table.c[UPDATED_AT], utcnow())
        return row

    def verdict_row(self, got: sa.Row[Any] | None, verdict: str) -> dict[str, object] | None:
        """Only where the verdict goes: its own column, or ``value`` with it added to what
        that holds; never ``updated_at`` (a backend reads it as the tokens' age) nor the
        tokens. None: the table has nowhere to put it."""
        if keys.REFRESH_REJECTED in self.column_keys:
            return {COLUMNS[keys.REFRESH_REJECTED]: verdict}
        if keys.REFRESH_REJECTED not in self.json_keys:
            return None
        kept = _json_object(got._mapping[VALUE_COLUMN]) if got is not None else {}
        kept[keys.REFRESH_REJECTED] = verdict
        return {VALUE_COLUMN: self._to_json(kept)}

    def misread(self, got: sa.Row[Any] | None, values: dict[str, str]) -> list[str]:
        """The columns that do not read back as ``values`` were written."""
        mapping = got._mapping if got else {}
        expires = COLUMNS[keys.EXPIRES_AT]
        stored = {str(k): from_db(v, moment=str(k) == expires) for k, v in mapping.items() if v is not None}
        wrong = [COLUMNS[k] for k in self.column_keys if stored.get(COLUMNS[k], "") != values.get(k, "")]
        if self.json_keys and _json_object(mapping.get(VALUE_COLUMN)) != self._json_values(values):
            wrong.append(VALUE_COLUMN)
        return wrong

    def misread_verdict(self, got: sa.Row[Any] | None, verdict: str) -> list[str]:
        """``[AMOCRM_REFRESH_REJECTED]`` when the verdict does not read back as written."""
        return [] if self.values(got).get(keys.REFRESH_REJECTED, "") == verdict else [keys.REFRESH_REJECTED]

    def _json_values(self, values: dict[str, str]) -> dict[str, str]:
        return {k: values[k] for k in self.json_keys if k in values}

    def _to_json(self, kept: Mapping[str, object]) -> object:
        """A JSON column takes the object; a text column takes it as JSON text."""
        return kept if isinstance(self.table.c[VALUE_COLUMN].type, sa.JSON) else json.dumps(kept)

    def placeholder_row(self) -> dict[str, object]:
        """A row that satisfies the table's constraints until the first save fills it in."""
        table = self.table
        now = utcnow()
        owned = {COLUMNS[k] for k in STORED_KEYS}
        row: dict[str, object] = {KEY_COLUMN: ROW_KEY}
        if UPDATED_AT in table.c:
            row[UPDATED_AT] = self.to_db(table.c[UPDATED_AT], now)
        foreign: list[str] = []
        for column in table.columns:
            if column.name in row or not _needs_value(column):
                continue
            if column.name == COLUMNS[keys.EXPIRES_AT]:
                row[column.name] = self.to_db(column, now)
            elif column.name == VALUE_COLUMN and self.json_keys:
                row[column.name] = self._to_json({})
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

    def report(self, description: str, values: dict[str, str] | None = None) -> SaveReport:
        """What a save of ``values`` writes here, and what had nowhere to go."""
        verdict = bool(values and values.get(keys.REFRESH_REJECTED))
        stored = self.stored_keys
        written = tuple(k for k in stored if k != keys.REFRESH_REJECTED or verdict)
        elsewhere: dict[str, str] = {
            key: _("not stored: the table has no column {column}", column=COLUMNS[key])
            for key in OWNED_KEYS
            if key not in stored
        }
        if verdict and keys.REFRESH_REJECTED not in stored:
            elsewhere[keys.REFRESH_REJECTED] = _(
                "only in this program's memory: the table has no column {column} and no value column",
                column=COLUMNS[keys.REFRESH_REJECTED],
            )
        return SaveReport(description, written, elsewhere)

    def to_db(self, column: sa.Column[Any], moment: datetime | None, text: str | None = None) -> object:
        """A timestamp for whatever type the column has; ``text`` is used for text columns."""
        if moment is None:
            return None
        if text is None:
            text = format_utc(moment)
        moment = moment.astimezone(timezone.utc).replace(microsecond=0)
        if isinstance(column.type, sa.DateTime):
            # Only PostgreSQL keeps a zone; MySQL DATETIME and SQLite get naive UTC.
            keeps_zone = self.backend == "postgresql" and bool(column.type.timezone)
            return moment if keeps_zone else moment.replace(tzinfo=None)
        if isinstance(column.type, sa.Integer | sa.Numeric):
            return int(moment.timestamp())
        return text


def _json_object(value: object) -> dict[str, object]:
    """What ``value`` holds as a JSON object; anything else (NULL, not JSON) holds nothing."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def from_db(value: object, *, moment: bool = False) -> str:
    """Back to the contract's text; ``moment``: numbers in this column are epoch seconds."""
    if isinstance(value, datetime):
        return format_utc(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if moment and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_utc(datetime.fromtimestamp(float(value), timezone.utc))
    return str(value)


def _needs_value(column: sa.Column[Any]) -> bool:
    """Would an INSERT that leaves this column out fail?"""
    generated = column.identity is not None or column.autoincrement is True
    integer_key = column.primary_key and isinstance(column.type, sa.Integer)
    return not column.nullable and column.server_default is None and not generated and not integer_key


def _key_is_unique(table: sa.Table) -> bool:
    key = [KEY_COLUMN]
    if [c.name for c in table.primary_key.columns] == key:
        return True
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint) and [c.name for c in constraint.columns] == key:
            return True
    return any(index.unique and [c.name for c in index.columns] == key for index in table.indexes)


# --- finding the table ------------------------------------------------------------------


class Layouts:
    """The table of one database, reflected once and forgotten when it may have changed."""

    def __init__(self, backend: str, where: str) -> None:
        self.backend = backend
        self.where = where  # the server or file, for messages
        self._known: Layout | None = None

    def forget(self) -> None:
        self._known = None

    def find(self, conn: DbConnection) -> Layout | None:
        """The existing table; None when it does not exist."""
        if self._known is not None:
            return self._known
        if not sa.inspect(conn).has_table(TABLE):
            return None
        table = sa.Table(TABLE, sa.MetaData(), autoload_with=conn)
        self._check(table)
        self._known = Layout(table, _key_is_unique(table), self.backend)
        return self._known

    def ensure(self, conn: DbConnection) -> Layout:
        """The table, created when missing (inside the caller's transaction, except on MySQL)."""
        layout = self.find(conn)
        if layout is not None:
            return layout
        # On MySQL, CREATE TABLE commits implicitly; that is harmless here because nothing
        # has been written yet, and MySQL starts a new transaction with the next statement.
        table = wizard_table(sa.MetaData())
        table.create(conn, checkfirst=True)
        # Not kept: the creation is undone if this transaction rolls back.
        return Layout(table, True, self.backend)

    def _check(self, table: sa.Table) -> None:
        missing = [name for name in REQUIRED_COLUMNS if name not in table.c]
        if missing:
            raise TargetError(
                _(
                    "The table system_settings in {where} has no column {columns}.",
                    where=self.where,
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
