"""amoCRM's verdict on a refresh token: recorded so that nobody sends a dead token again.

When amoCRM rejects the stored refresh token as revoked or expired, every process that
shares the target would otherwise try it again, and amoCRM answers a stream of rejected
grants by blocking the whole account (403). The verdict is kept beside the token as
``<ISO 8601 UTC> <first 12 hex digits of the token's SHA-256>`` (contract, "Exit codes").
The hash ties it to the one token it is about: a new token pasted by hand is not covered.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from wizard.core.tokens import format_utc, utcnow

#: Hex digits of the SHA-256 kept in a verdict.
FINGERPRINT_LENGTH = 12


def fingerprint(refresh_token: str) -> str:
    """The first 12 hex digits of the token's SHA-256: names the token without revealing it."""
    return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def record(refresh_token: str, when: datetime | None = None) -> str:
    """The verdict text for ``refresh_token``, rejected at ``when`` (default: now)."""
    return f"{format_utc(when or utcnow())} {fingerprint(refresh_token)}"


def applies(verdict: str, refresh_token: str) -> bool:
    """Does ``verdict`` condemn this very token? A malformed or foreign verdict does not."""
    parts = verdict.split()
    return len(parts) == 2 and bool(refresh_token) and parts[1].lower() == fingerprint(refresh_token)
