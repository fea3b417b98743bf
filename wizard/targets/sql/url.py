"""The ``--db`` value: which database, which driver, and how to name it to people."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from wizard.core.errors import InvalidTargetError
from wizard.core.i18n import _

ACCEPTED_FORMS = _(
    "Use sqlite:///path/to/file.db, postgresql://user:password@host:port/database "
    "(postgres:// as Supabase shows it is fine) or mysql://user:password@host:port/database "
    "(mariadb:// works too)."
)
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


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
