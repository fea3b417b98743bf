"""The sandbox's authorization server: integrations, codes, the token endpoint, token checks.

No HTTP here: the router hands in parameters and gets back a JSON-able dict or a
:class:`~wizard.sandbox.problems.Problem`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from . import problems
from .clock import SandboxClock
from .grants import (
    ACCESS_TTL,
    CODE_TTL,
    REFRESH_TTL,
    AccessGrant,
    CodeGrant,
    RefreshGrant,
    new_opaque_token,
)
from .integration import SandboxIntegration
from .jwt_tokens import AccessTokenSigner
from .stats import StatsCounter

_MAX_LONG_LIVED_DAYS = 5 * 365  # amoCRM offers 1 day to 5 years


class AuthorizationServer:
    """Everything about codes and tokens, guarded by one lock.

    One lock is enough at sandbox scale and makes "check the refresh token and spend it"
    trivially atomic: two concurrent refreshes with the same token can never both win.
    """

    def __init__(self, clock: SandboxClock, signer: AccessTokenSigner, stats: StatsCounter) -> None:
        self._clock = clock
        self._signer = signer
        self._stats = stats
        self._lock = threading.Lock()
        self._integrations: dict[str, SandboxIntegration] = {}
        self._disabled: set[str] = set()
        self._codes: dict[str, CodeGrant] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._access: dict[str, AccessGrant] = {}  # by the JWT's jti
        # Seconds to sleep after spending a refresh token and before answering: the window in
        # which a client that crashes, or a second client, loses the new pair.
        self.refresh_delay = 0.0
        # Unconfirmed for amoCRM: whether a refresh kills the access token it replaces.
        self.old_access_dies_on_refresh = False

    # -- integrations --------------------------------------------------------------------------

    def add(self, integration: SandboxIntegration) -> None:
        with self._lock:
            self._integrations[integration.client_id] = integration

    def get(self, client_id: str | None) -> SandboxIntegration | None:
        if not client_id:
            return None
        with self._lock:
            return self._integrations.get(client_id)

    def require(self, client_id: str) -> SandboxIntegration:
        integration = self.get(client_id)
        if integration is None:
            raise KeyError(f"no integration with client id {client_id!r} in this sandbox")
        return integration

    def is_disabled(self, client_id: str) -> bool:
        with self._lock:
            return client_id in self._disabled

    def set_disabled(self, client_id: str, disabled: bool) -> None:
        self.require(client_id)
        with self._lock:
            if disabled:
                self._disabled.add(client_id)
            else:
                self._disabled.discard(client_id)

    # -- consent -------------------------------------------------------------------------------

    def issue_code(self, client_id: str) -> str:
        """A fresh single-use code bound to the integration and its registered redirect URI."""
        integration = self.require(client_id)
        code = new_opaque_token(96)
        with self._lock:
            self._codes[code] = CodeGrant(
                client_id=client_id,
                redirect_uri=integration.redirect_uri,
                expires_at=self._clock.now() + CODE_TTL,
            )
        return code

    def decide(self, client_id: str, state: str, allow: bool, referer: str) -> str:
        """Where the consent page sends the browser after Allow or Deny."""
        integration = self.require(client_id)
        if allow:
            params = {
                "code": self.issue_code(client_id),
                "state": state,
                "referer": referer,
                "platform": "1",
                "client_id": client_id,
            }
        else:
            params = {"error": "access_denied", "state": state, "client_id": client_id}
        separator = "&" if "?" in integration.redirect_uri else "?"
        return integration.redirect_uri + separator + urlencode(params)

    # -- token endpoint ------------------------------------------------------------------------

    def token_grant(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``POST /oauth2/access_token``: validate in amoCRM's order, then exchange or refresh."""
        grant_type = params.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise problems.missing_parameter("grant_type")
        if grant_type == "refresh_token":
            self._stats.bump("refresh_attempts")
        integration = self._authenticate_client(params)
        # The redirect URI is required on both grants, as amoCRM's docs list it for both; the
        # comparison is byte for byte, so a trailing slash or http-for-https fails.
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise problems.missing_parameter("redirect_uri")
        if redirect_uri != integration.redirect_uri:
            raise problems.oauth_invalid_request(problems.HINT_REDIRECT_URI)
        if grant_type == "authorization_code":
            return self._exchange_code(integration, params)
        return self._refresh_grant(integration, params)

    def _authenticate_client(self, params: Mapping[str, str]) -> SandboxIntegration:
        integration = self.get(params.get("client_id"))
        if integration is None:
            raise problems.oauth_invalid_request(problems.HINT_CLIENT_ID)
        secret = params.get("client_secret")
        if not secret:
            raise problems.oauth_invalid_request(problems.HINT_CLIENT_SECRET)
        # Constant-time comparison, as a real server would; bytes so non-ASCII input cannot raise.
        if not hmac.compare_digest(secret.encode(), integration.client_secret.encode()):
            raise problems.invalid_client()
        return integration

    def _exchange_code(self, integration: SandboxIntegration, params: Mapping[str, str]) -> dict[str, Any]:
        code = params.get("code")
        if not code:
            raise problems.missing_parameter("code")
        client_id = integration.client_id
        with self._lock:
            now = self._clock.now()
            grant = self._codes.get(code)
            if grant is None:
                raise problems.oauth_invalid_request(problems.HINT_CODE_GARBAGE)
            if grant.client_id != client_id:
                raise problems.oauth_invalid_request(problems.HINT_CODE_OTHER_CLIENT)
            if now >= grant.expires_at:
                raise problems.oauth_invalid_request(problems.HINT_CODE_EXPIRED)
            # A switched-off integration's codes are as dead as used ones.
            if grant.used or client_id in self._disabled:
                raise problems.oauth_invalid_request(problems.HINT_CODE_REUSED)
            grant.used = True
            answer, _ = self._issue_pair_locked(client_id, chain_id=secrets.token_hex(8), now=now)
        self._stats.bump("exchanges")
        return answer

    def _refresh_grant(self, integration: SandboxIntegration, params: Mapping[str, str]) -> dict[str, Any]:
        token = params.get("refresh_token")
        if not token:
            raise problems.missing_parameter("refresh_token")
        with self._lock:
            now = self._clock.now()
            grant = self._refresh.get(token)
            self._check_refresh_locked(grant, integration.client_id, now)
            assert grant is not None  # _check_refresh_locked refuses None
            grant.spent = True
            answer, jti = self._issue_pair_locked(integration.client_id, grant.chain_id, now)
            if self.old_access_dies_on_refresh:
                self._kill_chain_access_locked(grant.chain_id, keep=jti)
            delay = self.refresh_delay
        self._stats.bump("refreshes")
        # The old token is already spent and the new pair not yet delivered: the dangerous window.
        if delay > 0:
            time.sleep(delay)
        return answer

    def _check_refresh_locked(self, grant: RefreshGrant | None, client_id: str, now: float) -> None:
        # Unknown tokens and tokens of another client: league/oauth2-server's wording, status 401.
        if grant is None:
            raise problems.token_revoked(problems.HINT_REFRESH_GARBAGE)
        if grant.client_id != client_id:
            raise problems.token_revoked(problems.HINT_REFRESH_OTHER_CLIENT)
        if grant.spent:
            self._stats.bump("rejected_refresh_replays")
            raise problems.token_revoked()
        if grant.revoked or client_id in self._disabled:
            raise problems.token_revoked()
        # amoCRM's answer for a refresh token past its 3 months is unconfirmed; the wizard treats
        # any 401 here as "connect again", so the seen "Token has been revoked" is used.
        if now >= grant.expires_at:
            raise problems.token_revoked()

    def _issue_pair_locked(self, client_id: str, chain_id: str, now: float) -> tuple[dict[str, Any], str]:
        """The token endpoint's success body, and the new access token's jti."""
        signed = self._signer.sign(client_id=client_id, now=now, ttl=ACCESS_TTL)
        self._access[signed.jti] = AccessGrant(client_id, chain_id, signed.expires_at)
        refresh = new_opaque_token(64)
        self._refresh[refresh] = RefreshGrant(client_id, chain_id, now + REFRESH_TTL)
        answer = {
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "access_token": signed.token,
            "refresh_token": refresh,
            "server_time": int(now),
        }
        return answer, signed.jti

    def _kill_chain_access_locked(self, chain_id: str, keep: str) -> None:
        for jti, access in self._access.items():
            if access.chain_id == chain_id and jti != keep:
                access.dead = True

    def refresh_token_is_live(self, token: str) -> bool:
        """Whether ``token`` is a refresh token that a refresh would still accept."""
        with self._lock:
            grant = self._refresh.get(token)
            return bool(
                grant
                and not grant.spent
                and not grant.revoked
                and grant.client_id not in self._disabled
                and self._clock.now() < grant.expires_at
            )

    # -- long-lived tokens and admin actions ---------------------------------------------------

    def issue_long_lived(self, client_id: str, days: int) -> str:
        """A private integration's long-lived token: an access JWT alone, no refresh token."""
        self.require(client_id)
        if not 1 <= days <= _MAX_LONG_LIVED_DAYS:
            raise ValueError(f"days must be between 1 and {_MAX_LONG_LIVED_DAYS}")
        with self._lock:
            signed = self._signer.sign(client_id=client_id, now=self._clock.now(), ttl=days * 86400)
            self._access[signed.jti] = AccessGrant(client_id, None, signed.expires_at)
        return signed.token

    def revoke_refresh_tokens(self, client_id: str) -> None:
        with self._lock:
            for grant in self._refresh.values():
                if grant.client_id == client_id:
                    grant.revoked = True

    def expire_access_tokens(self, client_id: str) -> None:
        with self._lock:
            for access in self._access.values():
                if access.client_id == client_id:
                    access.dead = True

    # -- the API's side ------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        """The claims of a live access token from an ``Authorization`` header, or 401."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise problems.unauthorized()
        claims = self._signer.verify(token.strip())
        if claims is None:
            raise problems.unauthorized()
        with self._lock:
            access = self._access.get(str(claims.get("jti")))
            now = self._clock.now()
            if (
                access is None
                or access.dead
                or now >= access.expires_at
                or now < float(claims.get("nbf", 0))
                or access.client_id in self._disabled
            ):
                raise problems.unauthorized()
        return claims
