"""A ``requests.Session`` for amoCRM: relative URLs, refreshing auth, polite retries.

amoCRM allows 7 requests a second per integration and answers 429 (with a body that
is not JSON, and no ``Retry-After``) past it; those are retried with exponential backoff
and full jitter for up to ``retry_budget`` seconds, as are 5xx answers to idempotent
methods (urllib3's ``Retry`` on the mounted adapters: ``wizard.core.http``). Anything else
is returned as requests would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests

from wizard.core import oauth
from wizard.core.http import (
    COMMAND_RETRY_BUDGET,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    mount_retries,
    new_session,
    transport_error,
)
from wizard.runtime.auth import AmoCRMAuth
from wizard.runtime.source import DEFAULT_MARGIN, RotationHook, TokenSource
from wizard.targets.base import TokenTarget


class AmoCRMClient(requests.Session):
    def __init__(
        self,
        target: TokenTarget,
        *,
        margin: timedelta = DEFAULT_MARGIN,
        on_tokens_rotated: RotationHook | None = None,
        retry_budget: float = COMMAND_RETRY_BUDGET,
        max_retries: int | None = None,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        pool_size: int = 32,
    ) -> None:
        """``retry_budget``: seconds to keep retrying 429 and idempotent 5xx answers;
        ``max_retries`` caps the number of those retries as well (None: time alone)."""
        super().__init__()
        # Backends call amoCRM from many threads at once; requests' default pool of 10
        # would open and throw away a connection for every thread past the tenth.
        mount_retries(
            self,
            retry_budget,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
            pool_size=pool_size,
        )
        self.headers["User-Agent"] = USER_AGENT
        self.verify = True
        # Refresh grants go through a session of their own: it must not carry this one's auth.
        self._grant_session = new_session(retry_budget)
        self.source = TokenSource(
            target, margin=margin, session=self._grant_session, on_tokens_rotated=on_tokens_rotated
        )
        self.auth = AmoCRMAuth(self.source)
        self.timeout = timeout
        #: Retries taken for 429/5xx, for callers that want to report them.
        self.retries_taken = 0

    @property
    def base_url(self) -> str:
        return self.source.connection.base_url

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", self.timeout)
        kwargs["verify"] = True
        response = super().request(method, url, *args, **kwargs)
        for answer in (*response.history, response):
            retries = getattr(answer.raw, "retries", None)
            self.retries_taken += len(retries.history) if retries is not None else 0
        return response

    def close(self) -> None:
        super().close()
        self._grant_session.close()

    def account(self) -> dict[str, Any]:
        """``GET /api/v4/account``, raising the wizard's typed errors on failure."""
        try:
            response = self.get(oauth.ACCOUNT_PATH)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, self.base_url) from exc
        return oauth.read_account(response)
