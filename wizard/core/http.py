"""HTTP plumbing shared by the core and the runtime client: sessions, timeouts, transport errors."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # requests costs ~100 ms to import; the consent URL and the GUI's first
    import requests  # pages must not pay for it, so it is imported where a request is made
    from urllib3.util.retry import Retry

from wizard import __version__
from wizard.core.errors import NetworkError, TLSError, TransportError
from wizard.core.i18n import _

#: (connect, read) seconds. Connecting is quick or hopeless; amoCRM answers in well under 20 s.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)
USER_AGENT = f"amocrm-wizard/{__version__}"


#: Seconds a command keeps retrying amoCRM's rate limit (429) and idempotent 5xx answers.
#: Counted in time, not attempts: on a busy machine a count runs out in a few seconds.
COMMAND_RETRY_BUDGET = 30.0
#: Methods resent after a 5xx: a POST or PATCH may have been carried out before the error.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def new_session(retry_budget: float = COMMAND_RETRY_BUDGET) -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # TLS verification is never switched off, whatever the environment says.
    session.verify = True
    session.trust_env = True
    mount_retries(session, retry_budget)
    return session


def mount_retries(
    session: requests.Session,
    budget: float,
    *,
    max_retries: int | None = None,
    backoff: float = 0.25,
    max_backoff: float = 8.0,
    pool_size: int = 10,
) -> None:
    """urllib3's ``Retry`` on the session's adapters, bounded by ``budget`` seconds."""
    from requests.adapters import HTTPAdapter

    retry = time_bound_retry(budget, max_retries=max_retries, backoff=backoff, max_backoff=max_backoff)
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size))


def time_bound_retry(
    budget: float, *, max_retries: int | None = None, backoff: float = 0.25, max_backoff: float = 8.0
) -> Retry:
    """A ``Retry`` that gives up when ``budget`` seconds have passed since the first refusal."""
    from urllib3.util.retry import Retry

    class TimeBoundRetry(Retry):
        # urllib3 counts attempts; amoCRM sends no Retry-After, and how many attempts fit in
        # its 7-per-second limit depends on how busy the machine is, so the bound is time.
        # Subclassed rather than replaced: the adapter, body rewinding, the final answer
        # handed back when retries run out (raise_on_status=False) all stay urllib3's.

        def __init__(self, *args: Any, started: float | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.started = started

        def new(self, **kwargs: Any) -> TimeBoundRetry:
            kwargs.setdefault("started", time.monotonic() if self.started is None else self.started)
            return super().new(**kwargs)

        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            # A 429 was not carried out, so any method may be resent; a 5xx only when resending
            # cannot do a thing twice. (urllib3's allowed_methods cannot say "429 for all".)
            if status_code == 429:
                return True
            return status_code in RETRY_STATUSES and method.upper() in IDEMPOTENT

        def is_exhausted(self) -> bool:
            return super().is_exhausted() or self._remaining() <= 0

        def get_backoff_time(self) -> float:
            # "Full jitter": a crowd of processes refused together must not return together.
            cap = min(self.backoff_max, self.backoff_factor * 2 ** max(len(self.history) - 1, 0))
            return random.uniform(0, cap)

        def sleep(self, response: Any = None) -> None:
            wait = self.get_backoff_time()
            after = self.get_retry_after(response) if response is not None else None
            if after:
                wait = min(after, self.backoff_max) + random.uniform(0, self.backoff_factor)
            time.sleep(max(0.0, min(wait, self._remaining())))

        def _remaining(self) -> float:
            return budget if self.started is None else budget - (time.monotonic() - self.started)

    return TimeBoundRetry(
        total=None,
        connect=0,
        read=False,  # re-raise a read timeout as itself: a resent POST might act twice
        other=0,
        redirect=0,
        status=max_retries,
        backoff_factor=backoff,
        backoff_max=max_backoff,
        raise_on_status=False,
        raise_on_redirect=False,
        respect_retry_after_header=True,
    )


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> requests.Response:
    """One request, with requests' exceptions turned into the wizard's own."""
    import requests

    try:
        return session.request(method, url, timeout=timeout, verify=True, **kwargs)
    except requests.exceptions.RequestException as exc:
        raise transport_error(exc, url) from exc


def transport_error(exc: requests.exceptions.RequestException, url: str) -> TransportError:
    """The plain-words error for a request that never got an answer."""
    import requests

    host = urlsplit(url).netloc or url
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSError(
            _("The secure connection to {host} could not be verified.", host=host),
            _(
                "Check the computer's date and time, and whether a proxy or antivirus intercepts "
                "https; then try again."
            ),
            detail=type(exc).__name__,
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkError(
            _("{host} did not answer in time.", host=host),
            _("Try again in a minute."),
            detail=type(exc).__name__,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return NetworkError(
            _("{host} did not answer in time.", host=host),
            _("Try again in a minute."),
            detail=type(exc).__name__,
            request_sent=True,
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        if request_was_sent(exc):
            return NetworkError(
                _("The connection to {host} broke before the answer arrived.", host=host),
                _("Check the internet connection, then try again."),
                detail=type(exc).__name__,
                request_sent=True,
            )
        return NetworkError(
            _("Could not connect to {host}.", host=host),
            _("Check the internet connection and that the account address is right, then try again."),
            detail=type(exc).__name__,
        )
    return TransportError(
        _("The request to {host} failed.", host=host),
        _("Check the internet connection, then try again."),
        detail=type(exc).__name__,
    )


def request_was_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """Did the request leave this machine before the connection failed?

    Only a failure to open the connection (refused, unresolvable, connect timeout) proves it
    did not; anything later (the server hung up, the answer broke off) may come after amoCRM
    acted on it, which matters for a grant: a refresh token or a code works once.
    """
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # ConnectTimeoutError covers NewConnectionError (refused) and NameResolutionError as well.
    return not isinstance(reason, ConnectTimeoutError)
