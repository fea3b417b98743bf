"""What the consent view may load: a Qt-free decision on a plain navigation value.

``OAuthPage.acceptNavigationRequest`` only builds a :class:`NavigationRequest` and asks
:func:`decide`; this module never sees a ``QUrl`` (the qutebrowser pattern).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

from wizard.core.account import ACCOUNT_DOMAINS, Account
from wizard.core.consent import is_redirect

#: The platforms' own hosts that serve consent, login and their assets.
PLATFORM_HOSTS = frozenset({"www.amocrm.ru", "www.kommo.com", "amocrm.ru", "kommo.com", "amocrm.com"})


class Kind(enum.Enum):
    """Why the view wants to go somewhere (a Qt-free mirror of ``NavigationType``)."""

    LINK = "link"
    TYPED = "typed"  # the wizard itself called load()
    FORM = "form"
    BACK_FORWARD = "back_forward"
    RELOAD = "reload"
    REDIRECT = "redirect"
    NEW_WINDOW = "new_window"
    OTHER = "other"


class Verdict(enum.Enum):
    FOLLOW = "follow"  # load it in the view
    CAPTURE = "capture"  # the redirect back to the integration: take the code, never load it
    EXTERNAL = "external"  # not amoCRM: do not load; offer the system browser
    BLOCK = "block"  # not amoCRM, not worth asking about (a sub-frame)


@dataclass(frozen=True)
class NavigationRequest:
    url: str
    is_main_frame: bool
    kind: Kind


def is_platform_url(url: str, account: Account) -> bool:
    """Is ``url`` on the account's own host or on an amoCRM/Kommo host?"""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if account.is_loopback:
        return parts.scheme == "http" and parts.netloc.lower() == account.host
    if parts.scheme != "https":
        return False
    if host == account.host or host in PLATFORM_HOSTS:
        return True
    return any(host.endswith("." + domain) for domain in ACCOUNT_DOMAINS)


def decide(request: NavigationRequest, *, account: Account, redirect_uri: str) -> Verdict:
    """Follow amoCRM, capture the redirect to the integration, keep everything else out."""
    url = request.url
    if redirect_uri and is_redirect(url, redirect_uri):
        return Verdict.CAPTURE if request.is_main_frame else Verdict.BLOCK
    scheme = urlsplit(url).scheme.lower()
    if scheme == "about" or (scheme in ("data", "blob") and not request.is_main_frame):
        return Verdict.FOLLOW
    if is_platform_url(url, account):
        return Verdict.FOLLOW
    if request.is_main_frame and scheme in ("http", "https"):
        return Verdict.EXTERNAL
    return Verdict.BLOCK
