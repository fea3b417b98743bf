"""Checks for what the admin types, shared by the CLI and the wizard's inline validation."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from wizard.core.errors import ConfigError, InvalidClientIdError, InvalidRedirectUriError

_WHERE = "Settings → Integrations → your integration → Keys and scopes"


def client_id(text: str) -> str:
    """The integration ID is a UUID; return it normalised (lower case, no spaces)."""
    value = (text or "").strip()
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise InvalidClientIdError(
            "The Client ID should look like 1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f.",
            f"Copy the integration ID from {_WHERE}.",
        ) from None
    if str(parsed) != value.lower():  # refuse "{…}" and "urn:uuid:" forms amoCRM never shows
        raise InvalidClientIdError(
            "The Client ID should look like 1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f.",
            f"Copy the integration ID from {_WHERE}.",
        )
    return value.lower()


def client_secret(text: str) -> str:
    value = (text or "").strip()
    if not value:
        raise ConfigError("The Client secret is empty.", f"Copy the secret key from {_WHERE}.")
    if any(ch.isspace() for ch in value) or len(value) < 16:
        raise ConfigError(
            "The Client secret looks incomplete or has spaces in it.",
            f"Copy the secret key again, whole, from {_WHERE}.",
        )
    return value


def redirect_uri(text: str) -> str:
    """An absolute http(s) address. Kept exactly as typed, minus surrounding spaces:
    amoCRM compares it with the registered one byte for byte."""
    value = (text or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRedirectUriError(
            "The Redirect URI should be a full address such as https://example.com/amocrm.",
            "Copy it exactly as it is written in the integration's settings in amoCRM.",
        )
    if parts.fragment:
        raise InvalidRedirectUriError(
            "The Redirect URI must not contain “#”.",
            "Copy it exactly as it is written in the integration's settings in amoCRM.",
        )
    return value
