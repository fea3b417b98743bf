"""One exception root for everything the wizard reports to a person.

Every error carries a plain message (what went wrong), a ``hint`` (what the admin
should do next) and the CLI ``exit_code`` from the contract. The CLI and the GUI
turn any ``WizardError`` into their message in one place; nothing else formats errors.
"""

from __future__ import annotations

from typing import ClassVar


class WizardError(Exception):
    """Root of every error the wizard shows to a person."""

    exit_code: ClassVar[int] = 1
    #: Stable identifier used by the failure catalogue and translations.
    code: ClassVar[str] = "error"
    #: True when trying again later may succeed without anybody changing anything.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, hint: str = "", *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Extra technical text (the server's own words), safe to show: never a secret.
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


# --- bad input (exit 2) -------------------------------------------------------------


class ConfigError(WizardError, ValueError):
    """The admin typed something that cannot be right; nothing was sent anywhere."""

    exit_code = 2
    code = "bad_input"


class InvalidAccountError(ConfigError):
    code = "bad_account"


class InvalidClientIdError(ConfigError):
    code = "bad_client_id"


class InvalidRedirectUriError(ConfigError):
    code = "bad_redirect_uri"


class InvalidTargetError(ConfigError):
    code = "bad_target"


class InvalidCallbackError(ConfigError):
    """The pasted redirect address is not one amoCRM could have produced."""

    code = "bad_callback"


class InvalidSetupFileError(ConfigError):
    """A ``*.amocrm-setup`` file that is malformed, or says something it must not."""

    code = "bad_setup"


# --- amoCRM refused (exit 3) --------------------------------------------------------


class OAuthError(WizardError):
    """amoCRM refused: the admin must fix credentials or connect again."""

    exit_code = 3
    code = "oauth"

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        detail: str = "",
        status: int | None = None,
        server_hint: str = "",
    ) -> None:
        super().__init__(message, hint, detail=detail)
        self.status = status
        #: amoCRM's own ``hint`` field, verbatim, for logs and bug reports.
        self.server_hint = server_hint


class StateMismatchError(OAuthError):
    code = "state_mismatch"


class AccessDeniedError(OAuthError):
    code = "access_denied"


class CodeExpiredError(OAuthError):
    code = "code_expired"


class CodeUsedError(OAuthError):
    code = "code_used"


class CodeInvalidError(OAuthError):
    code = "code_invalid"


class ClientIdRejectedError(OAuthError):
    code = "client_id_rejected"


class ClientSecretRejectedError(OAuthError):
    code = "client_secret_rejected"


class RedirectUriMismatchError(OAuthError):
    code = "redirect_uri_mismatch"

    def __init__(self, message: str, hint: str = "", *, sent: str = "", **kw: object) -> None:
        super().__init__(message, hint, **kw)  # type: ignore[arg-type]
        #: The redirect URI the wizard sent, so the UI can show it beside the registered one.
        self.sent = sent


class AccountRejectedError(OAuthError):
    """amoCRM does not know this account for this integration (``Invalid account``)."""

    code = "account_rejected"


class TokenNotLinkedError(OAuthError):
    """``Token is not linked to client``: the stored refresh token belongs to another integration."""

    code = "token_not_linked"


class ReauthorizationRequired(OAuthError):
    """The refresh token is dead (used, revoked, expired, integration disabled).

    Nothing but a new consent brings the connection back.
    """

    code = "reauthorize"
    #: True when this is amoCRM's verdict on the stored refresh token itself (recorded in the
    #: target so that nobody sends it again), not a local refusal.
    refresh_token_rejected: bool = False


class AccessTokenRejectedError(OAuthError):
    """The API refused the access token (401) and there is no way to refresh it here."""

    code = "access_token_rejected"


# --- amoCRM unreachable (exit 4) ----------------------------------------------------


class TransportError(WizardError):
    """amoCRM could not be reached, or answered with a server error or rate limit."""

    exit_code = 4
    code = "transport"
    retryable = True


class NetworkError(TransportError):
    code = "network"

    def __init__(self, message: str, hint: str = "", *, detail: str = "", request_sent: bool = False) -> None:
        super().__init__(message, hint, detail=detail)
        #: The request may have reached amoCRM before the connection failed (see ResponseLostError).
        self.request_sent = request_sent


class TLSError(TransportError):
    code = "tls"
    retryable = False


class ServerError(TransportError):
    code = "server_error"

    def __init__(self, message: str, hint: str = "", *, status: int, detail: str = "") -> None:
        super().__init__(message, hint, detail=detail)
        self.status = status


class RateLimitedError(TransportError):
    code = "rate_limited"


class ResponseLostError(NetworkError):
    """A grant reached amoCRM but its answer never arrived: the code or refresh token is
    probably spent already, so trying again can only be refused."""

    code = "response_lost"
    retryable = False


class AccountBlockedError(TransportError):
    """403: amoCRM blocked the account (or, on Kommo, the IP) until its support lifts it.

    Never retried: every further request only prolongs the block.
    """

    code = "account_blocked"
    retryable = False


# --- the target (exit 5) ------------------------------------------------------------


class TargetError(WizardError):
    """The .env file or database could not be read or written."""

    exit_code = 5
    code = "target"


class DatabaseRefusedError(TargetError):
    """The database server refused: unreachable, bad credentials, no permission."""

    code = "database_refused"


class TargetReadError(TargetError):
    """What the target holds could not be read: no permission, or not UTF-8 text."""

    code = "target_read"


class NotARegularFileError(TargetError):
    """The .env path names a FIFO, a device, a folder or a socket: refused before any read."""

    code = "target_not_file"


class TargetLockDeniedError(TargetError):
    """The lock file beside the .env cannot be created or opened by this user."""

    code = "target_lock_denied"


class TargetLockTimeout(TargetError):
    code = "target_locked"
    retryable = True


class VerificationError(TargetError):
    """What was read back after a write is not what was written."""

    code = "target_verify"


class ServerUnreachableError(TargetError):
    """An ssh:// target's server did not answer, or the SSH session broke."""

    code = "ssh_unreachable"


class ServerLoginRefusedError(TargetError):
    """The SSH server refused every key and password offered."""

    code = "ssh_login_refused"

    def __init__(self, message: str, hint: str = "", *, server: str = "") -> None:
        super().__init__(message, hint)
        #: ``user@host[:port]``: the server a password would be for.
        self.server = server


class UnknownHostKeyError(TargetError):
    """The SSH server's host key is not in known_hosts yet: the admin must confirm it."""

    code = "ssh_host_key_unknown"

    def __init__(self, message: str, hint: str = "", *, host: str, fingerprint: str) -> None:
        super().__init__(message, hint)
        #: ``[host]:port`` as known_hosts names it, and the key's ``SHA256:…`` fingerprint.
        self.host = host
        self.fingerprint = fingerprint


class ChangedHostKeyError(TargetError):
    """The SSH server's host key differs from the one known_hosts recorded: always refused."""

    code = "ssh_host_key_changed"


# --- the backend's restart (exit 6) ------------------------------------------------


class RestartFailedError(WizardError):
    """The tokens were saved, but ``--restart-cmd`` failed or timed out."""

    exit_code = 6
    code = "restart_failed"


# --- other (exit 1) -----------------------------------------------------------------


class IncompleteConfigError(WizardError):
    """``check`` found keys missing, or a command needs a connection that is not stored."""

    exit_code = 1
    code = "incomplete"


class ScheduleError(WizardError):
    """The daily renewal could not be set up with the OS scheduler (``wizard.schedule``)."""

    exit_code = 1
    code = "schedule"
