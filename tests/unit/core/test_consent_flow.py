"""The consent page's state, driven without a browser: the navigations and load events a web
view would report, with amoCRM's real answers from the sandbox over HTTP."""

from __future__ import annotations

import re

import pytest
import requests

from wizard.core import consent
from wizard.core import errors as e
from wizard.core.account import parse_account
from wizard.core.consent_flow import FRESH_FOR, ConsentFlow, Details, Load, LoadEvent, Phase
from wizard.core.navigation import Kind, NavigationRequest, Verdict
from wizard.sandbox import Sandbox

REGISTERED = "https://backend.example/amocrm/callback"
TYPO = "https://backend.example/amocrm/callbak"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _details(sb: Sandbox, redirect_uri: str | None = None, client_id: str | None = None) -> Details:
    it = sb.integration
    return Details(
        parse_account(sb.base_url), client_id or it.client_id, redirect_uri or it.redirect_uri, "en"
    )


def _answer(flow: ConsentFlow, decision: str = "allow") -> str:
    """What the consent page at ``flow.url`` sends the browser to when a button is pressed."""
    page = requests.get(flow.url, timeout=5)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields["decision"] = decision
    base = flow.url.split("/oauth?")[0]
    reply = requests.post(f"{base}/oauth/decide", data=fields, allow_redirects=False, timeout=5)
    assert reply.status_code == 302
    return str(reply.headers["Location"])


def _go(flow: ConsentFlow, url: str, *, main: bool = True, kind: Kind = Kind.REDIRECT) -> Verdict:
    return flow.navigate(NavigationRequest(url, main, kind))


def _shown(flow: ConsentFlow, details: Details) -> None:
    url = flow.open(details)
    assert url == flow.url and _go(flow, url, kind=Kind.TYPED) is Verdict.FOLLOW
    flow.loaded(LoadEvent(Load.STARTED))
    flow.loaded(LoadEvent(Load.SUCCEEDED))
    assert flow.phase is Phase.SHOWN


