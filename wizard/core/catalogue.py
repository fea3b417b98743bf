"""The catalogue of failures: for every typed error, a title the admin sees first.

The error itself carries the plain explanation (``message``) and the concrete fix
(``hint``), worded where it is raised because only there are the details known (which
host, which file). Here every error ``code`` gets its title, so the GUI's error panel and
the CLI show the same three parts in either language. ``tests/unit/core/test_catalogue.py``
checks that no error class is missing from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from wizard.core.errors import WizardError
from wizard.core.i18n import Text, _, render

TITLES: dict[str, Text] = {
    "error": _("Something went wrong"),
    "bad_input": _("Something in the form needs fixing"),
    "bad_account": _("The account address is not right"),
    "bad_client_id": _("The Client ID is not right"),
    "bad_redirect_uri": _("The Redirect URI is not right"),
    "bad_target": _("The place for the tokens is not right"),
    "bad_callback": _("That is not the address amoCRM redirected to"),
    "bad_setup": _("The setup file cannot be used"),
    "oauth": _("amoCRM refused"),
    "state_mismatch": _("This answer did not come from our consent page"),
    "access_denied": _("Access was not granted"),
    "code_expired": _("The authorization code has expired"),
    "code_used": _("The authorization code was already used"),
    "code_invalid": _("The authorization code is not recognised"),
    "client_id_rejected": _("amoCRM does not know this Client ID"),
    "client_secret_rejected": _("The Client secret is wrong"),
    "redirect_uri_mismatch": _("The Redirect URI does not match"),
    "account_rejected": _("The integration is not connected to this account"),
    "account_blocked": _("amoCRM blocked access to the account"),
    "reauthorize": _("The connection has to be made again"),
    "token_not_linked": _("The refresh token belongs to another integration"),
    "access_token_rejected": _("amoCRM refused the access token"),
    "transport": _("amoCRM could not be reached"),
    "network": _("No connection to amoCRM"),
    "tls": _("The secure connection failed"),
    "server_error": _("amoCRM is having problems"),
    "rate_limited": _("Too many requests to amoCRM"),
    "response_lost": _("amoCRM's answer was lost"),
    "target": _("The tokens could not be saved"),
    "database_refused": _("The database refused"),
    "target_locked": _("The file is busy"),
    "target_read": _("The tokens could not be read"),
    "target_not_file": _("The .env path is not a file"),
    "target_lock_denied": _("The lock file cannot be used"),
    "target_verify": _("The saved file does not read back right"),
    "ssh_unreachable": _("The server could not be reached"),
    "ssh_login_refused": _("The server refused the login"),
    "ssh_host_key_unknown": _("The server is not known yet"),
    "ssh_host_key_changed": _("The server's identity has changed"),
    "restart_failed": _("The backend could not be restarted"),
    "incomplete": _("Something is missing"),
    "schedule": _("The scheduled renewal could not be set up"),
}


@dataclass(frozen=True)
class Failure:
    """What the admin is shown: a title, what happened, and what to do."""

    code: str
    title: str
    explanation: str
    fix: str
    detail: str = ""


def describe(error: WizardError, language: str | None = None) -> Failure:
    title = TITLES.get(error.code, TITLES["error"])
    return Failure(
        error.code,
        render(title, language),
        render(error.message, language),
        render(error.hint, language),
        error.detail,
    )


def redirect_uri_differences(entered: str, registered: str) -> list[Text]:
    """Plain-words differences between two redirect URIs (amoCRM compares them byte for byte)."""
    a, b = entered.strip(), registered.strip()
    if a == b:
        return []
    found: list[Text] = []
    pa, pb = urlsplit(a), urlsplit(b)
    if pa.scheme != pb.scheme:
        found.append(_("One starts with {a}://, the other with {b}://.", a=pa.scheme, b=pb.scheme))
    if pa.netloc.lower() != pb.netloc.lower():
        found.append(_("The site differs: {a} and {b}.", a=pa.netloc, b=pb.netloc))
    elif pa.netloc != pb.netloc:
        found.append(_("The site is written in different letter case."))
    if pa.path.rstrip("/") == pb.path.rstrip("/") and pa.path != pb.path:
        found.append(_("One ends with a slash (/) and the other does not."))
    elif pa.path != pb.path:
        found.append(_("The path differs: “{a}” and “{b}”.", a=pa.path or "/", b=pb.path or "/"))
    if pa.query != pb.query:
        found.append(_("The part after “?” differs."))
    return found or [_("They differ in spaces or invisible characters.")]


def first_difference(a: str, b: str) -> int:
    """Index of the first differing character (for highlighting), or -1 when equal."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return -1 if len(a) == len(b) else min(len(a), len(b))
