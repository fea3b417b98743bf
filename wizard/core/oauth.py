"""The amoCRM OAuth 2.0 dance, without Qt: code exchange, refresh, account (and, from
:mod:`wizard.core.consent`, the consent URL and the callback).

Reading order follows the flow. amoCRM reports errors as problem-JSON (``hint``,
``title``, ``detail``, ``status``) rather than RFC 6749 ``error`` codes, so the mapping
at the bottom keys on amoCRM's hints (see ../shared/amocrm-protocol.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # imported by wizard.core.http only when a request is made
    import requests

from wizard.core import errors as e
from wizard.core.account import Account, parse_account
from wizard.core.http import DEFAULT_TIMEOUT, new_session, send
from wizard.core.i18n import Text, _
from wizard.core.tokens import TokenPair, decode_claims, utcnow

CONNECT_AGAIN = _("Run amocrm-wizard again and choose “Connect again” to give the integration access again.")
_CONNECT_AGAIN = CONNECT_AGAIN
#: Where amoCRM says which subdomain an account has now (amoCRM's own PHP library asks it).
SUBDOMAIN_PATH = "/oauth2/account/current/subdomain"
ACCOUNT_PATH = "/api/v4/account"


_API_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:amocrm\.ru|amocrm\.com|kommo\.com)")


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
    account_id: int | None = None,
) -> TokenPair:
    """Spend ``refresh_token`` for a new pair. The old refresh token is dead once this returns.

    Only a 429 is resent (amoCRM did nothing with it): a POST that timed out or broke off
    may already have spent the token, and sending it again would only get "Token has been
    revoked" (``ResponseLostError`` says so instead). ``account_id`` (from the access
    token's claims) goes into the message of a 403, for amoCRM's support.
    """
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _grant(account, client_id, client_secret, redirect_uri, body, session, timeout, account_id)


def _grant(
    account: Account,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    grant: dict[str, str],
    session: requests.Session | None,
    timeout: float | tuple[float, float],
    account_id: int | None = None,
) -> TokenPair:
    payload = {
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        **grant,
    }
    own = session is None
    session = session or new_session()
    refreshing = grant["grant_type"] == "refresh_token"
    try:
        try:
            response = send(
                session,
                "POST",
                f"{account.base_url}/oauth2/access_token",
                json=payload,
                timeout=timeout,
            )
        except e.NetworkError as lost:
            if lost.request_sent:
                raise _response_lost(lost, refreshing=refreshing) from lost
            raise
        received_at = utcnow()
        if response.status_code != 200:
            raise grant_error(
                response, redirect_uri=redirect_uri, refreshing=refreshing, account_id=account_id
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
            account.base_url + ACCOUNT_PATH,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )
        return read_account(response)
    finally:
        if own:
            session.close()


def read_account(response: requests.Response) -> dict[str, Any]:
    """The account from an answer to ``GET /api/v4/account``, or the typed error it means.

    The one reading of that answer, whoever sent the request: ``fetch_account`` with a
    bare token, or the runtime client (``AmoCRMClient.account``) with its refreshing auth.
    """
    if response.status_code != 200:
        raise api_error(response)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _server_error(response.status_code, _("The answer is not an account."))
    return data


# --- the account's current address ------------------------------------------------------


def moved_account(
    account: Account,
    refresh_token: str,
    api_domain: str | None,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    account_id: int | None = None,
) -> Account | None:
    """Where the account lives now, when amoCRM says its address changed; else None.

    Asked after the token endpoint answered 401 or 404 to a refresh, as amoCRM's own PHP
    library does (``GET https://<api_domain>/oauth2/account/current/subdomain`` with the
    refresh token in ``X-Refresh-Token``). The answer is trusted only when it names an
    address that passes the account rules on the same kind of service: a real account never
    moves to loopback, nor the sandbox to the internet. None (the token is dead) only when
    the lookup answers with the same account or says it does not know the token (401, 404);
    a 403 is the block (``AccountBlockedError``, with ``account_id`` for support), and any
    other answer or a transport failure raises a ``TransportError``: the caller then cannot
    tell a moved account from a dead token.
    """
    own = session is None
    session = session or new_session()
    scheme = "http" if account.is_loopback else "https"
    try:
        response = send(
            session,
            "GET",
            f"{scheme}://{_api_host(account, api_domain)}{SUBDOMAIN_PATH}",
            headers={"X-Refresh-Token": refresh_token},
            timeout=timeout,
        )
    finally:
        if own:
            session.close()
    status = response.status_code
    if status in (401, 404):
        return None  # the lookup itself does not know this refresh token: it is dead
    if status == 403:
        raise blocked(response, account_id=account_id, subdomain=account.subdomain)
    if status != 200:
        # amoCRM could not say (a rate limit, a server error, an answer nobody expects): no
        # verdict can be drawn from it, so it is a failure to reach amoCRM, not a refusal.
        raise api_error(response) if status == 429 or status >= 500 else _server_error(status, "")
    body = problem(response)
    domain, subdomain = str(body.get("domain") or ""), str(body.get("subdomain") or "")
    if not domain and subdomain and account.domain:
        domain = f"{subdomain}.{account.domain}"
    try:
        now = parse_account(f"{scheme}://{domain}") if domain else None
    except e.ConfigError:
        return None
    if now is None or now.is_loopback != account.is_loopback or now.base_url == account.base_url:
        return None
    return now


def _api_host(account: Account, api_domain: str | None) -> str:
    """The token's ``api_domain`` when it is an amoCRM/Kommo API host (or, for the sandbox, a
    loopback one); the account's own host otherwise. The claim is read unverified, so it is
    never allowed to send the refresh token anywhere else."""
    host = (api_domain or "").strip().lower()
    if account.is_loopback:
        name = host.partition(":")[0]
        return host if name in ("127.0.0.1", "localhost") else account.host
    if _API_HOST.fullmatch(host):
        return host
    return account.host


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
    "Token is not linked to client": (
        e.TokenNotLinkedError,
        _("The stored refresh token belongs to another integration than this Client ID."),
        _(
            "Connect again with the Client ID, secret and Redirect URI of the integration the "
            "backend really uses (Settings → Integrations → your integration → Keys and scopes)."
        ),
    ),
}


def grant_error(
    response: requests.Response,
    *,
    redirect_uri: str = "",
    refreshing: bool = False,
    account_id: int | None = None,
) -> e.WizardError:
    """Turn a failed token-endpoint answer into a typed error with a plain message."""
    status = response.status_code
    body = problem(response)
    hint = str(body.get("hint") or "")
    detail = " ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    if status == 429:
        return _rate_limited()
    if status == 403:
        return blocked(response, detail, account_id)
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
    if status == 401 and not hint and _INVALID_CLIENT & {body.get("title"), body.get("detail")}:
        return _client_rejected(detail, status)
    if status in (401, 404) and refreshing:
        # A 401 or 404 on refresh with an unknown hint still means this refresh token is
        # unusable here (the caller asks first whether the account moved: ``moved_account``).
        return e.ReauthorizationRequired(
            _("amoCRM refused to renew the tokens."),
            _CONNECT_AGAIN,
            detail=detail,
            status=status,
            server_hint=hint,
        )
    if status == 401:
        return _client_rejected(detail, status)
    return e.OAuthError(
        _("amoCRM refused the request."),
        _("Check the account address, Client ID, secret and Redirect URI, then try again."),
        detail=f"{detail} {hint}".strip(),
        status=status,
        server_hint=hint,
    )


#: How amoCRM words a failed client authentication (401, no hint): the secret is wrong.
_INVALID_CLIENT = frozenset({"Некорректный клиент", "Авторизация клиента не прошла"})


def _client_rejected(detail: str, status: int) -> e.ClientSecretRejectedError:
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
        return blocked(response, detail)
    if status == 429:
        return _rate_limited()
    if status >= 500:
        return _server_error(status, detail)
    return e.OAuthError(_("amoCRM refused the request."), _("Try again."), detail=detail, status=status)


def blocked(
    response: requests.Response,
    detail: str = "",
    account_id: int | None = None,
    subdomain: str = "",
) -> e.AccountBlockedError:
    """403: the account (amoCRM) or the IP (Kommo) is blocked until amoCRM's support lifts it.

    Support asks for the IP, the subdomain and the account id, so the message names the two
    that are known here; the account id comes from the access token the request carried.
    """
    host = urlsplit(response.url).hostname or ""
    # The host asked, unless the caller knows the account's own (an API host is not it).
    subdomain = subdomain or (host.split(".")[0] if host.count(".") >= 2 and not host[0].isdigit() else host)
    if account_id is None:
        sent = str(response.request.headers.get("Authorization", "")) if response.request else ""
        claims = decode_claims(sent[len("Bearer ") :]) if sent.startswith("Bearer ") else None
        account_id = claims.account_id if claims else None
    hint = (
        _(
            "Retrying does not help and only prolongs the block. Write to amoCRM support and give "
            "them this server's public IP address, the subdomain {subdomain} and the account id "
            "{account_id}.",
            subdomain=subdomain,
            account_id=account_id,
        )
        if account_id is not None
        else _(
            "Retrying does not help and only prolongs the block. Write to amoCRM support and give "
            "them this server's public IP address, the subdomain {subdomain} and the account id "
            "(Settings → General in amoCRM).",
            subdomain=subdomain,
        )
    )
    return e.AccountBlockedError(
        _("amoCRM has blocked this account or this server's IP address (403)."),
        hint,
        detail=detail or _("amoCRM answered 403."),
    )


def _response_lost(error: e.NetworkError, *, refreshing: bool) -> e.ResponseLostError:
    """A grant whose answer never came: amoCRM has most likely spent the token or code already."""
    if refreshing:
        return e.ResponseLostError(
            _(
                "The answer to the token renewal was lost ({reason}); amoCRM has probably "
                "replaced the tokens already, and the new ones never arrived.",
                reason=error.message,
            ),
            _CONNECT_AGAIN,
            detail=error.detail,
            request_sent=True,
        )
    return e.ResponseLostError(
        _(
            "The answer to the code exchange was lost ({reason}); amoCRM has probably used up "
            "the code already.",
            reason=error.message,
        ),
        _(
            "Get a new code (open Keys and scopes again, or go through the consent page again) "
            "and connect again."
        ),
        detail=error.detail,
        request_sent=True,
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
