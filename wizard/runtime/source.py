"""The token source: the one place a refresh happens, single-flight at every level.

A refresh is allowed to happen only when nobody else did it first. Three layers make
sure of that: a threading lock (threads of this process), the target's lock (other
processes, and other hosts for a database), and, under both, a re-read of the target:
if the stored refresh token is no longer the one we hold, somebody already spent it and
we adopt their pair instead of sending a dead token (the rclone oauthutil pattern).

A dead token stays dead: when amoCRM rejects the stored refresh token, its verdict is
recorded in the target (and in this process) and checked under the lock before any
grant, so nobody sends that token again; amoCRM answers a stream of rejected grants by
blocking the whole account. The grant and the save of what it returns are one critical
section that a Ctrl+C waits for (``wizard.core.interrupts``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import requests

from wizard.core import oauth, verdict
from wizard.core.account import Account
from wizard.core.connection import Connection, checked
from wizard.core.errors import IncompleteConfigError, ReauthorizationRequired, TransportError, WizardError
from wizard.core.i18n import _
from wizard.core.interrupts import deferred_interrupt, note_saved
from wizard.core.redact import mask, register_secret
from wizard.core.tokens import TokenPair
from wizard.targets.base import DEFAULT_LOCK_TIMEOUT, Held, TokenTarget
from wizard.targets.credentials import TO_REFRESH, found_nowhere

log = logging.getLogger("amocrm_wizard")

DEFAULT_MARGIN = timedelta(minutes=5)
RotationHook = Callable[[Connection], None]

#: amoCRM's verdicts seen by this process, by the refused token's fingerprint: the memory
#: that holds them where the target has nowhere to put one (contract, "Exit codes").
_rejected: dict[str, str] = {}
_rejected_lock = threading.Lock()


class TokenSource:
    def __init__(
        self,
        target: TokenTarget,
        *,
        margin: timedelta = DEFAULT_MARGIN,
        session: requests.Session | None = None,
        on_tokens_rotated: RotationHook | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.target = target
        self.margin = margin
        self.on_tokens_rotated = on_tokens_rotated
        self.lock_timeout = lock_timeout
        #: How many refresh grants this source itself sent (for tests and status lines).
        self.refresh_count = 0
        self._session = session
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    # --- reading ----------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        """The pair in memory, loaded from the target the first time it is needed."""
        with self._lock:
            return self._loaded()

    def _loaded(self) -> Connection:
        if self._connection is None:
            connection = self.target.load()
            if connection is None or connection.tokens is None:
                raise IncompleteConfigError(
                    _(
                        "No amoCRM connection is stored in {description}.",
                        description=self.target.description,
                    ),
                    _("Run amocrm-wizard to connect the account first."),
                )
            connection = checked(connection)
            _register(connection)
            self._connection = connection
        return self._connection

    def access_token(self) -> str:
        """A token good for at least ``margin`` more, refreshing first when it is not."""
        connection = self.connection
        tokens = connection.tokens
        assert tokens is not None
        if tokens.is_long_lived or not tokens.access_expired(margin=self.margin):
            return tokens.access_token
        fresh = self.refresh(stale_access_token=tokens.access_token).tokens
        assert fresh is not None
        return fresh.access_token

    # --- refreshing -------------------------------------------------------------------

    def refresh(self, stale_access_token: str | None = None) -> Connection:
        """Make sure the stored pair is newer than what we held, refreshing at most once.

        ``stale_access_token`` is the token a request was refused with: when the pair we
        hold (or the target holds) already differs from it, someone refreshed meanwhile
        and nothing is sent. Without it the caller asks for a refresh now, which still
        yields to a refresh another process finished since this source loaded its pair.
        """
        with self._lock:
            held_pair = self._loaded()
            assert held_pair.tokens is not None
            if stale_access_token and held_pair.tokens.access_token != stale_access_token:
                return held_pair
            with self.target.lock(timeout=self.lock_timeout) as held:
                rotated, ours = self._renew_under_lock(held, held_pair)
            if not ours:
                return rotated
        log.info("Tokens renewed and saved to %s.", self.target.description)
        if self.on_tokens_rotated is not None:
            self.on_tokens_rotated(rotated)
        return rotated

    def _renew_under_lock(self, held: Held, held_pair: Connection) -> tuple[Connection, bool]:
        """The pair another process stored meanwhile (False), or a new one from amoCRM, saved (True)."""
        stored = checked(held.stored) if held.stored is not None and held.stored.tokens else None
        if _newer(stored, held_pair):
            assert stored is not None
            log.info("Tokens were already renewed by another process; using them.")
            _register(stored)
            self._connection = stored
            return stored, False
        base = stored or held_pair
        _refuse_judged(base)
        # A value a refresh needs and nobody supplied (the secret of a target without a
        # column for it): exit 1 naming it, rather than a grant amoCRM is sure to refuse.
        found_nowhere(self.target.description, base.to_values(), TO_REFRESH)
        # Everything that can fail without amoCRM fails now, before the token is spent.
        self.target.plan(base)
        with deferred_interrupt():
            try:
                rotated = self._spend(base)
            except ReauthorizationRequired as error:
                if error.refresh_token_rejected:
                    self._connection = _record_verdict(held, base)
                raise
            # Crash safety: the old refresh token died the moment amoCRM answered, so the new
            # pair goes to disk (fsync / commit) before anything else happens.
            held.save(rotated)
            note_saved(self.target.description)
        self._connection = rotated
        return rotated, True

    def _spend(self, connection: Connection) -> Connection:
        tokens = connection.tokens
        assert tokens is not None
        if tokens.is_long_lived:
            raise ReauthorizationRequired(
                _("This is a long-lived token; it cannot be renewed."),
                _("Create a new long-lived token in amoCRM (Keys and scopes), or connect with OAuth."),
            )
        log.info("Renewing tokens with refresh token %s.", mask(tokens.refresh_token))
        try:
            pair = self._grant(connection)
        except ReauthorizationRequired as error:
            if error.status not in (401, 404):
                raise
            moved = self._moved(connection, error)
            log.info("The account moved to %s; renewing there.", moved.base_url)
            connection = replace(connection, base_url=moved.base_url)
            try:
                pair = self._grant(connection)
            except ReauthorizationRequired as again:
                again.refresh_token_rejected = again.status in (401, 404)
                raise
        # From here until held.save() returns, the only live refresh token is in memory.
        log.info("amoCRM issued a new pair; saving it before anything else.")
        rotated = connection.with_tokens(pair)
        _register(rotated)
        return rotated

    def _grant(self, connection: Connection) -> TokenPair:
        tokens = connection.tokens
        assert tokens is not None
        self.refresh_count += 1
        claims = tokens.claims
        return oauth.refresh_tokens(
            connection.account,
            connection.client_id,
            connection.client_secret,
            connection.redirect_uri,
            tokens.refresh_token,
            session=self._session,
            account_id=claims.account_id if claims else None,
        )

    def _moved(self, connection: Connection, refused: ReauthorizationRequired) -> Account:
        """Where the account lives now; re-raises ``refused`` when it has not moved.

        The verdict is amoCRM's only once the subdomain check has answered: when it could
        not be asked (a 403 block, a rate limit, a server or network failure), nobody knows
        whether the token is dead, so none is recorded and that failure is what is raised.
        """
        tokens = connection.tokens
        assert tokens is not None
        claims = tokens.claims
        try:
            moved = oauth.moved_account(
                connection.account,
                tokens.refresh_token,
                claims.api_domain if claims else None,
                session=self._session,
                account_id=claims.account_id if claims else None,
            )
        except TransportError:
            log.warning("Could not ask amoCRM whether the account moved; no verdict on the token.")
            raise
        if moved is None:
            refused.refresh_token_rejected = True
            raise refused
        return moved


def _refuse_judged(connection: Connection) -> None:
    """Raise without sending anything when amoCRM already refused this refresh token."""
    tokens = connection.tokens
    assert tokens is not None
    token = tokens.refresh_token
    if not token:
        return
    recorded = connection.refresh_rejected if verdict.applies(connection.refresh_rejected, token) else ""
    with _rejected_lock:
        remembered = _rejected.get(verdict.fingerprint(token), "")
    judged = recorded or remembered
    if judged:
        raise ReauthorizationRequired(
            _(
                "amoCRM refused this refresh token at {when} (UTC), so it is not sent again.",
                when=judged.split()[0],
            ),
            oauth.CONNECT_AGAIN,
        )


def _record_verdict(held: Held, connection: Connection) -> Connection:
    """Keep amoCRM's verdict in the target (and this process), so nobody sends the token again.

    A verdict that cannot be written is kept in memory only: the refusal itself is what the
    caller must hear, not a failure to note it down.
    """
    tokens = connection.tokens
    assert tokens is not None
    text = verdict.record(tokens.refresh_token)
    with _rejected_lock:
        _rejected[verdict.fingerprint(tokens.refresh_token)] = text
    judged = connection.with_verdict(text)
    try:
        held.save_verdict(text)
    except WizardError:
        log.warning("amoCRM's verdict on the refresh token could not be saved.", exc_info=True)
    return judged


def _newer(stored: Connection | None, held: Connection) -> bool:
    """Did somebody rotate the pair since we loaded it?"""
    if stored is None or stored.tokens is None or held.tokens is None:
        return False
    return stored.tokens.refresh_token != held.tokens.refresh_token or (
        stored.tokens.access_token != held.tokens.access_token
    )


def _register(connection: Connection) -> None:
    register_secret(connection.client_secret)
    if connection.tokens:
        register_secret(connection.tokens.access_token)
        register_secret(connection.tokens.refresh_token)
