"""Setup files (``*.amocrm-setup``): what a backend's developer prepares so that the admin only
logs in, presses Allow and confirms.

TOML, ``format = 1``, three tables: ``[connection]`` (account, client_id, redirect_uri),
``[target]`` (env or db, and ssh_host_key for an ssh:// env), ``[backend]`` (restart_cmd). A
setup file never holds a secret, a token or a password: the schema has no place for one, and
every key outside it is refused by name, as are relative paths, user or host names that are
not plain names, and another ``format``. A file may come from anybody, so nothing in it is
trusted before it is checked here. Qt-free: the CLI writes these files, the GUI reads them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from wizard.core import validate
from wizard.core.account import parse_account
from wizard.core.errors import ConfigError, InvalidSetupFileError
from wizard.core.i18n import _
from wizard.targets.ssh_session import (
    check_fingerprint,
    is_plain_host,
    is_plain_user,
    is_ssh_url,
    parse_ssh_url,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT = 1
SUFFIX = ".amocrm-setup"
MIME_TYPE = "application/x-amocrm-setup"
#: The layout: table → the keys it may hold. Nothing else is accepted.
SCHEMA: dict[str, tuple[str, ...]] = {
    "connection": ("account", "client_id", "redirect_uri"),
    "target": ("env", "db", "ssh_host_key"),
    "backend": ("restart_cmd",),
}
_SECRET_WORDS = ("secret", "password", "passwd", "token", "key_file", "code")


@dataclass(frozen=True)
class Setup:
    """A setup file's values; an empty string is a value the file does not give."""

    account: str = ""
    client_id: str = ""
    redirect_uri: str = ""
    env: str = ""
    db: str = ""
    ssh_host_key: str = ""
    restart_cmd: str = ""


# --- reading --------------------------------------------------------------------------


