"""Access tokens: HS256 JWTs carrying the claims amoCRM puts in its own."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

SCOPES = ("crm", "files", "files_delete", "notifications", "push_notifications")


@dataclass(frozen=True)
class SignedToken:
    token: str
    jti: str
    expires_at: int


class AccessTokenSigner:
    """Signs and checks access tokens with a key that lives and dies with one sandbox."""

    def __init__(self, *, api_domain: str, account_id: int, user_id: int) -> None:
        self._key = secrets.token_bytes(32)
        self._api_domain = api_domain
        self._account_id = account_id
        self._user_id = user_id

    def sign(self, *, client_id: str, now: float, ttl: int) -> SignedToken:
        jti = secrets.token_hex(20)
        issued = int(now)
        claims: dict[str, Any] = {
            "aud": client_id,
            "jti": jti,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "sub": str(self._user_id),
            "grant_type": "",
            "account_id": self._account_id,
            "base_domain": "amocrm.ru",
            "api_domain": self._api_domain,
            "version": 2,
            "scopes": list(SCOPES),
            "hash_uuid": str(uuid.uuid4()),
        }
        token = jwt.encode(claims, self._key, algorithm="HS256", headers={"jti": jti})
        return SignedToken(token=token, jti=jti, expires_at=issued + ttl)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims if this sandbox signed the token, else None. Expiry is not judged here."""
        # PyJWT checks only the signature: expiry is judged by the sandbox clock, not the host's,
        # so that Sandbox.advance() can age tokens. The audience is checked by the jti lookup.
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError:
            return None
        return claims


def unverified_audience(token: str) -> str:
    """The client id a token claims to belong to, without trusting it: only for rate limiting."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    aud = claims.get("aud")
    return aud if isinstance(aud, str) else ""
