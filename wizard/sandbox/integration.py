"""An integration registered in the sandbox account, as its "Keys and scopes" tab shows it."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxIntegration:
    """The three values an admin copies from amoCRM into the wizard, plus the display name."""

    client_id: str
    client_secret: str
    redirect_uri: str
    name: str = "Sandbox integration"


def new_integration(redirect_uri: str, name: str) -> SandboxIntegration:
    """A fresh integration: a UUID4 id (as amoCRM's) and a 64-character url-safe secret."""
    return SandboxIntegration(
        client_id=str(uuid.uuid4()),
        client_secret=secrets.token_urlsafe(48),  # 48 random bytes encode to 64 characters
        redirect_uri=redirect_uri,
        name=name,
    )
