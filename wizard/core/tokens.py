"""The token pair and what can be read from it.

amoCRM's access token is a JWT. Its claims are decoded *without* verifying the
signature (we do not have amoCRM's key, and we only display them); PyJWT does the
decoding so no base64/JSON handling is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

ACCESS_TOKEN_LIFETIME = timedelta(hours=24)
#: A refresh token dies this long after it was issued if it is not used.
REFRESH_TOKEN_LIFETIME = timedelta(days=90)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, seconds precision: ``2026-12-02T09:00:00Z``."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Read what ``format_utc`` wrote (and any ISO 8601 with an offset); naive means UTC."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class TokenClaims:
    """What an amoCRM access token says about itself (for display, never for trust)."""

    account_id: int | None = None
    user_id: str | None = None
    client_id: str | None = None
    base_domain: str | None = None
    api_domain: str | None = None
    scopes: tuple[str, ...] = ()
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def decode_claims(access_token: str) -> TokenClaims | None:
    """Claims of a JWT access token, or None when the token is not a readable JWT."""
    # Imported here: PyJWT pulls in cryptography (~45 ms), and the CLI's hot paths
    # (test, refresh) never need the claims.
    import jwt

    try:
        raw = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    if not isinstance(raw, dict):
        return None

    def moment(name: str) -> datetime | None:
        value = raw.get(name)
        return datetime.fromtimestamp(value, timezone.utc) if isinstance(value, int | float) else None

    scopes = raw.get("scopes") or ()
    account_id = raw.get("account_id")
    return TokenClaims(
        account_id=int(account_id)
        if isinstance(account_id, int | str) and str(account_id).isdigit()
        else None,
        user_id=str(raw["sub"]) if raw.get("sub") is not None else None,
        client_id=str(raw["aud"]) if isinstance(raw.get("aud"), str) else None,
        base_domain=raw.get("base_domain") if isinstance(raw.get("base_domain"), str) else None,
        api_domain=raw.get("api_domain") if isinstance(raw.get("api_domain"), str) else None,
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list | tuple) else (),
        issued_at=moment("iat"),
        expires_at=moment("exp"),
        raw=raw,
    )


@dataclass(frozen=True)
class TokenPair:
    """An access token, the refresh token issued with it, and when the access token ends.

    ``refresh_token`` is empty for a long-lived token of a private integration.
    """

    access_token: str
    refresh_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        from wizard.core.redact import mask

        return (
            f"TokenPair(access_token={mask(self.access_token)!r}, "
            f"refresh_token={mask(self.refresh_token)!r}, expires_at={self.expires_at!r})"
        )

    @classmethod
    def from_grant(cls, body: Mapping[str, Any], received_at: datetime | None = None) -> TokenPair:
        """Build from the token endpoint's JSON answer.

        ``expires_in`` counts from when the answer arrived, on our own clock; when the JWT
        carries an earlier ``exp`` that one wins, so we never think a token lives longer
        than amoCRM says.
        """
        received_at = received_at or utcnow()
        access = str(body["access_token"])
        expires_at = received_at + timedelta(seconds=int(body.get("expires_in") or 86400))
        claims = decode_claims(access)
        if claims and claims.expires_at and claims.expires_at < expires_at:
            expires_at = claims.expires_at
        return cls(access, str(body.get("refresh_token") or ""), expires_at.replace(microsecond=0))

    @classmethod
    def long_lived(cls, access_token: str) -> TokenPair:
        """A private integration's long-lived token: its end comes from the JWT ``exp``."""
        claims = decode_claims(access_token.strip())
        if claims is None or claims.expires_at is None:
            raise ValueError("not a JWT with an expiry")
        return cls(access_token.strip(), "", claims.expires_at)

    @property
    def claims(self) -> TokenClaims | None:
        return decode_claims(self.access_token)

    @property
    def is_long_lived(self) -> bool:
        return not self.refresh_token

    @property
    def issued_at(self) -> datetime:
        """When this pair was issued, on our clock.

        Derived from the stored expiry minus the token's own lifetime (``exp - iat``),
        because the .env layout keeps only the expiry and our clock may disagree with
        amoCRM's.
        """
        claims = self.claims
        lifetime = ACCESS_TOKEN_LIFETIME
        if claims and claims.issued_at and claims.expires_at and claims.expires_at > claims.issued_at:
            lifetime = claims.expires_at - claims.issued_at
        return self.expires_at - lifetime

    @property
    def refresh_expires_at(self) -> datetime | None:
        """When the refresh token dies if nobody uses it (3 months after issue)."""
        return None if self.is_long_lived else self.issued_at + REFRESH_TOKEN_LIFETIME

    def access_expired(self, now: datetime | None = None, margin: timedelta = timedelta(0)) -> bool:
        return (now or utcnow()) + margin >= self.expires_at

    def refresh_days_left(self, now: datetime | None = None) -> float | None:
        end = self.refresh_expires_at
        return None if end is None else (end - (now or utcnow())).total_seconds() / 86400
