"""What the authorization server remembers about each code and token it handed out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

CODE_TTL = 20 * 60  # authorization codes: 20 minutes
ACCESS_TTL = 24 * 60 * 60  # access tokens: 24 hours
REFRESH_TTL = 90 * 24 * 60 * 60  # refresh tokens: "3 months", taken as 90 days


def new_opaque_token(random_bytes: int) -> str:
    """An opaque code or refresh token that looks like amoCRM's (they all start ``def50200``).

    Clients must treat it as an opaque string; the sandbox only ever looks it up.
    """
    return "def50200" + secrets.token_hex(random_bytes)


@dataclass
class CodeGrant:
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    chain_id: str  # one chain per code exchange; every refresh continues it
    expires_at: float
    spent: bool = False  # rotated away by a successful refresh
    revoked: bool = False  # killed from outside (revoke_refresh_tokens)


@dataclass
class AccessGrant:
    client_id: str
    chain_id: str | None  # None for long-lived tokens, which belong to no refresh chain
    expires_at: float
    dead: bool = False  # killed before its expiry (expire_access_tokens, rotation)
