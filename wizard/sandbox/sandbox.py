"""The public face of the sandbox: a local amoCRM look-alike served on loopback."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from .clock import SandboxClock
from .crm import ACCOUNT_ID, USER_ID, Crm
from .faults import BodyKind, FaultInjector
from .integration import SandboxIntegration, new_integration
from .jwt_tokens import AccessTokenSigner
from .oauth import AuthorizationServer
from .ratelimit import RateLimiter
from .routes import Router, Services
from .server import SandboxHTTPServer
from .stats import SandboxStats, StatsCounter


class Sandbox:
    """An amoCRM account with one integration, its consent page, token endpoint and API.

    The socket is bound at construction so ``base_url`` and the default redirect URI are known
    before :meth:`start`; ``port=0`` picks a free port. Every expiry follows the sandbox clock,
    which :meth:`advance` moves forward.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, rate_limit: float | None = None) -> None:
        self._server = SandboxHTTPServer(host, port)
        self.host = host
        self.port: int = self._server.server_address[1]
        url_host = _url_host(host)
        self.base_url = f"http://{url_host}:{self.port}"
        # amoCRM's referer and the token's api_domain name the account host without a scheme.
        netloc = f"{url_host}:{self.port}"
        self._clock = SandboxClock()
        self._stats = StatsCounter()
        self._faults = FaultInjector()
        self._limiter = RateLimiter(rate_limit)
        self._crm = Crm(self.base_url)
        signer = AccessTokenSigner(api_domain=netloc, account_id=ACCOUNT_ID, user_id=USER_ID)
        self._oauth = AuthorizationServer(self._clock, signer, self._stats)
        self._integration_count = 0
        self.integration: SandboxIntegration = self.add_integration()
        self._router = Router(
            Services(
                base_url=self.base_url,
                referer=netloc,
                default_client_id=self.integration.client_id,
                clock=self._clock,
                oauth=self._oauth,
                crm=self._crm,
                stats=self._stats,
                faults=self._faults,
                limiter=self._limiter,
            )
        )
        self._server.router = self._router
        self._thread: threading.Thread | None = None
        self._stopped = False
        #: Servers of addresses the account moved to (move_account), with their threads.
        self._moved: list[tuple[SandboxHTTPServer, threading.Thread]] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve in a background daemon thread. Returns self: ``sb = Sandbox().start()``."""
        if self._stopped:
            raise RuntimeError("a stopped Sandbox cannot be started again; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() returns within ~10 ms
                name=f"amocrm-sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open keep-alive connections and free the port. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._server.shutdown()  # blocks until serve_forever returns; only safe once started
            self._thread.join()
        self._server.close_connections()
        self._server.server_close()
        for server, thread in self._moved:
            server.shutdown()
            thread.join()
            server.close_connections()
            server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- integrations and credentials ------------------------------------------------------------

    def add_integration(self, redirect_uri: str | None = None, name: str | None = None) -> SandboxIntegration:
        """Register another integration; the redirect URI defaults to the /callback page."""
        self._integration_count += 1
        number = self._integration_count
        integration = new_integration(
            redirect_uri or f"{self.base_url}/callback",
            name or ("Sandbox integration" if number == 1 else f"Sandbox integration {number}"),
        )
        self._oauth.add(integration)
        return integration

    def _client_id(self, client_id: str | None) -> str:
        resolved = client_id or self.integration.client_id
        self._oauth.require(resolved)  # a typo in a test should fail loudly, not silently no-op
        return resolved

    def consent_url(self, state: str = "sandbox", client_id: str | None = None) -> str:
        """The address of the consent page, as the wizard would build it for this sandbox."""
        return self._router.consent_url(self._client_id(client_id), state)

    def issue_code(self, client_id: str | None = None) -> str:
        """A fresh 20-minute authorization code, as the "Keys and scopes" tab shows it."""
        return self._oauth.issue_code(self._client_id(client_id))

    def issue_long_lived_token(self, days: int, client_id: str | None = None) -> str:
        """A private integration's long-lived access token (1 day to 5 years), no refresh token."""
        return self._oauth.issue_long_lived(self._client_id(client_id), days)

    # -- the clock and admin actions -------------------------------------------------------------

    def now(self) -> float:
        """Sandbox time (Unix seconds): what ``server_time`` reports and expiry is judged by."""
        return self._clock.now()

    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)

    def revoke_refresh_tokens(self, client_id: str | None = None) -> None:
        self._oauth.revoke_refresh_tokens(self._client_id(client_id))

    def expire_access_tokens(self, client_id: str | None = None) -> None:
        self._oauth.expire_access_tokens(self._client_id(client_id))

    def disable_integration(self, client_id: str | None = None) -> None:
        """The account admin switches the integration off: refresh and API calls get 401."""
        self._oauth.set_disabled(self._client_id(client_id), True)

    def enable_integration(self, client_id: str | None = None) -> None:
        self._oauth.set_disabled(self._client_id(client_id), False)

    def block_account(self, blocked: bool = True) -> None:
        """Blocked for abuse: every API call and token request answers 403 with amoCRM's
        HTML page ("Error happen")."""
        self._crm.blocked = blocked

    def move_account(self) -> str:
        """The account's subdomain changes: it is served at a new address from now on.

        The new address is another loopback port, which becomes ``base_url``. At the old one
        the token endpoint answers 404 and the API 401; the API domain (the old address, as
        the tokens' ``api_domain`` says) answers ``GET /oauth2/account/current/subdomain``
        with the new one. Returns the new base URL.
        """
        if self._thread is None or self._stopped:
            raise RuntimeError("move_account needs a running sandbox")
        server = SandboxHTTPServer(self.host, 0)
        server.router = self._router
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="amocrm-sandbox-moved",
            daemon=True,
        )
        thread.start()
        self._moved.append((server, thread))
        self.port = server.server_address[1]
        url_host = _url_host(self.host)
        self.base_url = f"http://{url_host}:{self.port}"
        self._router.move(f"{url_host}:{self.port}")
        return self.base_url

    def fail_next(
        self, n: int, status: int = 503, path_prefix: str = "", *, body: BodyKind | None = None
    ) -> None:
        """The next ``n`` requests whose path starts with ``path_prefix`` answer ``status``.

        The body is an HTML page for 429/502/503/504 (as a front proxy sends) and problem-JSON
        otherwise, unless ``body`` says "html" or "json". /_sandbox/ controls are exempt unless
        ``path_prefix`` names them. Successive calls queue up.
        """
        self._faults.add(n, status, path_prefix, body)

    def delay_next(self, n: int, seconds: float, path_prefix: str = "") -> None:
        """The next ``n`` requests whose path starts with ``path_prefix`` wait ``seconds`` before
        they are handled: a slow server, or (past the client's timeout) a lost answer."""
        self._faults.add_delay(n, seconds, path_prefix)

    def clear_failures(self) -> None:
        self._faults.clear()

    def set_rate_limit(self, rps: float | None) -> None:
        self._limiter.set_rate(rps)

    @property
    def rate_limit(self) -> float | None:
        return self._limiter.rps

    # -- knobs for race tests --------------------------------------------------------------------

    @property
    def refresh_delay(self) -> float:
        """Seconds a successful refresh sleeps after spending the old token, before answering."""
        return self._oauth.refresh_delay

    @refresh_delay.setter
    def refresh_delay(self, seconds: float) -> None:
        self._oauth.refresh_delay = seconds

    @property
    def old_access_dies_on_refresh(self) -> bool:
        """When True, a successful refresh kills the earlier access tokens of that chain."""
        return self._oauth.old_access_dies_on_refresh

    @old_access_dies_on_refresh.setter
    def old_access_dies_on_refresh(self, value: bool) -> None:
        self._oauth.old_access_dies_on_refresh = value

    # -- observation -----------------------------------------------------------------------------

    @property
    def stats(self) -> SandboxStats:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    @property
    def account(self) -> dict[str, Any]:
        """What ``GET /api/v4/account`` serves; tests may edit it."""
        return self._crm.account

    @property
    def leads(self) -> dict[int, dict[str, Any]]:
        """The in-memory deals by id; tests may read or edit them."""
        return self._crm.leads

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("running" if self._thread else "bound")
        return f"<Sandbox {self.base_url} {state}>"


def _url_host(host: str) -> str:
    """The host as it appears in the sandbox's URLs. A wildcard bind is reached via loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
