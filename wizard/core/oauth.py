"""The amoCRM OAuth 2.0 dance, without Qt: code exchange, refresh, account (and, from
:mod:`wizard.core.consent`, the consent URL and the callback).

Reading order follows the flow. amoCRM reports errors as problem-JSON (``hint``,
``title``, ``detail``, ``status``) rather than RFC 6749 ``error`` codes, so the mapping
at the bottom keys on amoCRM's hints (see ../shared/amocrm-protocol.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by wizard.core.http only when a request is made
    import requests

from wizard.core import errors as e
from wizard.core.account import Account
from wizard.core.http import DEFAULT_TIMEOUT, new_session, send
from wizard.core.i18n import Text, _
from wizard.core.tokens import TokenPair, utcnow

_CONNECT_AGAIN = _("Run amocrm-wizard again and choose “Connect again” to give the integration access again.")


# --- token endpoint -------------------------------------------------------------------


def exchange_code(
    account: Account,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> TokenPair:
    """Trade a 20-minute authorization code for the first token pair."""
    body = {"grant_type": "authorization_code", "code": code.strip()}
    return _grant(account, client_id, client_secret, redirect_uri, body, session, timeout)


def refresh_tokens(
    account: Account,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    refresh_token: str,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> TokenPair:
    """Spend ``refresh_token`` for a new pair. The old refresh token is dead once this returns.

    Never retried here: a POST that timed out may already have spent the token, and
    sending it again would only get "Token has been revoked".
    """
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _grant(account, client_id, client_secret, redirect_uri, body, session, timeout)


def _grant(
    account: Account,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    grant: dict[str, str],
    session: requests.Session | None,
    timeout: float | tuple[float, float],
) -> TokenPair:
    payload = {
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        **grant,
    }
    own = session is None
    session = session or new_session()
    try:
        response = send(
            session,
            "POST",
            f"{account.base_url}/oauth2/access_token",
            json=payload,
            timeout=timeout,
        )
        received_at = utcnow()
        if response.status_code != 200:
            raise grant_error(
                response,
                redirect_uri=redirect_uri,
                refreshing=grant["grant_type"] == "refresh_token",
            )
        try:
            return TokenPair.from_grant(response.json(), received_at)
        except (ValueError, KeyError, TypeError) as exc:
            raise e.ServerError(
                _("amoCRM answered with something that is not a token."),
                _("Try again in a few minutes."),
                status=response.status_code,
            ) from exc
    finally:
        if own:
            session.close()


# --- API ------------------------------------------------------------------------------


def fetch_account(
    account: Account,
    access_token: str,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """``GET /api/v4/account`` with a bare bearer token (no refresh: see the runtime client)."""
    own = session is None
    session = session or new_session()
    try:
        response = send(
            session,
            "GET",
            f"{account.base_url}/api/v4/account",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )
        if response.status_code != 200:
            raise api_error(response)
        data: dict[str, Any] = response.json()
        return data
    finally:
        if own:
            session.close()


# --- error mapping --------------------------------------------------------------------


def problem(response: requests.Response) -> dict[str, Any]:
    """The problem-JSON body, or {} when amoCRM sent HTML or nothing (429, some 403s)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# amoCRM hint → (error type, message, what to do). One table so the catalogue stays in one place.
_HINTS: dict[str, tuple[type[e.OAuthError], str, str]] = {
    "Authorization code has expired": (
        e.CodeExpiredError,
        _("The authorization code has expired (it lives 20 minutes)."),
        _("Open Keys and scopes again: the code changes every time. Or go through the consent page again."),
    ),
    "Authorization code has been revoked": (
        e.CodeUsedError,
        _("This authorization code was already used."),
        _(
            "A code works once. Get a new one: open Keys and scopes again, "
            "or go through the consent page again."
        ),
    ),
    "Cannot decrypt the authorization code": (
        e.CodeInvalidError,
        _("amoCRM does not recognise this authorization code."),
        _("Copy the code again in full, without spaces, from Keys and scopes or from the redirect address."),
    ),
    "Check the `client_id` parameter": (
        e.ClientIdRejectedError,
        _("amoCRM does not know this Client ID (integration ID)."),
        _("Copy the integration ID again from Settings → Integrations → your integration → Keys and scopes."),
    ),
    "Check the `client_secret` parameter": (
        e.ClientSecretRejectedError,
        _("amoCRM did not accept the Client secret."),
        _("Copy the secret key again from Settings → Integrations → your integration → Keys and scopes."),
    ),
    "Redirect URI is not associated with client": (
        e.RedirectUriMismatchError,
        _("The Redirect URI does not match the one registered for the integration."),
        _(
            "It must be exactly the same, character for character (mind the trailing slash and "
            "http vs https). Copy it from the integration's settings in amoCRM."
        ),
    ),
    "Invalid account": (
        e.AccountRejectedError,
        _("amoCRM says this integration is not installed in this account."),
        _("Check the account address, and that the integration is installed in that account."),
    ),
    "Token has been revoked": (
        e.ReauthorizationRequired,
        _("The refresh token no longer works (already used, revoked, or the integration was switched off)."),
        _CONNECT_AGAIN,
    ),
}


