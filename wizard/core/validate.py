"""Checks for what the admin types, shared by the CLI and the wizard's inline validation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from wizard.core.errors import ConfigError, InvalidClientIdError, InvalidRedirectUriError
from wizard.core.i18n import _

_WHERE = _("Settings → Integrations → your integration → Keys and scopes")


#: The one form amoCRM shows a UUID in (8-4-4-4-12 hex digits, lower case). Not
#: ``uuid.UUID``: it also takes "{…}", "urn:uuid:" and unhyphenated forms, and importing
#: ``uuid`` (which imports ``platform``) costs ~11 ms of the GUI's main thread right
#: before QtWebEngine starts loading the consent page, whose bench target (issue 15) is met
#: only narrowly; the issue keeps such tuning where the bench needs it.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def client_id(text: str) -> str:
    """The integration ID is a UUID; return it normalised (lower case, no spaces)."""
    value = (text or "").strip().lower()
    if not _CANONICAL_UUID.fullmatch(value):
        raise InvalidClientIdError(
            _("The Client ID should look like 1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f."),
            _("Copy the integration ID from {where}.", where=_WHERE),
        )
    return value


def client_secret(text: str) -> str:
    value = (text or "").strip()
    if not value:
        raise ConfigError(
            _("The Client secret is empty."), _("Copy the secret key from {where}.", where=_WHERE)
        )
    if any(ch.isspace() for ch in value) or len(value) < 16:
        raise ConfigError(
            _("The Client secret looks incomplete or has spaces in it."),
            _("Copy the secret key again, whole, from {where}.", where=_WHERE),
        )
    return value


def redirect_uri(text: str) -> str:
    """An absolute http(s) address. Kept exactly as typed, minus surrounding spaces:
    amoCRM compares it with the registered one byte for byte."""
    value = (text or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRedirectUriError(
            _("The Redirect URI should be a full address such as https://example.com/amocrm."),
            _("Copy it exactly as it is written in the integration's settings in amoCRM."),
        )
    if parts.fragment:
        raise InvalidRedirectUriError(
            _("The Redirect URI must not contain “#”."),
            _("Copy it exactly as it is written in the integration's settings in amoCRM."),
        )
    return value
