"""The consent page's state: one value, changed only by named transitions, without Qt.

The wizard's consent page (:mod:`wizard.ui.consent`) feeds this what its web view saw, as
plain values: every navigation the view asks about (:meth:`ConsentFlow.navigate`, which
also answers whether to follow it) and every change in loading (:meth:`ConsentFlow.loaded`).
The page then shows what the flow holds. Nothing here depends on the order in which Qt
delivers its signals: each transition says what it does in every phase.

The phases, in the order an admin meets them::

    IDLE ─warm_up→ WARMING_UP ─(empty page up)→ IDLE
      └─open→ LOADING ─succeeded→ SHOWN ─(amoCRM answers)→ ALLOWED | MISDIRECTED | REFUSED
                     └─failed→ FAILED ─open→ LOADING
    MISDIRECTED ─agree→ ALLOWED;  any phase ─leave→ IDLE;  any phase ─open→ LOADING
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from wizard.core import consent
from wizard.core.account import Account
from wizard.core.errors import WizardError
from wizard.core.navigation import NavigationRequest, Verdict, decide

#: A consent page loaded ahead of time is used only while it is this fresh (seconds).
FRESH_FOR = 300.0


class Phase(enum.Enum):
    IDLE = "idle"  # nothing of amoCRM's asked for: before the page, or after leaving it
    WARMING_UP = "warming_up"  # an empty page starts the web engine; a consent page may wait
    LOADING = "loading"  # amoCRM's page is on its way
    SHOWN = "shown"  # amoCRM's page is up: the admin acts in it
    FAILED = "failed"  # it did not load; ``http_status`` says whether amoCRM answered
    REFUSED = "refused"  # amoCRM answered, but the answer cannot be used (``error`` says why)
    ALLOWED = "allowed"  # amoCRM answered on the Redirect URI: ``callback`` holds the code
    MISDIRECTED = "misdirected"  # …on another address (``registered``): the admin decides


#: The phases in which amoCRM's answer is in: later load events are of the cancelled navigation.
ANSWERED = frozenset({Phase.REFUSED, Phase.ALLOWED, Phase.MISDIRECTED})


class Load(enum.Enum):
    """A Qt-free mirror of ``QWebEngineLoadingInfo.LoadStatus``."""

    STARTED = "started"
    SUCCEEDED = "succeeded"
    STOPPED = "stopped"  # a navigation that was refused or stopped: the view keeps what it showed
    FAILED = "failed"


@dataclass(frozen=True)
class LoadEvent:
    status: Load
    http_status: int = 0  # the HTTP status of an error page amoCRM sent, else 0


@dataclass(frozen=True)
class Details:
    """What the consent page is loaded for."""

    account: Account
    client_id: str
    redirect_uri: str
    language: str


def _blank_only(request: NavigationRequest) -> Verdict:
    return Verdict.FOLLOW if request.url == "about:blank" else Verdict.BLOCK


class ConsentFlow:
    details: Details | None
    state: str
    url: str  # the consent page's address, with ``state`` in it
    opened_at: float
    http_status: int
    kept_out: str  # the last link kept out of the view (neither amoCRM nor its answer)
    callback: consent.Callback | None
    error: WizardError | None
    registered: str  # where amoCRM sent its answer, when that is not the Redirect URI

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.phase = Phase.IDLE
        self._forget()

    def _forget(self, details: Details | None = None, state: str = "", url: str = "") -> None:
        self.details, self.state, self.url = details, state, url
        self.opened_at = self._clock() if details else 0.0
        self.http_status = 0
        self.kept_out = ""
        self.callback, self.error, self.registered = None, None, ""
        self._settled = Phase.FAILED  # what the view shows again when a navigation is stopped

    # --- transitions the page asks for ------------------------------------------------

    def warm_up(self) -> str | None:
        """Start the web engine with an empty page; the address to load, if any."""
        if self.phase is not Phase.IDLE or self.details is not None:
            return None
        self.phase = Phase.WARMING_UP
        return "about:blank"

    def open(self, details: Details) -> str | None:
        """A fresh state and the consent page for ``details``: the address to load now, or
        None while the empty page is still starting the engine (it is loaded after that:
        asked for during that load, Chromium would report only one of the two)."""
        state = consent.new_state()
        self._forget(details, state, consent.consent_url(details.account, details.client_id, state))
        if self.phase is Phase.WARMING_UP:
            return None
        self.phase = Phase.LOADING
        return self.url

    def is_fresh_for(self, details: Details) -> bool:
        """Is the page loaded (or loading) for exactly ``details``, recently, and unused?"""
        return (
            self.details == details
            and self.phase in (Phase.WARMING_UP, Phase.LOADING, Phase.SHOWN)
            and self._clock() - self.opened_at < FRESH_FOR
        )

    def agree(self) -> consent.Callback:
        """The admin takes the address amoCRM answered on as the Redirect URI."""
        assert self.phase is Phase.MISDIRECTED and self.details is not None and self.callback
        self.details = replace(self.details, redirect_uri=self.registered)
        self.phase = Phase.ALLOWED
        return self.callback

    def leave(self) -> None:
        """The admin left the page: whatever it held is dropped (an empty page that is still
        starting the engine goes on loading)."""
        self._forget()
        if self.phase is not Phase.WARMING_UP:
            self.phase = Phase.IDLE

    # --- what the web view saw --------------------------------------------------------

    def navigate(self, request: NavigationRequest) -> Verdict:
        """Whether the view may go to ``request``; amoCRM's answer is taken here, before
        anything is loaded (``Verdict.CAPTURE``: the navigation is cancelled)."""
        if self.details is None or self.phase is Phase.WARMING_UP:
            return _blank_only(request)
        if self.phase in ANSWERED:
            return Verdict.BLOCK
        details = self.details
        if request.is_main_frame and self._is_answer(request.url):
            self._take_answer(request.url)
            return Verdict.CAPTURE
        verdict = decide(request, account=details.account, redirect_uri=details.redirect_uri)
        if verdict is Verdict.CAPTURE:  # the Redirect URI, but not with our state: refused
            self._take_answer(request.url)
        elif verdict is Verdict.EXTERNAL:
            self.kept_out = request.url
        return verdict

    def loaded(self, event: LoadEvent) -> str | None:
        """A change in loading; the address to load next, if any."""
        if self.phase is Phase.WARMING_UP:
            if event.status is Load.STARTED:
                return None
            if self.details is None:
                self.phase = Phase.IDLE
                return None
            self.phase = Phase.LOADING
            return self.url
        if self.phase is Phase.IDLE or self.phase in ANSWERED:
            return None
        if event.status is Load.STARTED:
            self.phase = Phase.LOADING
        elif event.status is Load.SUCCEEDED:
            self.phase = self._settled = Phase.SHOWN
            self.kept_out = ""
        elif event.status is Load.STOPPED:
            self.phase = self._settled
        else:
            self.phase = self._settled = Phase.FAILED
            self.http_status = event.http_status
        return None

    # --- amoCRM's answer ----------------------------------------------------------------

    def _is_answer(self, url: str) -> bool:
        parts, page = urlsplit(url), urlsplit(self.url)
        if (parts.scheme, parts.netloc, parts.path) == (page.scheme, page.netloc, page.path):
            return False  # the consent page itself
        return consent.carries_answer(url, self.state)

    def _take_answer(self, url: str) -> None:
        assert self.details is not None
        try:
            self.callback = consent.parse_callback(url, self.details.account, self.state)
        except WizardError as error:  # denied, forged, or for another account
            self.phase, self.error = Phase.REFUSED, error
            return
        if consent.is_redirect(url, self.details.redirect_uri):
            self.phase = Phase.ALLOWED
        else:
            self.phase, self.registered = Phase.MISDIRECTED, consent.registered_address(url)
