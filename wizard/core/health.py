"""How long a stored pair has left, and what that means for monitoring.

The one owner of this arithmetic: ``amocrm-wizard status`` prints it and exits with its
code, the wizard's welcome page (``ui/model.summarize``) shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wizard.core import verdict
from wizard.core.tokens import TokenPair, utcnow

#: ``status`` exits 1 when the refresh token (or a long-lived token) ends within this many days.
WARN_DAYS = 14

HEALTHY, ENDING, ENDED = 0, 1, 3


@dataclass(frozen=True)
class TokenHealth:
    access_expires_at: datetime
    access_expired: bool
    long_lived: bool
    refresh_issued_at: datetime | None  # None for a long-lived token
    refresh_age_days: float | None
    refresh_dies_at: datetime | None  # when the refresh token dies if nobody uses it
    refresh_days_left: float | None
    #: amoCRM's recorded verdict applies to the stored refresh token.
    rejected: bool
    #: Days until the connection ends by itself: the refresh token's, or a long-lived token's.
    days_left: float

    @property
    def exit_code(self) -> int:
        """0 healthy; 1 ending within ``WARN_DAYS``; 3 ended or refused (contract, ``status``)."""
        if self.rejected or self.days_left <= 0:
            return ENDED
        return ENDING if self.days_left < WARN_DAYS else HEALTHY


def health(tokens: TokenPair, refresh_rejected: str = "", now: datetime | None = None) -> TokenHealth:
    now = now or utcnow()
    long_lived = tokens.is_long_lived
    issued = None if long_lived else tokens.issued_at
    refresh_left = tokens.refresh_days_left(now)
    return TokenHealth(
        access_expires_at=tokens.expires_at,
        access_expired=tokens.access_expired(now),
        long_lived=long_lived,
        refresh_issued_at=issued,
        refresh_age_days=None if issued is None else (now - issued).total_seconds() / 86400,
        refresh_dies_at=tokens.refresh_expires_at,
        refresh_days_left=refresh_left,
        rejected=not long_lived and verdict.applies(refresh_rejected, tokens.refresh_token),
        days_left=(tokens.expires_at - now).total_seconds() / 86400 if refresh_left is None else refresh_left,
    )
