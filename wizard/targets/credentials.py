"""Where each value of a connection comes from, and where the client secret is kept.

The contract fixes one order for every command and for the wizard: the flags (what the
admin typed), then the target (its columns, then its ``value`` JSON), then the ``AMOCRM_*``
environment (the backend's own), then, for the secret only, the OS keyring. The secret
cannot be a flag (it would show in the process list): ``--client-secret-stdin`` (or the
wizard's field) is its flag and wins over a stored one; ``AMOCRM_CLIENT_SECRET`` ranks
with the rest of the environment, after the target. ``resolve`` is that order, written
once. ``Credentials`` puts any target behind it: what the target holds is completed on
every read, under the lock too, and on every save the secret is kept in the OS keyring
when the target has no place for it (or it is new), so nothing else needs to know the
keyring exists.

A secret the target holds is only used for the integration it was stored with: when the
flags name another account or client id, the target's secret would be sent to the wrong
integration, so it is passed over for the environment's or the keyring's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from wizard.core import connection as keys
from wizard.core.connection import Connection
from wizard.core.errors import IncompleteConfigError
from wizard.core.i18n import Text, _
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, SaveReport, TokenTarget

Origin = Literal["flags", "target", "environment", "keyring"]
#: ``(base URL, client id) -> secret or None``: the OS keyring's lookup.
SecretLookup = Callable[[str, str], "str | None"]

#: What the environment may supply: the integration, never the tokens. A token pair in a
#: backend's environment is a copy that went stale at the first refresh.
ENVIRONMENT_KEYS: tuple[str, ...] = (
    keys.BASE_URL,
    keys.SUBDOMAIN,
    keys.CLIENT_ID,
    keys.CLIENT_SECRET,
    keys.REDIRECT_URI,
)
#: What a caller may pass as flags.
FLAG_KEYS = ENVIRONMENT_KEYS
#: What a refresh sends amoCRM besides the refresh token; calling the API needs the address.
TO_REFRESH: tuple[str, ...] = (keys.BASE_URL, keys.CLIENT_ID, keys.CLIENT_SECRET, keys.REDIRECT_URI)
TO_CALL: tuple[str, ...] = (keys.BASE_URL,)
#: The command-line flag of each value a command takes.
FLAG_NAMES = {keys.BASE_URL: "--account", keys.CLIENT_ID: "--client-id", keys.REDIRECT_URI: "--redirect-uri"}


@dataclass(frozen=True)
class Resolved:
    """The values found, as contract keys, and where each one came from."""

    values: dict[str, str]
    origins: dict[str, Origin]

    def connection(self) -> Connection | None:
        return Connection.from_values(self.values)


def resolve(
    flags: Mapping[str, str],
    stored: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    keyring: SecretLookup | None = None,
) -> Resolved:
    """Every value from the first place that has it: flags, target, environment, keyring.

    ``stored`` is what the target holds (missing keys absent); ``environ`` defaults to
    ``os.environ``; ``keyring`` is asked for the secret last, and only when the account and
    the client id are known (it files secrets under them).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}

    def take(key: str, value: str | None, origin: Origin) -> None:
        if key not in values and value is not None and (value.strip() or _may_be_empty(key, value, origin)):
            values[key] = value.strip()
            origins[key] = origin

    for key in FLAG_KEYS:
        take(key, flags.get(key), "flags")
    for key in keys.STORED_KEYS:
        if key == keys.CLIENT_SECRET and not _same_integration(stored, flags):
            continue
        take(key, stored.get(key), "target")
    for key in ENVIRONMENT_KEYS:
        take(key, environ.get(key), "environment")
    base_url, client_id = values.get(keys.BASE_URL), values.get(keys.CLIENT_ID)
    if keyring is not None and keys.CLIENT_SECRET not in values and base_url and client_id:
        take(keys.CLIENT_SECRET, keyring(base_url, client_id), "keyring")
    return Resolved(values, origins)


def _may_be_empty(key: str, value: str, origin: Origin) -> bool:
    """A target may hold an empty subdomain (a loopback sandbox); ``check`` accepts it."""
    return origin == "target" and key in keys.MAY_BE_EMPTY and value == ""


def _same_integration(stored: Mapping[str, str], flags: Mapping[str, str]) -> bool:
    """Was the target's secret stored for the integration the flags name (if they name one)?"""
    for key in (keys.BASE_URL, keys.CLIENT_ID):
        given = flags.get(key, "").strip()
        if given and _normal(key, given) != _normal(key, stored.get(key, "")):
            return False
    return True


def _normal(key: str, value: str) -> str:
    value = value.strip().lower()
    if key != keys.BASE_URL:
        return value
    from wizard.core.account import parse_account
    from wizard.core.errors import WizardError

    try:
        return parse_account(value).base_url
    except WizardError:
        return value.rstrip("/")


def found_nowhere(description: str, values: Mapping[str, str], needed: tuple[str, ...]) -> None:
    """Raise ``IncompleteConfigError`` (exit 1) naming each needed value that no place
    had, and where to put it; the tokens themselves are the caller's to check."""
    missing = [key for key in needed if not values.get(key)]
    if not missing:
        return
    flags = [FLAG_NAMES[key] for key in missing if key in FLAG_NAMES]
    names = ", ".join(missing)
    message = _(
        "{names} was found neither in {target} nor in the flags or the environment.",
        names=names,
        target=description,
    )
    if flags:
        hint = _(
            "Set {names} in the environment the command runs in (the backend's own), or pass {flags}.",
            names=names,
            flags=", ".join(flags),
        )
    else:
        hint = _(
            "Set AMOCRM_CLIENT_SECRET in the environment the command runs in, or connect once "
            "on this computer so that the OS keyring keeps the secret."
        )
    raise IncompleteConfigError(message, hint)


