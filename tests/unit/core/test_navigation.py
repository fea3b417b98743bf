"""What the consent view may load: the Qt-free decision on a plain navigation value."""

from __future__ import annotations

import pytest

from wizard.core.account import parse_account
from wizard.core.navigation import Kind, NavigationRequest, Verdict, decide

REDIRECT = "https://example.com/amocrm/callback"


def _decide(
    url: str, account: str = "mycompany.amocrm.ru", main: bool = True, kind: Kind = Kind.LINK
) -> Verdict:
    return decide(NavigationRequest(url, main, kind), account=parse_account(account), redirect_uri=REDIRECT)


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://www.amocrm.ru/oauth?client_id=x&state=y", Verdict.FOLLOW),
        ("https://mycompany.amocrm.ru/oauth?client_id=x", Verdict.FOLLOW),
        ("https://www.kommo.com/oauth", Verdict.FOLLOW),
        ("https://other.amocrm.ru/", Verdict.FOLLOW),  # amoCRM's own hosts (login, account picker)
        (REDIRECT + "?code=abc&state=s", Verdict.CAPTURE),
        (REDIRECT + "/?code=abc&state=s", Verdict.CAPTURE),
        ("https://evil.example/phish", Verdict.EXTERNAL),
        ("https://amocrm.ru.evil.example/", Verdict.EXTERNAL),
        ("http://mycompany.amocrm.ru/", Verdict.EXTERNAL),  # plain http is not amoCRM
        ("about:blank", Verdict.FOLLOW),
        ("javascript:alert(1)", Verdict.BLOCK),
    ],
)
def test_navigation_decisions(url: str, verdict: Verdict) -> None:
    assert _decide(url) is verdict


def test_sub_frames_outside_amocrm_are_blocked_without_asking() -> None:
    assert _decide("https://tracker.example/pixel", main=False) is Verdict.BLOCK
    assert _decide(REDIRECT + "?code=x", main=False) is Verdict.BLOCK


def test_a_loopback_account_allows_only_its_own_host_and_port() -> None:
    assert _decide("http://127.0.0.1:8765/oauth", account="http://127.0.0.1:8765") is Verdict.FOLLOW
    assert _decide("http://127.0.0.1:9999/oauth", account="http://127.0.0.1:8765") is Verdict.EXTERNAL