def grant_error(
    response: requests.Response, *, redirect_uri: str = "", refreshing: bool = False
) -> e.WizardError:
    """Turn a failed token-endpoint answer into a typed error with a plain message."""
    status = response.status_code
    body = problem(response)
    hint = str(body.get("hint") or "")
    detail = " ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    if status == 429:
        return _rate_limited()
    if status >= 500:
        return _server_error(status, detail)
    for known, (kind, message, action) in _HINTS.items():
        if known.lower() in hint.lower():
            if kind is e.RedirectUriMismatchError:
                return e.RedirectUriMismatchError(
                    message,
                    action,
                    sent=redirect_uri,
                    detail=detail,
                    status=status,
                    server_hint=hint,
                )
            return kind(message, action, detail=detail, status=status, server_hint=hint)
    if status == 401 and refreshing:
        # A 401 on refresh with an unknown hint still means this refresh token is unusable.
        return e.ReauthorizationRequired(
            _("amoCRM refused to renew the tokens."),
            _CONNECT_AGAIN,
            detail=detail,
            status=status,
            server_hint=hint,
        )
    if status == 401:
        # 401 "Некорректный клиент" / "Авторизация клиента не прошла", no hint: client auth failed.
        return e.ClientSecretRejectedError(
            _("amoCRM did not accept the Client ID and secret."),
            _(
                "Copy the integration ID and secret key again from Settings → Integrations → your "
                "integration → Keys and scopes."
            ),
            detail=detail,
            status=status,
        )
    if status == 403:
        return _blocked(detail, status)
    return e.OAuthError(
        _("amoCRM refused the request."),
        _("Check the account address, Client ID, secret and Redirect URI, then try again."),
        detail=f"{detail} {hint}".strip(),
        status=status,
        server_hint=hint,
    )


def api_error(response: requests.Response) -> e.WizardError:
    """Turn a failed API answer into a typed error."""
    status = response.status_code
    body = problem(response)
    detail = " ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    if status == 401:
        return e.AccessTokenRejectedError(
            _("amoCRM did not accept the access token."),
            _("Renew the tokens (amocrm-wizard refresh), or connect again."),
            detail=detail,
            status=status,
        )
    if status == 403:
        return _blocked(detail, status)
    if status == 429:
        return _rate_limited()
    if status >= 500:
        return _server_error(status, detail)
    return e.OAuthError(_("amoCRM refused the request."), _("Try again."), detail=detail, status=status)


def _blocked(detail: str, status: int) -> e.AccountBlockedError:
    return e.AccountBlockedError(
        _("amoCRM denied access to this account (403)."),
        _(
            "The account may be blocked or the integration's rights changed; an account admin "
            "should check Settings → Integrations in amoCRM."
        ),
        detail=detail,
        status=status,
    )


def _rate_limited() -> e.RateLimitedError:
    return e.RateLimitedError(
        _("amoCRM allows at most 7 requests a second."), _("Wait a few seconds and try again.")
    )


def _server_error(status: int, detail: str) -> e.ServerError:
    return e.ServerError(
        _("amoCRM had a problem on its side (error {status}).", status=status),
        _("Try again in a few minutes."),
        status=status,
        detail=detail,
    )


def expires_in_words(moment: datetime, now: datetime | None = None) -> Text:
    """``in 23 h 59 min`` / ``2 h ago``: short, for status lines."""
    seconds = int((moment - (now or utcnow())).total_seconds())
    past = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        span = _("{days} d {hours} h", days=days, hours=hours)
    elif hours:
        span = _("{hours} h {minutes} min", hours=hours, minutes=minutes)
    else:
        span = _("{minutes} min", minutes=minutes)
    return _("{span} ago", span=span) if past else _("in {span}", span=span)
