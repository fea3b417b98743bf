"""The account address: what the admin types, and the base URL every call goes to.

Rules (contract, "Account address"): ``mycompany`` means ``mycompany.amocrm.ru``;
``*.amocrm.ru``, ``*.amocrm.com`` and ``*.kommo.com`` over https; plain http only
for a loopback sandbox. Case, surrounding spaces and a trailing slash are ignored.
``*.amocrm.com`` becomes ``*.kommo.com`` (amoCRM moved those accounts there), and an
address pasted from the browser's address bar is reduced to its account: ``dropped`` says
what was left out, so the CLI and the GUI can tell the admin what was kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from wizard.core.errors import InvalidAccountError
from wizard.core.i18n import _

#: Account domains of the real service, and the platform each belongs to.
ACCOUNT_DOMAINS: dict[str, str] = {
    "amocrm.ru": "amocrm",
    "amocrm.com": "kommo",  # normalised to kommo.com
    "kommo.com": "kommo",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# amoCRM subdomains are DNS labels: letters, digits and inner hyphens.
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_EXPECTED = _(
    "Enter your amoCRM address, for example mycompany, mycompany.amocrm.ru or "
    "mycompany.kommo.com (you see it in the browser's address bar when you are in amoCRM)."
)


@dataclass(frozen=True)
class Account:
    """A normalised account address."""

    base_url: str  # e.g. "https://mycompany.amocrm.ru" or "http://127.0.0.1:8765"
    host: str  # "mycompany.amocrm.ru" or "127.0.0.1:8765" (with the port for loopback)
    subdomain: str  # "" for a loopback sandbox
    domain: str  # "amocrm.ru", "kommo.com" or "" for loopback
    platform: str  # "amocrm", "kommo" or "sandbox"
    #: What was cut off the typed address (a path, query or fragment from the address bar).
    dropped: str = field(default="", compare=False)

    @property
    def is_loopback(self) -> bool:
        return self.platform == "sandbox"

    def same_account_host(self, host: str) -> bool:
        """True when ``host`` names this very account (used to vet amoCRM's ``referer``).

        For the real service the same subdomain on any amoCRM/Kommo domain counts: amoCRM
        may name the account by another of its domains. For loopback only the exact
        host:port does.
        """
        host = host.strip().lower().rstrip("/")
        if self.is_loopback:
            return host == self.host
        name, _dot, domain = host.partition(".")
        return name == self.subdomain and domain in ACCOUNT_DOMAINS


def parse_account(text: str) -> Account:
    """Normalise what the admin typed, or raise ``InvalidAccountError`` saying what was expected.

    A path, query or fragment after the host is dropped (``Account.dropped`` holds it).
    """
    typed = (text or "").strip()
    raw = typed.lower()
    if not raw:
        raise InvalidAccountError(_("The account address is empty."), _EXPECTED)
    if any(ch.isspace() for ch in raw):
        raise InvalidAccountError(_("“{typed}” has spaces in it.", typed=typed), _EXPECTED)
    if "://" not in raw:
        if ":" in raw:  # "javascript:…", "mailto:…", "host:port" without a scheme
            raise InvalidAccountError(_("“{typed}” is not an amoCRM address.", typed=typed), _EXPECTED)
        if not any(mark in raw.rstrip("/") for mark in "/?#"):
            return _parse_host(raw, scheme="https", original=text)
        typed, raw = f"https://{typed}", f"https://{raw}"  # "mycompany.amocrm.ru/leads"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise InvalidAccountError(
            _(
                "“{typed}” starts with {scheme}://, which amoCRM does not use.",
                typed=text.strip(),
                scheme=parts.scheme,
            ),
            _EXPECTED,
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidAccountError(
            _("“{typed}” has a user name in it.", typed=text.strip()),
            _("Keep only the address, for example https://mycompany.amocrm.ru"),
        )
    if not parts.netloc:
        raise InvalidAccountError(
            _("“{typed}” has no address after the {scheme}://.", typed=text.strip(), scheme=parts.scheme),
            _EXPECTED,
        )
    account = _parse_host(parts.netloc, scheme=parts.scheme, original=text)
    # Pasted from the address bar (…/leads/pipeline/1?x=1#y): the account is the host alone.
    # The case of what is dropped is kept as typed, so the admin recognises it.
    typed_parts = urlsplit(typed)
    rest = typed_parts.path.rstrip("/")
    rest += f"?{typed_parts.query}" if typed_parts.query else ""
    rest += f"#{typed_parts.fragment}" if typed_parts.fragment else ""
    return replace(account, dropped=rest) if rest else account


def _parse_host(netloc: str, *, scheme: str, original: str) -> Account:
    netloc = netloc.rstrip("/")
    hostname, _colon, port = netloc.partition(":")
    if hostname in LOOPBACK_HOSTS:
        return _loopback(hostname, port, scheme, original)
    if port:
        raise InvalidAccountError(
            _("“{typed}” has a port number; amoCRM addresses do not.", typed=original.strip()), _EXPECTED
        )
    if scheme != "https":
        raise InvalidAccountError(
            _("“{typed}” uses plain http.", typed=original.strip()),
            _("amoCRM is only reached over https: write https:// or leave the prefix out."),
        )
    if "." not in hostname:
        hostname = f"{hostname}.amocrm.ru"
    subdomain, _dot, domain = hostname.partition(".")
    if domain not in ACCOUNT_DOMAINS:
        raise InvalidAccountError(
            _("“{typed}” is not an amoCRM or Kommo address.", typed=original.strip()), _EXPECTED
        )
    if subdomain == "www" or not _SUBDOMAIN.match(subdomain):
        raise InvalidAccountError(
            _("“{typed}” does not name an account.", typed=original.strip()),
            _("Use your own account's address, for example mycompany.amocrm.ru, not www."),
        )
    if domain == "amocrm.com":
        # amoCRM moved its .com accounts to Kommo; the .com API is being abandoned and the
        # same tokens work on kommo.com.
        domain, hostname = "kommo.com", f"{subdomain}.kommo.com"
    return Account(
        base_url=f"https://{hostname}",
        host=hostname,
        subdomain=subdomain,
        domain=domain,
        platform=ACCOUNT_DOMAINS[domain],
    )


def _loopback(hostname: str, port: str, scheme: str, original: str) -> Account:
    if scheme != "http":
        raise InvalidAccountError(
            _("“{typed}” is a local address.", typed=original.strip()),
            _("The local sandbox is reached over plain http, for example http://127.0.0.1:8765"),
        )
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidAccountError(_("“{typed}” has an invalid port.", typed=original.strip()), _EXPECTED)
    host = f"{hostname}:{port}" if port else hostname
    return Account(base_url=f"http://{host}", host=host, subdomain="", domain="", platform="sandbox")
