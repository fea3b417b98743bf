"""A ``requests.Session`` for amoCRM: relative URLs, refreshing auth, polite retries.

amoCRM allows 7 requests a second per integration and answers 429 (with a body that
is not JSON) past it; those are retried with exponential backoff and full jitter, as
are 5xx answers to idempotent methods. Anything else is returned as requests would.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from wizard.core import oauth
from wizard.core.http import DEFAULT_TIMEOUT, USER_AGENT, transport_error
from wizard.runtime.auth import AmoCRMAuth
from wizard.runtime.source import DEFAULT_MARGIN, RotationHook, TokenSource
from wizard.targets.base import TokenTarget

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class AmoCRMClient(requests.Session):
    def __init__(
        self,
        target: TokenTarget,
        *,
        margin: timedelta = DEFAULT_MARGIN,
        on_tokens_rotated: RotationHook | None = None,
        max_retries: int = 5,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        pool_size: int = 32,
    ) -> None:
        super().__init__()
        # Backends call amoCRM from many threads at once; requests' default pool of 10
        # would open and throw away a connection for every thread past the tenth.
        for prefix in ("https://", "http://"):
            self.mount(prefix, HTTPAdapter(pool_connections=4, pool_maxsize=pool_size))
        self.headers["User-Agent"] = USER_AGENT
        self.verify = True
        # Refresh grants go through a session of their own: it must not carry this one's auth.
        self.source = TokenSource(target, margin=margin, on_tokens_rotated=on_tokens_rotated)
        self.auth = AmoCRMAuth(self.source)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        #: Sleeps taken for 429/5xx, for callers that want to report them.
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
        attempt = 0
        while True:
            response = super().request(method, url, *args, **kwargs)
            if attempt >= self.max_retries or not self._should_retry(method, response):
                return response
            delay = self._delay(attempt, response)
            response.close()
            self.retries_taken += 1
            time.sleep(delay)
            attempt += 1

    def _should_retry(self, method: str, response: requests.Response) -> bool:
        if response.status_code == 429:
            return True
        return response.status_code >= 500 and method.upper() in IDEMPOTENT

    def _delay(self, attempt: int, response: requests.Response) -> float:
        retry_after = response.headers.get("Retry-After", "")
        cap = min(self.max_backoff, self.backoff * (2**attempt))
        if retry_after.isdigit():
            # Honour the server, plus a little jitter so a crowd does not return in step.
            return min(self.max_backoff, float(retry_after)) + random.uniform(0, self.backoff)
        return random.uniform(0, cap)  # "full jitter"

    def account(self) -> dict[str, Any]:
        """``GET /api/v4/account``, raising the wizard's typed errors on failure."""
        try:
            response = self.get("/api/v4/account")
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, self.base_url) from exc
        if response.status_code != 200:
            raise oauth.api_error(response)
        data: dict[str, Any] = response.json()
        return data
