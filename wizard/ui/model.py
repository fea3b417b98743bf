"""What the wizard's pages collect and decide, in plain Python (no Qt).

The pages read and write one :class:`Session`; every choice that is not layout (where an
error sends the admin, what a stored connection says about itself) is a function here,
so it can be tested without a display.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from wizard.core import errors as e

if TYPE_CHECKING:  # kept out of the first window's imports (PyJWT, requests)
    from wizard.core.account import Account
    from wizard.core.connection import Connection
    from wizard.restart import RestartOutcome
    from wizard.targets import TokenTarget
    from wizard.targets.base import SaveReport


class Mode(enum.Enum):
    """What Next on the Welcome page leads to."""

    CONNECT = "connect"  # consent, exchange, save
    TEST = "test"  # call the API with the stored pair (refreshing once on 401)
    RENEW = "renew"  # spend the stored refresh token now


class Step(enum.Enum):
    """The pages, in order; the values are the QWizard page ids."""

    WELCOME = 0
    DETAILS = 1
    CONSENT = 2
    EXCHANGE = 3
    SAVE = 4
    DONE = 5


class TargetKind(enum.Enum):
    ENV = "env"
    DB = "db"


class TargetChoice:
    """A .env path or a database URL, as chosen on the Welcome or Save page."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: TargetKind, value: str) -> None:
        self.kind = kind
        self.value = value  # a path or a database URL

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TargetChoice) and (self.kind, self.value) == (other.kind, other.value)

    def __hash__(self) -> int:
        return hash((self.kind, self.value))

    def __repr__(self) -> str:
        return f"TargetChoice({self.kind}, {self.value!r})"

    def open(self, known_values: Mapping[str, str] | None = None) -> TokenTarget:
        """The target itself. ``known_values``: contract keys the admin entered, for a
        database table that keeps only the tokens (see ``open_target``). A build without
        the database driver raises ImportError (the UI says so in words)."""
        from wizard.targets import open_target

        if self.kind is TargetKind.DB:
            return open_target(db=self.value, known_values=known_values)
        return open_target(env=self.value)

    def args(self) -> list[str]:
        """The command-line flags naming this target (for the scheduled renewal)."""
        return ["--db", self.value] if self.kind is TargetKind.DB else ["--env", self.value]


class Prefill:
    """What the command line (or --demo) hands the wizard."""

    def __init__(
        self,
        account: str = "",
        client_id: str = "",
        client_secret: str = "",
        redirect_uri: str = "",
        target: TargetChoice | None = None,
        demo_base_url: str = "",
        demo_folder: str = "",
        restart_cmd: str = "",
    ) -> None:
        self.account = account
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.target = target
        #: Shown on the Welcome page in demo mode: where the sandbox runs and where tokens go.
        self.demo_base_url = demo_base_url
        self.demo_folder = demo_folder
        #: The backend's restart command from a setup file (--setup): the Save page's default.
        self.restart_cmd = restart_cmd

    @property
    def is_demo(self) -> bool:
        return bool(self.demo_base_url)


class Result:
    """What the Exchange page produced."""

    def __init__(
        self,
        connection: Connection,
        account_info: dict[str, Any],
        renewed: bool = False,
        restart: RestartOutcome | None = None,
    ) -> None:
        self.connection = connection
        self.account_info = account_info
        self.renewed = renewed  # a refresh happened (Renew now, or Test it met a 401)
        self.restart = restart  # the backend's restart after a renewal, when one is remembered


class Session:
    """Everything collected so far. Nothing here is written anywhere until Save's Commit."""

    def __init__(self, prefill: Prefill, target: TargetChoice) -> None:
        self.prefill = prefill
        self.target = target
        self.mode = Mode.CONNECT
        self.stored: Connection | None = None
        # Integration details, validated.
        self.account: Account | None = None
        self.client_id = ""
        self.client_secret = ""
        self.redirect_uri = ""
        #: The secret amoCRM refused last (the details page says so while it is still there).
        self.rejected_secret = ""
        #: A private integration's long-lived token, used instead of consent and exchange.
        self.use_long_lived = False
        self.long_lived_token = ""
        # Consent.
        self.code = ""
        # Exchange.
        self.result: Result | None = None
        # Save.
        self.saved: SaveReport | None = None
        #: The backend's restart command (a setup file's, or typed on the Save page).
        self.restart_cmd = prefill.restart_cmd
        self.notes: list[str] = []

    def known_values(self) -> dict[str, str]:
        """What the admin entered (or the flags said), as contract keys: the flags of
        ``wizard.targets.credentials.resolve``, which come before what the target holds."""
        from wizard.core.account import parse_account
        from wizard.core.errors import WizardError

        known: dict[str, str] = {}
        base_url = self.account.base_url if self.account else ""
        if not base_url and self.prefill.account:
            try:
                base_url = parse_account(self.prefill.account).base_url
            except WizardError:
                base_url = ""
        for key, value in (
            ("AMOCRM_BASE_URL", base_url),
            ("AMOCRM_CLIENT_ID", self.client_id or self.prefill.client_id),
            ("AMOCRM_CLIENT_SECRET", self.client_secret or self.prefill.client_secret),
            ("AMOCRM_REDIRECT_URI", self.redirect_uri or self.prefill.redirect_uri),
        ):
            if value:
                known[key] = value
        return known

    def starting_values(self) -> dict[str, str]:
        """The Details page's first values, in the one order (``credentials.resolve``): what
        the admin typed or the command line said, then the stored connection when
        connecting again, then the environment. The account stays as typed: the page
        shows the admin's own text."""
        from wizard.targets.credentials import resolve

        stored = self.stored.to_values() if self.stored and self.mode is Mode.CONNECT else {}
        flags = self.known_values()
        if not self.account and self.prefill.account:
            flags["AMOCRM_BASE_URL"] = self.prefill.account
        return resolve(flags, stored).values

    def details_connection(self) -> Connection:
        from wizard.core.connection import Connection

        assert self.account is not None
        return Connection(self.account.base_url, self.client_id, self.client_secret, self.redirect_uri)