def test_a_page_asked_for_while_the_engine_warms_up_is_loaded_after_it(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    assert flow.warm_up() == "about:blank" and flow.phase is Phase.WARMING_UP
    assert _go(flow, "about:blank", kind=Kind.TYPED) is Verdict.FOLLOW
    assert _go(flow, "https://www.amocrm.ru/", kind=Kind.TYPED) is Verdict.BLOCK  # nothing asked yet
    assert flow.open(_details(sandbox)) is None  # waits for the empty page
    assert flow.phase is Phase.WARMING_UP and "state=" in flow.url
    assert flow.loaded(LoadEvent(Load.STARTED)) is None
    assert flow.loaded(LoadEvent(Load.SUCCEEDED)) == flow.url
    assert flow.phase is Phase.LOADING
    assert flow.warm_up() is None  # never twice


def test_a_warm_up_with_nothing_asked_ends_idle() -> None:
    flow = ConsentFlow()
    flow.warm_up()
    assert flow.loaded(LoadEvent(Load.SUCCEEDED)) is None and flow.phase is Phase.IDLE


def test_loaded_then_fresh_for_the_same_details_only_and_only_for_a_while(sandbox: Sandbox) -> None:
    clock = Clock()
    flow = ConsentFlow(clock)
    details = _details(sandbox)
    _shown(flow, details)
    assert flow.is_fresh_for(details)
    assert not flow.is_fresh_for(_details(sandbox, redirect_uri=TYPO))
    clock.now += FRESH_FOR + 1
    assert not flow.is_fresh_for(details)


def test_each_opening_has_a_new_state(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    flow.open(_details(sandbox))
    first = flow.state
    flow.open(_details(sandbox))
    assert flow.state != first and len(flow.state) >= 43 and f"state={flow.state}" in flow.url


@pytest.mark.parametrize(
    ("event", "status"), [(LoadEvent(Load.FAILED, 400), 400), (LoadEvent(Load.FAILED), 0)]
)
def test_a_page_that_did_not_load_says_whether_amocrm_answered(
    sandbox: Sandbox, event: LoadEvent, status: int
) -> None:
    flow = ConsentFlow()
    flow.open(_details(sandbox))
    flow.loaded(LoadEvent(Load.STARTED))
    flow.loaded(event)
    assert flow.phase is Phase.FAILED and flow.http_status == status
    assert not flow.is_fresh_for(_details(sandbox))
    flow.open(_details(sandbox))  # try again
    assert flow.phase is Phase.LOADING and flow.http_status == 0


def test_a_link_outside_amocrm_is_kept_out_and_the_page_stays(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    _shown(flow, _details(sandbox))
    assert _go(flow, "https://help.example/faq", kind=Kind.LINK) is Verdict.EXTERNAL
    assert flow.kept_out == "https://help.example/faq"
    flow.loaded(LoadEvent(Load.STARTED))
    flow.loaded(LoadEvent(Load.STOPPED))  # Chromium reports the refused navigation so
    assert flow.phase is Phase.SHOWN and flow.kept_out
    assert _go(flow, "https://tracker.example/pixel", main=False) is Verdict.BLOCK


def test_a_stopped_load_before_anything_was_shown_is_a_failure(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    flow.open(_details(sandbox))
    flow.loaded(LoadEvent(Load.STARTED))
    flow.loaded(LoadEvent(Load.STOPPED))
    assert flow.phase is Phase.FAILED


def test_allow_on_the_redirect_uri_takes_the_code_before_anything_loads(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    _shown(flow, _details(sandbox))
    location = _answer(flow)
    assert _go(flow, location) is Verdict.CAPTURE
    assert flow.phase is Phase.ALLOWED and flow.callback is not None
    assert location.split("code=")[1].startswith(flow.callback.code)
    # The cancelled navigation's own events come after: they change nothing.
    flow.loaded(LoadEvent(Load.STOPPED))
    assert flow.phase is Phase.ALLOWED
    assert _go(flow, location) is Verdict.BLOCK  # taken once
    assert not flow.is_fresh_for(_details(sandbox))


def test_deny_and_a_forged_state_are_refused(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    _shown(flow, _details(sandbox))
    assert _go(flow, _answer(flow, "deny")) is Verdict.CAPTURE
    assert flow.phase is Phase.REFUSED and isinstance(flow.error, e.AccessDeniedError)
    _shown(flow, _details(sandbox))
    forged = f"{sandbox.integration.redirect_uri}?code={sandbox.issue_code()}&state=forged"
    assert _go(flow, forged) is Verdict.CAPTURE
    assert flow.phase is Phase.REFUSED and isinstance(flow.error, e.StateMismatchError)


def test_an_answer_sent_elsewhere_waits_for_the_admin(sandbox: Sandbox) -> None:
    """The Redirect URI typed with a typo: amoCRM answers on the registered one."""
    integration = sandbox.add_integration(redirect_uri=REGISTERED)
    flow = ConsentFlow()
    _shown(flow, _details(sandbox, redirect_uri=TYPO, client_id=integration.client_id))
    location = _answer(flow)
    assert location.startswith(REGISTERED + "?")
    assert _go(flow, location) is Verdict.CAPTURE  # never loaded, never offered elsewhere
    assert flow.phase is Phase.MISDIRECTED and flow.registered == REGISTERED
    assert flow.kept_out == "" and flow.callback is not None
    callback = flow.agree()
    assert flow.phase is Phase.ALLOWED and flow.details is not None
    assert flow.details.redirect_uri == REGISTERED and callback.code


def test_a_denial_sent_elsewhere_is_a_denial(sandbox: Sandbox) -> None:
    integration = sandbox.add_integration(redirect_uri=REGISTERED)
    flow = ConsentFlow()
    _shown(flow, _details(sandbox, redirect_uri=TYPO, client_id=integration.client_id))
    assert _go(flow, _answer(flow, "deny")) is Verdict.CAPTURE
    assert flow.phase is Phase.REFUSED and isinstance(flow.error, e.AccessDeniedError)


def test_only_our_own_answer_is_taken(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    _shown(flow, _details(sandbox, redirect_uri=TYPO))
    assert _go(flow, f"{REGISTERED}?code=abc&state=someone-else") is Verdict.EXTERNAL
    assert _go(flow, f"{REGISTERED}?state={flow.state}") is Verdict.EXTERNAL  # neither code nor error
    assert _go(flow, f"{REGISTERED}?code=abc&state={flow.state}", main=False) is Verdict.BLOCK
    assert flow.phase is Phase.SHOWN
    assert _go(flow, flow.url, kind=Kind.RELOAD) is Verdict.FOLLOW  # the consent page itself


def test_leaving_forgets_everything_and_coming_back_starts_afresh(sandbox: Sandbox) -> None:
    flow = ConsentFlow()
    _shown(flow, _details(sandbox))
    _go(flow, _answer(flow))
    assert flow.phase is Phase.ALLOWED
    flow.open(_details(sandbox))  # back onto the page from the exchange
    assert flow.phase is Phase.LOADING and flow.callback is None
    flow.leave()
    assert flow.phase is Phase.IDLE and flow.state == "" and flow.details is None
    assert _go(flow, "about:blank", kind=Kind.TYPED) is Verdict.FOLLOW
    warming = ConsentFlow()
    warming.warm_up()
    warming.leave()
    assert warming.phase is Phase.WARMING_UP  # the empty page is still loading


def test_the_registered_address_is_the_answer_without_what_amocrm_added() -> None:
    answer = f"{REGISTERED}?code=c&state=s&referer=a.amocrm.ru&platform=1&client_id=x"
    assert consent.registered_address(answer) == REGISTERED
    assert consent.registered_address("https://b.example/cb?tenant=7&code=c&state=s") == (
        "https://b.example/cb?tenant=7"
    )
    assert consent.carries_answer("https://b.example/cb?error=access_denied&state=s", "s")
    assert not consent.carries_answer("https://b.example/cb?code=c&state=s", "")
