"""A stored connection: the integration's credentials plus the current token pair.

The .env keys of the contract are the one vocabulary every target speaks; a database
target maps them onto its columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from wizard.core.account import Account, parse_account
from wizard.core.errors import ConfigError
from wizard.core.i18n import _
from wizard.core.redact import mask
from wizard.core.tokens import TokenPair, format_utc, parse_utc

BASE_URL = "AMOCRM_BASE_URL"
SUBDOMAIN = "AMOCRM_SUBDOMAIN"
CLIENT_ID = "AMOCRM_CLIENT_ID"
CLIENT_SECRET = "AMOCRM_CLIENT_SECRET"
REDIRECT_URI = "AMOCRM_REDIRECT_URI"
ACCESS_TOKEN = "AMOCRM_ACCESS_TOKEN"
REFRESH_TOKEN = "AMOCRM_REFRESH_TOKEN"
EXPIRES_AT = "AMOCRM_TOKEN_EXPIRES_AT"
#: amoCRM's recorded verdict on the stored refresh token (``wizard.core.verdict``). Not an
#: owned key: a target holds it only while a verdict stands, and drops it on the next save
#: that carries none.
REFRESH_REJECTED = "AMOCRM_REFRESH_REJECTED"

#: Every key the wizard owns, in the order it appends them to a new file.
OWNED_KEYS: tuple[str, ...] = (
    BASE_URL,
    SUBDOMAIN,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    EXPIRES_AT,
)
#: Keys whose values are never shown in full.
SECRET_KEYS = frozenset({CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN})
#: Keys ``check`` may accept empty: the subdomain is empty for a loopback sandbox.
MAY_BE_EMPTY = frozenset({SUBDOMAIN})
#: Everything a target may hold: the owned keys, then the verdict.
STORED_KEYS: tuple[str, ...] = (*OWNED_KEYS, REFRESH_REJECTED)


@dataclass(frozen=True)
class Connection:
    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    tokens: TokenPair | None = None
    #: amoCRM's verdict on ``tokens.refresh_token`` (``wizard.core.verdict``), or "".
    refresh_rejected: str = ""

    @property
    def account(self) -> Account:
        return parse_account(self.base_url)

    def with_tokens(self, tokens: TokenPair) -> Connection:
        """A new pair: any verdict on the old refresh token no longer applies."""
        return replace(self, tokens=tokens, refresh_rejected="")

    def with_verdict(self, verdict: str) -> Connection:
        return replace(self, refresh_rejected=verdict)

    def __repr__(self) -> str:
        # Masked as everywhere else: a repr lands in tracebacks, debuggers and the logs of
        # whoever receives this object (``on_tokens_rotated``).
        return (
            f"Connection(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"client_secret={mask(self.client_secret)!r}, redirect_uri={self.redirect_uri!r}, "
            f"tokens={self.tokens!r}, refresh_rejected={self.refresh_rejected!r})"
        )

    def to_values(self) -> dict[str, str]:
        """The contract's .env keys for this connection (tokens empty when there are none).

        ``REFRESH_REJECTED`` is included only while a verdict stands; a target drops what it
        held under that key when it is absent here.
        """
        tokens = self.tokens
        values = {
            BASE_URL: self.base_url,
            SUBDOMAIN: self.account.subdomain,
            CLIENT_ID: self.client_id,
            CLIENT_SECRET: self.client_secret,
            REDIRECT_URI: self.redirect_uri,
            ACCESS_TOKEN: tokens.access_token if tokens else "",
            REFRESH_TOKEN: tokens.refresh_token if tokens else "",
            EXPIRES_AT: format_utc(tokens.expires_at) if tokens else "",
        }
        if self.refresh_rejected:
            values[REFRESH_REJECTED] = self.refresh_rejected
        return values

    @classmethod
    def from_values(cls, values: Mapping[str, str | None]) -> Connection | None:
        """Rebuild from stored keys; None when there is no account address at all."""

        def get(key: str) -> str:
            return (values.get(key) or "").strip()

        base_url = get(BASE_URL)
        if not base_url and get(SUBDOMAIN):
            base_url = f"https://{get(SUBDOMAIN)}.amocrm.ru"
        if not base_url:
            return None
        tokens = None
        if get(ACCESS_TOKEN):
            tokens = TokenPair(
                get(ACCESS_TOKEN), get(REFRESH_TOKEN), _expiry(get(EXPIRES_AT), get(ACCESS_TOKEN))
            )
        return cls(
            base_url, get(CLIENT_ID), get(CLIENT_SECRET), get(REDIRECT_URI), tokens, get(REFRESH_REJECTED)
        )


def checked(connection: Connection) -> Connection:
    """The stored connection, held to the rules a typed value meets, with its address normalised.

    A target is only a file or a row: whoever could edit it could otherwise make the next
    call send the bearer token, or the refresh token, to any address. Raises the same
    ``ConfigError`` (exit 2) as the typed value would, naming the stored key.
    """
    from wizard.core import validate

    checks: tuple[tuple[str, str, Callable[[str], str]], ...] = (
        (BASE_URL, connection.base_url, lambda text: parse_account(text).base_url),
        (CLIENT_ID, connection.client_id, validate.client_id),
        (REDIRECT_URI, connection.redirect_uri, validate.redirect_uri),
    )
    normal: dict[str, str] = {}
    for key, value, check in checks:
        if not value:  # missing, not malformed: whoever needs it names it (exit 1)
            normal[key] = value
            continue
        try:
            normal[key] = check(value)
        except ConfigError as error:
            raise type(error)(
                _(
                    "The stored {key} ({value}) is refused: {reason}",
                    key=key,
                    value=value,
                    reason=error.message,
                ),
                _(
                    "Correct {key} where the tokens are kept, or connect again with the right value.",
                    key=key,
                ),
            ) from error
    return replace(
        connection, base_url=normal[BASE_URL], client_id=normal[CLIENT_ID], redirect_uri=normal[REDIRECT_URI]
    )


def _expiry(stored: str, access_token: str) -> datetime:
    """The stored expiry; failing that the JWT's ``exp``; failing that, already expired."""
    if stored:
        try:
            return parse_utc(stored)
        except ValueError:
            pass
    try:
        return TokenPair.long_lived(access_token).expires_at
    except ValueError:
        return datetime.fromtimestamp(0, timezone.utc)