def read_setup(path: str | Path) -> Setup:
    """The checked values of the setup file at ``path`` (``InvalidSetupFileError``, exit 2)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise InvalidSetupFileError(
            _("Could not read the setup file {file}: {reason}.", file=file, reason=exc.strerror or exc),
            _("Check the path, or ask the backend's developer for the file again."),
        ) from exc
    return loads(raw.decode("utf-8", errors="replace"), name=str(file))


def loads(text: str, name: str = "the setup file") -> Setup:
    def bad(message: str) -> InvalidSetupFileError:
        return InvalidSetupFileError(
            _("In {file}: {problem}", file=name, problem=message),
            _("Ask the backend's developer for a new file (amocrm-wizard export-setup)."),
        )

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise bad(_("not a setup file ({reason}).", reason=exc)) from exc
    version = document.get("format")
    if version != FORMAT or isinstance(version, bool):
        raise bad(
            _(
                "format = {value} is not one this wizard reads (it reads format = {format}).",
                value=_shown(version),
                format=FORMAT,
            )
        )
    unknown = _unknown_keys(document)
    if unknown:
        secretish = [k for k in unknown if any(word in k.lower() for word in _SECRET_WORDS)]
        if secretish:
            raise bad(
                _(
                    "unknown keys: {keys}. A setup file never holds a secret, a token or a password.",
                    keys=", ".join(unknown),
                )
            )
        raise bad(_("unknown keys: {keys}.", keys=", ".join(unknown)))
    values: dict[str, str] = {}
    for table, keys in SCHEMA.items():
        for key in keys:
            value = document.get(table, {}).get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise bad(_("{key} must be a string in quotes.", key=f"{table}.{key}"))
            values[key] = value.strip()
    setup = Setup(**values)
    try:
        check(setup)
    except ConfigError as exc:
        raise bad(exc.message) from exc
    return setup


def _unknown_keys(document: dict[str, Any]) -> list[str]:
    unknown = []
    for key, value in document.items():
        if key == "format":
            continue
        if key not in SCHEMA or not isinstance(value, dict):
            unknown.append(key)
            continue
        unknown += [f"{key}.{inner}" for inner in value if inner not in SCHEMA[key]]
    return unknown


def _shown(value: object) -> str:
    return "(missing)" if value is None else json.dumps(value) if isinstance(value, str) else str(value)


def check(setup: Setup) -> None:
    """Everything a setup file may say, checked as the commands would check it."""
    if setup.account:
        _named("connection.account", lambda: parse_account(setup.account))
    if setup.client_id:
        _named("connection.client_id", lambda: validate.client_id(setup.client_id))
    if setup.redirect_uri:
        _named("connection.redirect_uri", lambda: validate.redirect_uri(setup.redirect_uri))
    if setup.env and setup.db:
        raise InvalidSetupFileError(_("target.env and target.db are both given; a setup names one target."))
    if setup.env:
        _named("target.env", lambda: _check_env(setup.env))
    if setup.db:
        _check_db(setup.db)
    if setup.ssh_host_key:
        if not is_ssh_url(setup.env):
            raise InvalidSetupFileError(
                _("target.ssh_host_key is given, but target.env is not an ssh:// address.")
            )
        _named("target.ssh_host_key", lambda: check_fingerprint(setup.ssh_host_key))
    if any(c in setup.restart_cmd for c in "\n\r\x00"):
        raise InvalidSetupFileError(_("backend.restart_cmd must be one line."))


def _named(key: str, check_value: Callable[[], object]) -> None:
    try:
        check_value()
    except InvalidSetupFileError:
        raise
    except ConfigError as exc:
        raise InvalidSetupFileError(
            _("{key} is not right: {problem}", key=key, problem=exc.message), exc.hint
        ) from exc


def _check_env(env: str) -> None:
    if is_ssh_url(env):
        parse_ssh_url(env)  # plain user and host names, an absolute path
        return
    if not (PurePosixPath(env).is_absolute() or PureWindowsPath(env).is_absolute()):
        raise InvalidSetupFileError(
            _(
                "target.env = {path} is a relative path; a setup file names the .env by its absolute path.",
                path=json.dumps(env),
            )
        )


def _check_db(url: str) -> None:
    # The passwords first: every later message shows the address.
    parts = urlsplit(url)
    if parts.password is not None:
        raise InvalidSetupFileError(
            _("target.db holds a password; a setup file never does (the admin gives it: AMOCRM_DB_PASSWORD).")
        )
    in_query = _password_parameters(parts.query)
    if in_query:
        raise InvalidSetupFileError(
            _(
                "target.db holds a password in its query ({names}); a setup file never does "
                "(the admin gives it: AMOCRM_DB_PASSWORD).",
                names=", ".join(in_query),
            )
        )
    scheme = parts.scheme.split("+")[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
        raise InvalidSetupFileError(_("target.db = {url} is not a database address.", url=json.dumps(url)))
    if scheme == "sqlite":
        path = url.split("///", 1)[1] if "///" in url else ""
        if not (PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute()):
            raise InvalidSetupFileError(
                _(
                    "target.db = {url} is a relative path; use sqlite:////absolute/path.db.",
                    url=json.dumps(url),
                )
            )
        return
    if parts.hostname is None or not is_plain_host(parts.hostname):
        raise InvalidSetupFileError(_("target.db names no plain host name: {url}", url=json.dumps(url)))
    if parts.username is not None and not is_plain_user(parts.username):
        raise InvalidSetupFileError(_("target.db names no plain user name: {url}", url=json.dumps(url)))


#: Query parameters the database drivers take a password from (libpq, PyMySQL, SQLAlchemy).
_PASSWORD_PARAMETERS = frozenset({"password", "passwd", "pwd", "pass", "sslpassword"})


def _password_parameters(query: str) -> list[str]:
    names = [name for name, _value in parse_qsl(query, keep_blank_values=True)]
    return [name for name in names if name.lower() in _PASSWORD_PARAMETERS]


# --- writing --------------------------------------------------------------------------


def dumps(setup: Setup) -> str:
    """The setup file's text, checked first (so nothing written here is refused when read).

    Written by hand rather than with tomli-w: a flat file of a few strings needs no further
    dependency (``basic_string`` is the one rule it takes).
    """
    check(setup)
    values = {f.name: getattr(setup, f.name) for f in fields(setup)}
    lines = [
        "# amoCRM wizard setup: open it with amocrm-wizard (or double-click it) to connect.",
        "# It holds no secret; the admin logs in to amoCRM and presses Allow.",
        f"format = {FORMAT}",
    ]
    for table, keys in SCHEMA.items():
        present = [(key, values[key]) for key in keys if values[key]]
        if present:
            lines += [
                "",
                f"[{table}]",
                *(f"{key} = {basic_string(value)}" for key, value in present),
            ]
    return "\n".join(lines) + "\n"


# TOML's short escapes; every other control character is written as \uXXXX. (json.dumps is
# close but not it: it writes DEL, U+007F, raw, which TOML forbids in a basic string.)
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def basic_string(value: str) -> str:
    """``value`` as a TOML basic string ("…"), every control character escaped."""
    escaped = "".join(
        _SHORT_ESCAPES.get(ch) or (f"\\u{ord(ch):04X}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch)
        for ch in value
    )
    return f'"{escaped}"'


def without_password(db_url: str) -> str:
    """A database URL as a setup file may hold it: the password left out (from the user part
    and the query), an SQLite path absolute."""
    if db_url.lower().startswith("sqlite:///") and not db_url.lower().startswith("sqlite:////"):
        relative = db_url[len("sqlite:///") :]
        if relative and relative != ":memory:" and not PureWindowsPath(relative).is_absolute():
            return "sqlite:///" + str(Path(relative).expanduser().absolute())  # as the target opens it
    parts = urlsplit(db_url)
    if _password_parameters(parts.query):
        # The other parameters kept as written (urlencode would re-quote them).
        kept = [p for p in parts.query.split("&") if p and not _password_parameters(p)]
        parts = parts._replace(query="&".join(kept))
        db_url = urlunsplit(parts)
    if parts.password is None:
        return db_url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = (
        (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --- opening the wizard with one ---------------------------------------------------------


def apply_setup(options: Any) -> Setup | None:
    """``--setup FILE``: fill the same prefill options as --account, --client-id,
    --redirect-uri and --env/--db (flags given on the command line win), and let the
    server named by ``ssh_host_key`` in. ``options.restart_cmd`` gets the backend's command."""
    path = getattr(options, "setup", None)
    if not path:
        return None
    setup = read_setup(path)
    for name in ("account", "client_id", "redirect_uri"):
        if not getattr(options, name, None):
            setattr(options, name, getattr(setup, name) or None)
    if not (getattr(options, "env", None) or getattr(options, "db", None)):
        options.env = setup.env or None
        options.db = setup.db or None
    if setup.ssh_host_key:
        from wizard.targets.ssh_session import confirm_host_key

        confirm_host_key(setup.ssh_host_key)
    options.restart_cmd = getattr(options, "restart_cmd", None) or setup.restart_cmd or None
    return setup