# --- what a stored connection says about itself ---------------------------------------


class StoredSummary(NamedTuple):
    base_url: str
    client_id: str
    has_tokens: bool
    access_expires_at: datetime | None
    access_expired: bool
    long_lived: bool
    refresh_issued_at: datetime | None
    refresh_age_days: float | None
    refresh_dies_at: datetime | None
    refresh_days_left: float | None
    #: amoCRM's recorded verdict applies to the stored refresh token.
    refresh_rejected: bool = False

    @property
    def refresh_dead(self) -> bool:
        return self.refresh_rejected or (self.refresh_days_left is not None and self.refresh_days_left <= 0)

    @property
    def can_renew(self) -> bool:
        return self.has_tokens and not self.long_lived and not self.refresh_dead

    @property
    def can_test(self) -> bool:
        return self.has_tokens and not (self.access_expired and not self.can_renew)


def summarize(connection: Connection, now: datetime | None = None) -> StoredSummary:
    tokens = connection.tokens
    if tokens is None:
        return StoredSummary(
            connection.base_url, connection.client_id, False, None, False, False, None, None, None, None
        )
    from wizard.core.health import health

    state = health(tokens, connection.refresh_rejected, now or datetime.now(timezone.utc))
    return StoredSummary(
        base_url=connection.base_url,
        client_id=connection.client_id,
        has_tokens=True,
        access_expires_at=state.access_expires_at,
        access_expired=state.access_expired,
        long_lived=state.long_lived,
        refresh_issued_at=state.refresh_issued_at,
        refresh_age_days=state.refresh_age_days,
        refresh_dies_at=state.refresh_dies_at,
        refresh_days_left=state.refresh_days_left,
        refresh_rejected=state.rejected,
    )


def default_mode(summary: StoredSummary | None) -> Mode:
    """Test a healthy connection; a dead refresh token goes straight to consent."""
    if summary is None or not summary.has_tokens or not summary.can_test:
        return Mode.CONNECT
    return Mode.TEST


# --- where an error sends the admin ---------------------------------------------------


class Fix(enum.Enum):
    DETAILS = "details"  # a credential is wrong: back to the four fields
    CONSENT = "consent"  # the code is spent, expired or refused: get a new one
    WELCOME = "welcome"  # the stored connection cannot be used: choose again
    RECONNECT = "reconnect"  # the stored refresh token is dead: consent again, all prefilled
    RETRY = "retry"  # nobody needs to change anything: try again


def fix_for(error: e.WizardError, mode: Mode, *, long_lived: bool = False) -> Fix:
    if mode is not Mode.CONNECT:
        if isinstance(error, e.TransportError) and error.retryable:
            return Fix.RETRY
        if isinstance(error, e.ReauthorizationRequired):
            return Fix.RECONNECT
        return Fix.WELCOME
    if isinstance(error, e.TransportError):
        # An unreachable account is most often a mistyped address; a 5xx is worth a retry.
        return Fix.RETRY if isinstance(error, e.ServerError | e.RateLimitedError) else Fix.DETAILS
    if long_lived:
        return Fix.DETAILS  # the token or the address is wrong: both are on the details page
    if isinstance(
        error,
        e.ClientIdRejectedError
        | e.ClientSecretRejectedError
        | e.RedirectUriMismatchError
        | e.AccountRejectedError
        | e.ConfigError,
    ):
        return Fix.DETAILS
    return Fix.CONSENT


def looks_like_jwt(text: str) -> bool:
    """Three dot-separated base64url parts, nothing else: the shape of a long-lived token."""
    parts = text.strip().split(".")
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    return len(parts) == 3 and all(parts[:2]) and all(set(p) <= allowed for p in parts)