def keyring_secret(base_url: str, client_id: str) -> str | None:
    """The OS keyring's lookup (a ``SecretLookup``). The keyring package is imported only
    when a secret is looked up: most reads find the secret in the target first."""
    from wizard.targets.keyring_store import load_secret

    return load_secret(base_url, client_id)


# --- any target, completed ----------------------------------------------------------------


class Credentials(TokenTarget):
    """A target as the commands and the wizard see it: completed in the contract's order,
    the secret kept in the OS keyring where the target has no place of its own for it."""

    def __init__(
        self,
        target: TokenTarget,
        flags: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self.flags = {k: v for k, v in (flags or {}).items() if k in FLAG_KEYS and v}
        self._environ = environ
        self._keyring_lock = threading.Lock()
        #: (base URL, client id, secret) the keyring is known to hold, so a refresh that
        #: keeps the secret does not ask the keyring (or rewrite its entry) every time.
        self._in_keyring: tuple[str, str, str] | None = None

    @property
    def description(self) -> str:
        return self.target.description

    def resolve(self, stored: Mapping[str, str]) -> Resolved:
        return resolve(self.flags, stored, self._environ, self._lookup)

    def read_values(self) -> dict[str, str]:
        return self.resolve(self.target.read_values()).values

    @contextlib.contextmanager
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Held]:
        with self.target.lock(timeout) as held:
            values = held.values()
            yield _CompletedHeld(self, held, self.target.read_values() if values is None else values)

    def plan(self, connection: Connection) -> SaveReport:
        report = self.target.plan(connection)
        if keys.CLIENT_SECRET in report.written or not connection.client_secret:
            return report
        from wizard.targets.keyring_store import keyring_available

        return self._secret_report(report, kept=keyring_available())

    def check_writable(self) -> None:
        self.target.check_writable()

    def close(self) -> None:
        self.target.close()

    def underlying(self) -> TokenTarget:
        return self.target.underlying()

    # --- the keyring --------------------------------------------------------------------

    def _lookup(self, base_url: str, client_id: str) -> str | None:
        secret = keyring_secret(base_url, client_id)
        if secret:
            with self._keyring_lock:
                self._in_keyring = (base_url, client_id, secret)
        return secret

    def keep_secret(self, connection: Connection, report: SaveReport, new: bool) -> SaveReport:
        """Keep the secret in the OS keyring when the target did not take it, or when it is
        ``new`` (connecting), so a later run can find it for any target."""
        secret = connection.client_secret
        held_by_target = keys.CLIENT_SECRET in report.written
        if not secret or not connection.client_id or (held_by_target and not new):
            return report
        entry = (connection.base_url, connection.client_id, secret)
        with self._keyring_lock:
            known = self._in_keyring == entry
        kept = known or self._save_in_keyring(entry)
        report = replace(report, kept_in_keyring=kept)
        return report if held_by_target else self._secret_report(report, kept=kept)

    def _save_in_keyring(self, entry: tuple[str, str, str]) -> bool:
        from wizard.targets.keyring_store import save_secret

        kept = save_secret(*entry)
        if kept:
            with self._keyring_lock:
                self._in_keyring = entry
        return kept

    @staticmethod
    def _secret_report(report: SaveReport, *, kept: bool) -> SaveReport:
        why_not = report.elsewhere.get(keys.CLIENT_SECRET)
        where: Text = (
            _("the OS keyring")
            if kept
            else _("{reason} and no OS keyring is available", reason=why_not)
            if why_not
            else _("not stored: no OS keyring is available")
        )
        return replace(report, elsewhere={**report.elsewhere, keys.CLIENT_SECRET: where})


class _CompletedHeld(Held):
    """The target's lock, with what it holds completed the same way as a plain read."""

    def __init__(self, owner: Credentials, held: Held, held_values: dict[str, str]) -> None:
        self._owner = owner
        self._held = held
        self._values = held_values
        #: The secret the target itself held: one typed or taken from the environment is new.
        self._targets_secret = held_values.get(keys.CLIENT_SECRET, "")
        self.stored = owner.resolve(held_values).connection()

    def save(self, connection: Connection) -> SaveReport:
        report = self._held.save(connection)
        self.stored = connection
        new = connection.client_secret != self._targets_secret
        held_values = self._held.values()
        self._values = connection.to_values() if held_values is None else held_values
        self._targets_secret = self._values.get(keys.CLIENT_SECRET, "")
        return self._owner.keep_secret(connection, report, new=new)

    def save_verdict(self, verdict: str) -> None:
        # Only the target's own values gain the verdict: nothing resolved from the flags or
        # the environment is written back, and the keyring is not touched.
        self._held.save_verdict(verdict)
        held_values = self._held.values()
        if held_values is None:
            held_values = {**self._values, keys.REFRESH_REJECTED: verdict}
        self._values = held_values
        if self.stored is not None:
            self.stored = self.stored.with_verdict(verdict)

    def values(self) -> dict[str, str]:
        return self._owner.resolve(self._values).values
