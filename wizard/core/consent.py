"""The consent side of amoCRM's OAuth, without Qt or HTTP: the consent URL, its ``state``,
and the redirect that comes back from it.

A module of its own because the wizard builds the consent URL right after its first
window is painted: nothing here needs requests or the token endpoint
(:mod:`wizard.core.oauth`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from wizard.core import errors as e
from wizard.core.account import Account
from wizard.core.i18n import _

#: Consent is served from the platform's www host; the sandbox serves its own.
CONSENT_HOSTS = {"amocrm.ru": "https://www.amocrm.ru", "kommo.com": "https://www.kommo.com"}


# --- consent --------------------------------------------------------------------------


def new_state() -> str:
    """A fresh unguessable ``state`` (256 bits from the OS's CSPRNG)."""
    return secrets.token_urlsafe(32)


def consent_url(account: Account, client_id: str, state: str) -> str:
    """Where the admin grants access.

    The real service serves consent from www.amocrm.ru / www.kommo.com; for amocrm.com
    accounts no www consent host is documented, so the account's own host is used (some
    integrators do that for amocrm.ru too). The sandbox serves it on its own base URL.
    """
    origin = CONSENT_HOSTS.get(account.domain, account.base_url)
    query = urlencode({"client_id": client_id, "state": state, "mode": "post_message"})
    return f"{origin}/oauth?{query}"


@dataclass(frozen=True)
class Callback:
    """What amoCRM put on the redirect after the admin pressed Allow."""

    code: str
    state: str
    referer: str
    platform: str
    client_id: str


def is_redirect(url: str, redirect_uri: str) -> bool:
    """Does a navigation go to the registered redirect URI (same origin and path)?"""
    a, b = urlsplit(url), urlsplit(redirect_uri)
    return (a.scheme, a.netloc.lower(), a.path.rstrip("/")) == (
        b.scheme,
        b.netloc.lower(),
        b.path.rstrip("/"),
    )


#: What amoCRM adds to the registered redirect URI when it sends the admin back.
ANSWER_PARAMETERS = frozenset({"code", "state", "referer", "platform", "client_id", "error"})


def carries_answer(url: str, state: str) -> bool:
    """Does ``url`` carry amoCRM's answer to the consent page opened with ``state``: that
    state together with a code or an error, wherever the address points?"""
    query = parse_qs(urlsplit(url).query)
    sent = query.get("state", [""])[0]
    return (
        bool(state)
        and hmac.compare_digest(sent.encode(), state.encode())
        and bool(query.keys() & {"code", "error"})
    )


def registered_address(url: str) -> str:
    """The redirect URI registered in amoCRM, read back from an address amoCRM sent the admin
    to: that address without the parameters amoCRM added to it."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ANSWER_PARAMETERS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def parse_callback(url: str, account: Account, expected_state: str | None) -> Callback:
    """Check a redirect address and take the code from it.

    ``expected_state`` is None only when the admin opened the consent page themselves and
    the wizard never issued a state (``connect --redirect-url``).
    """
    query = {k: v[0] for k, v in parse_qs(urlsplit(url.strip()).query).items()}
    if "error" in query:
        raise e.AccessDeniedError(
            _("Access was not granted on the amoCRM page."),
            _("Open the consent page again and press “Allow” (Разрешить)."),
            detail=query["error"],
        )
    state = query.get("state", "")
    if expected_state is not None and not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise e.StateMismatchError(
            _("This redirect does not belong to the consent page the wizard opened."),
            _("Start the connection again from the wizard and use only the page it opens."),
        )
    code = query.get("code", "")
    if not code:
        raise e.InvalidCallbackError(
            _("The address has no authorization code in it."),
            _(
                "Paste the whole address from the browser's address bar after pressing “Allow”; "
                "it contains “code=”."
            ),
        )
    referer = query.get("referer", "")
    if referer and not account.same_account_host(referer):
        # The referer names the account the admin picked on the consent page. It is never
        # used as a place to send secrets; a different account means the code is not ours.
        raise e.AccountRejectedError(
            _(
                "Access was granted for the account {referer}, not {host}.",
                referer=referer,
                host=account.host,
            ),
            _(
                "Enter {referer} as the account address, or choose {host} on the consent page.",
                referer=referer,
                host=account.host,
            ),
        )
    return Callback(code, state, referer, query.get("platform", ""), query.get("client_id", ""))
