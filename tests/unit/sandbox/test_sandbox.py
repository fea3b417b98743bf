"""The sandbox over real HTTP on loopback: every behaviour the wizard and its tests rely on."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from wizard.sandbox import Sandbox, SandboxIntegration

DAY = 86400
PROBLEM_JSON = "application/problem+json"
OAUTH_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
REPO_ROOT = Path(__file__).resolve().parents[3]


# -- helpers ---------------------------------------------------------------------------------------


def token_request(
    sb: Sandbox, integration: SandboxIntegration | None = None, /, **fields: str | None
) -> requests.Response:
    """POST /oauth2/access_token with the integration's credentials; ``None`` drops a field."""
    integration = integration or sb.integration
    body: dict[str, str | None] = {
        "client_id": integration.client_id,
        "client_secret": integration.client_secret,
        "redirect_uri": integration.redirect_uri,
        **fields,
    }
    payload = {key: value for key, value in body.items() if value is not None}
    return requests.post(f"{sb.base_url}/oauth2/access_token", json=payload, timeout=10)


def exchange(sb: Sandbox, integration: SandboxIntegration | None = None) -> dict[str, Any]:
    code = sb.issue_code(integration.client_id if integration else None)
    response = token_request(sb, integration, grant_type="authorization_code", code=code)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def refresh(
    sb: Sandbox, refresh_token: str, integration: SandboxIntegration | None = None
) -> requests.Response:
    return token_request(sb, integration, grant_type="refresh_token", refresh_token=refresh_token)


def api_get(sb: Sandbox, access_token: str | None, path: str = "/api/v4/account") -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return requests.get(sb.base_url + path, headers=headers, timeout=10)


def api_patch(sb: Sandbox, access_token: str, path: str, body: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.patch(sb.base_url + path, json=body, headers=headers, timeout=10)


def decide(sb: Sandbox, decision: str, state: str = "st4te", client_id: str | None = None) -> str:
    data = {"client_id": client_id or sb.integration.client_id, "state": state, "decision": decision}
    response = requests.post(f"{sb.base_url}/oauth/decide", data=data, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return response.headers["Location"]


def assert_oauth_problem(response: requests.Response, status: int, hint: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body == {
        "hint": hint,
        "title": "Некорректный запрос",
        "type": OAUTH_TYPE,
        "status": status,
        "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
    }


def assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.json() == {
        "title": "Unauthorized",
        "type": "https://httpstatus.es/401",
        "status": 401,
        "detail": "Неверный логин или пароль",
    }


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- construction ----------------------------------------------------------------------------------


def test_new_sandbox_has_credentials_and_urls() -> None:
    with Sandbox() as sb:
        assert sb.base_url == f"http://127.0.0.1:{sb.port}"
        assert sb.port > 0
        assert len(sb.integration.client_id) == 36 and sb.integration.client_id.count("-") == 4
        assert len(sb.integration.client_secret) >= 60
        assert sb.integration.redirect_uri == f"{sb.base_url}/callback"
        other = sb.add_integration()
        assert other.client_id != sb.integration.client_id
        assert other.client_secret != sb.integration.client_secret


def test_unknown_client_id_in_python_api_fails_loudly(sandbox: Sandbox) -> None:
    with pytest.raises(KeyError):
        sandbox.issue_code("not-a-client")


# -- consent ---------------------------------------------------------------------------------------


def test_consent_page_has_allow_and_deny_and_no_external_resources(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.consent_url("abc"), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert '<button id="allow"' in page and '<button id="deny"' in page
    assert 'action="/oauth/decide"' in page
    assert "Sandbox integration" in page and "Sandbox Company" in page
    assert 'value="abc"' in page  # the state travels with the form
    assert "src=" not in page and "<link" not in page and "@import" not in page


def test_consent_page_tolerates_extra_parameters(sandbox: Sandbox) -> None:
    params = {
        "client_id": sandbox.integration.client_id,
        "state": "s",
        "mode": "post_message",
        "redirect_uri": "https://elsewhere.example/cb",
        "response_type": "code",
        "approval_prompt": "auto",
    }
    response = requests.get(f"{sandbox.base_url}/oauth", params=params, timeout=10)
    assert response.status_code == 200
    assert 'id="allow"' in response.text


@pytest.mark.parametrize("query", ["", "?client_id=00000000-0000-4000-8000-000000000000&state=s"])
def test_consent_page_without_known_client_is_an_html_error(sandbox: Sandbox, query: str) -> None:
    response = requests.get(f"{sandbox.base_url}/oauth{query}", allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Location" not in response.headers
    assert 'id="allow"' not in response.text


def test_allow_redirects_with_code_state_referer_platform_client_id(sandbox: Sandbox) -> None:
    location = decide(sandbox, "allow", state="my state&x")
    parts = urlsplit(location)
    assert location.startswith(sandbox.integration.redirect_uri + "?")
    query = parse_qs(parts.query)
    assert query["code"][0].startswith("def502")
    assert query["state"] == ["my state&x"]
    assert query["referer"] == [f"127.0.0.1:{sandbox.port}"]
    assert query["platform"] == ["1"]
    assert query["client_id"] == [sandbox.integration.client_id]
    exchanged = token_request(sandbox, grant_type="authorization_code", code=query["code"][0])
    assert exchanged.status_code == 200


def test_allow_appends_to_a_redirect_uri_that_has_a_query(sandbox: Sandbox) -> None:
    integration = sandbox.add_integration(redirect_uri=f"{sandbox.base_url}/callback?app=1")
    location = decide(sandbox, "allow", client_id=integration.client_id)
    assert location.startswith(f"{sandbox.base_url}/callback?app=1&code=def502")


def test_deny_redirects_with_access_denied(sandbox: Sandbox) -> None:
    query = parse_qs(urlsplit(decide(sandbox, "deny", state="s1")).query)
    assert query == {
        "error": ["access_denied"],
        "state": ["s1"],
        "client_id": [sandbox.integration.client_id],
    }


def test_decide_for_unknown_client_is_an_html_error(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.base_url}/oauth/decide",
        data={"client_id": "nope", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_callback_page_shows_the_whole_address(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_url}/callback?code=def502abc&state=s&referer=127.0.0.1%3A1"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert "Copy the whole address from the address bar" in response.text
    assert url.replace("&", "&amp;") in response.text


# -- code exchange ---------------------------------------------------------------------------------


def test_code_exchange_returns_amocrm_shaped_tokens(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    assert set(tokens) == {"token_type", "expires_in", "access_token", "refresh_token", "server_time"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == DAY
    assert tokens["refresh_token"].startswith("def50200")
    assert abs(tokens["server_time"] - sandbox.now()) < 5
    assert sandbox.stats.exchanges == 1


def test_access_token_is_a_jwt_with_amocrm_claims(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256" and header["typ"] == "JWT" and header["jti"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == sandbox.integration.client_id
    assert claims["jti"] == header["jti"]
    assert claims["exp"] - claims["iat"] == DAY and claims["nbf"] == claims["iat"]
    assert isinstance(claims["sub"], str) and claims["sub"] == str(sandbox.account["current_user_id"])
    assert claims["account_id"] == sandbox.account["id"]
    assert claims["grant_type"] == ""
    assert claims["base_domain"] == "amocrm.ru"
    assert claims["api_domain"] == f"127.0.0.1:{sandbox.port}"
    assert claims["version"] == 2
    assert claims["scopes"] == ["crm", "files", "files_delete", "notifications", "push_notifications"]
    assert claims["hash_uuid"]


def test_code_exchange_accepts_a_form_body(sandbox: Sandbox) -> None:
    integration = sandbox.integration
    data = {
        "client_id": integration.client_id,
        "client_secret": integration.client_secret,
        "redirect_uri": integration.redirect_uri,
        "grant_type": "authorization_code",
        "code": sandbox.issue_code(),
    }
    response = requests.post(f"{sandbox.base_url}/oauth2/access_token", data=data, timeout=10)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_token_request_with_a_chunked_body_is_read_whole(sandbox: Sandbox) -> None:
    integration = sandbox.integration
    payload = json.dumps(
        {
            "client_id": integration.client_id,
            "client_secret": integration.client_secret,
            "redirect_uri": integration.redirect_uri,
            "grant_type": "authorization_code",
            "code": sandbox.issue_code(),
        }
    ).encode()

    def chunks() -> Iterator[bytes]:  # a generator makes requests send Transfer-Encoding: chunked
        yield payload[:10]
        yield payload[10:]

    response = requests.post(
        f"{sandbox.base_url}/oauth2/access_token",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("fields", "status", "hint"),
    [
        ({"code": "garbage"}, 400, "Cannot decrypt the authorization code"),
        ({"code": "def50200" + "0" * 64}, 400, "Cannot decrypt the authorization code"),
        ({"client_id": "00000000-0000-4000-8000-000000000000"}, 400, "Check the `client_id` parameter"),
        ({"client_id": None}, 400, "Check the `client_id` parameter"),
        ({"client_secret": None}, 400, "Check the `client_secret` parameter"),
        ({"client_secret": ""}, 400, "Check the `client_secret` parameter"),
        ({"grant_type": None}, 400, "Check the `grant_type` parameter"),
        ({"grant_type": "password"}, 400, "Check the `grant_type` parameter"),
        ({"code": None}, 400, "Check the `code` parameter"),
        ({"redirect_uri": None}, 400, "Check the `redirect_uri` parameter"),
    ],
)
def test_code_exchange_refusals(
    sandbox: Sandbox, fields: dict[str, str | None], status: int, hint: str
) -> None:
    request: dict[str, str | None] = {"grant_type": "authorization_code", "code": sandbox.issue_code()}
    response = token_request(sandbox, **{**request, **fields})
    assert_oauth_problem(response, status, hint)
    assert sandbox.stats.exchanges == 0


@pytest.mark.parametrize("suffix", ["/", "?x=1", "#f", "X"])
def test_redirect_uri_must_match_byte_for_byte(sandbox: Sandbox, suffix: str) -> None:
    response = token_request(
        sandbox,
        grant_type="authorization_code",
        code=sandbox.issue_code(),
        redirect_uri=sandbox.integration.redirect_uri + suffix,
    )
    assert_oauth_problem(response, 400, "Redirect URI is not associated with client")


def test_redirect_uri_https_instead_of_http_is_refused(sandbox: Sandbox) -> None:
    response = token_request(
        sandbox,
        grant_type="authorization_code",
        code=sandbox.issue_code(),
        redirect_uri=sandbox.integration.redirect_uri.replace("http://", "https://"),
    )
    assert_oauth_problem(response, 400, "Redirect URI is not associated with client")


def test_wrong_client_secret_is_401_without_hint(sandbox: Sandbox) -> None:
    response = token_request(
        sandbox, grant_type="authorization_code", code=sandbox.issue_code(), client_secret="wrong"
    )
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert response.json() == {
        "title": "Некорректный клиент",
        "type": OAUTH_TYPE,
        "status": 401,
        "detail": "Авторизация клиента не прошла",
    }


def test_invalid_json_body_is_a_problem_not_a_crash(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.base_url}/oauth2/access_token",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM_JSON


def test_code_is_single_use(sandbox: Sandbox) -> None:
    code = sandbox.issue_code()
    assert token_request(sandbox, grant_type="authorization_code", code=code).status_code == 200
    again = token_request(sandbox, grant_type="authorization_code", code=code)
    assert_oauth_problem(again, 400, "Authorization code has been revoked")
    assert sandbox.stats.exchanges == 1


def test_code_lives_twenty_minutes_by_the_sandbox_clock(sandbox: Sandbox) -> None:
    fresh, stale = sandbox.issue_code(), sandbox.issue_code()
    sandbox.advance(19 * 60)
    assert token_request(sandbox, grant_type="authorization_code", code=fresh).status_code == 200
    sandbox.advance(61)
    expired = token_request(sandbox, grant_type="authorization_code", code=stale)
    assert_oauth_problem(expired, 400, "Authorization code has expired")


def test_code_of_another_integration_is_refused(sandbox: Sandbox) -> None:
    other = sandbox.add_integration()
    code = sandbox.issue_code(other.client_id)
    response = token_request(sandbox, grant_type="authorization_code", code=code)
    assert response.status_code == 400
    assert response.json()["hint"] == "Authorization code was not issued to this client"


def test_clock_refuses_to_go_back(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.advance(-1)


# -- refresh ---------------------------------------------------------------------------------------


def test_refresh_rotates_and_a_spent_token_is_revoked(sandbox: Sandbox) -> None:
    first = exchange(sandbox)
    response = refresh(sandbox, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == DAY

    replay = refresh(sandbox, first["refresh_token"])
    assert_oauth_problem(replay, 401, "Token has been revoked")
    assert refresh(sandbox, second["refresh_token"]).status_code == 200

    stats = sandbox.stats
    assert (stats.refreshes, stats.refresh_attempts, stats.rejected_refresh_replays) == (2, 3, 1)
    assert stats["refreshes"] == 2  # the snapshot reads as a mapping too


def test_refresh_refusals(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    other = sandbox.add_integration()
    assert_oauth_problem(refresh(sandbox, "def50200garbage"), 401, "Cannot decrypt the refresh token")
    assert_oauth_problem(
        refresh(sandbox, tokens["refresh_token"], other), 401, "Token is not linked to client"
    )
    missing = token_request(sandbox, grant_type="refresh_token")
    assert_oauth_problem(missing, 400, "Check the `refresh_token` parameter")
    wrong_uri = token_request(
        sandbox,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        redirect_uri=sandbox.integration.redirect_uri + "/",
    )
    assert_oauth_problem(wrong_uri, 400, "Redirect URI is not associated with client")
    # None of those refusals spent the token.
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


def test_concurrent_refresh_with_one_token_has_exactly_one_winner(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    sandbox.refresh_delay = 0.2  # the winner sleeps after spending: losers arrive meanwhile
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        response = refresh(sandbox, tokens["refresh_token"])
        with lock:
            results.append(response)

    threads = [threading.Thread(target=attempt) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    statuses = sorted(response.status_code for response in results)
    assert statuses == [200] + [401] * (threads_count - 1)
    for response in results:
        if response.status_code == 401:
            assert response.json()["hint"] == "Token has been revoked"
    stats = sandbox.stats
    assert stats.refreshes == 1
    assert stats.refresh_attempts == threads_count
    assert stats.rejected_refresh_replays == threads_count - 1


def test_refresh_delay_holds_the_answer_back(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    sandbox.refresh_delay = 0.3
    started = time.monotonic()
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_refresh_token_lives_ninety_days_from_its_issue(sandbox: Sandbox) -> None:
    first = exchange(sandbox)
    sandbox.advance(89 * DAY)
    response = refresh(sandbox, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    sandbox.advance(90 * DAY + 1)
    assert_oauth_problem(refresh(sandbox, second["refresh_token"]), 401, "Token has been revoked")
    assert sandbox.stats.rejected_refresh_replays == 0  # expired, not replayed


def test_revoke_refresh_tokens_kills_outstanding_ones_only(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    sandbox.revoke_refresh_tokens()
    assert_oauth_problem(refresh(sandbox, tokens["refresh_token"]), 401, "Token has been revoked")
    assert refresh(sandbox, exchange(sandbox)["refresh_token"]).status_code == 200


def test_disabled_integration_cannot_refresh_call_the_api_or_consent(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    other = sandbox.add_integration()
    other_tokens = exchange(sandbox, other)
    sandbox.disable_integration()
    assert_oauth_problem(refresh(sandbox, tokens["refresh_token"]), 401, "Token has been revoked")
    assert_unauthorized(api_get(sandbox, tokens["access_token"]))
    assert requests.get(sandbox.consent_url(), timeout=10).status_code == 400
    assert api_get(sandbox, other_tokens["access_token"]).status_code == 200  # others unaffected


# -- API -------------------------------------------------------------------------------------------


def test_account_answers_with_amocrm_fields(sandbox: Sandbox) -> None:
    response = api_get(sandbox, exchange(sandbox)["access_token"])
    assert response.status_code == 200
    account = response.json()
    for key in (
        "id",
        "current_user_id",
        "customers_mode",
        "is_unsorted_on",
        "mobile_feature_version",
        "is_loss_reason_enabled",
        "is_helpbot_enabled",
        "is_technical_account",
        "contact_name_display_order",
    ):
        assert key in account
    assert account["name"] == "Sandbox Company" and account["subdomain"] == "sandbox"
    assert (account["country"], account["currency"], account["currency_symbol"]) == ("RU", "RUB", "₽")
    assert account["_links"]["self"]["href"] == f"{sandbox.base_url}/api/v4/account"
    assert sandbox.stats.api_calls == 1


def test_account_serves_what_tests_put_in_sb_account(sandbox: Sandbox) -> None:
    sandbox.account["name"] = "Renamed Ltd"
    assert api_get(sandbox, exchange(sandbox)["access_token"]).json()["name"] == "Renamed Ltd"


@pytest.mark.parametrize("token", [None, "", "garbage", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_account_refuses_bad_tokens(sandbox: Sandbox, token: str | None) -> None:
    assert_unauthorized(api_get(sandbox, token))


def test_account_refuses_a_token_signed_by_another_sandbox(sandbox: Sandbox) -> None:
    with Sandbox() as elsewhere:
        foreign = exchange(elsewhere)["access_token"]
    assert_unauthorized(api_get(sandbox, foreign))


def test_account_refuses_other_authorization_schemes(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    response = requests.get(
        f"{sandbox.base_url}/api/v4/account", headers={"Authorization": f"Basic {token}"}, timeout=10
    )
    assert_unauthorized(response)


def test_access_token_dies_after_24_hours(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    sandbox.advance(DAY - 60)
    assert api_get(sandbox, token).status_code == 200
    sandbox.advance(61)
    assert_unauthorized(api_get(sandbox, token))


def test_expire_access_tokens_kills_outstanding_tokens_only(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    sandbox.expire_access_tokens()
    assert_unauthorized(api_get(sandbox, tokens["access_token"]))
    renewed = refresh(sandbox, tokens["refresh_token"]).json()
    assert api_get(sandbox, renewed["access_token"]).status_code == 200


def test_old_access_token_survives_refresh_by_default(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert api_get(sandbox, tokens["access_token"]).status_code == 200


def test_old_access_token_dies_on_refresh_when_asked(sandbox: Sandbox) -> None:
    sandbox.old_access_dies_on_refresh = True
    unrelated = exchange(sandbox)  # another chain: must survive
    tokens = exchange(sandbox)
    renewed = refresh(sandbox, tokens["refresh_token"]).json()
    assert_unauthorized(api_get(sandbox, tokens["access_token"]))
    assert api_get(sandbox, renewed["access_token"]).status_code == 200
    assert api_get(sandbox, unrelated["access_token"]).status_code == 200


def test_long_lived_token_works_until_its_expiry_and_has_no_refresh(sandbox: Sandbox) -> None:
    token = sandbox.issue_long_lived_token(days=2)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 2 * DAY
    assert claims["aud"] == sandbox.integration.client_id
    assert api_get(sandbox, token).status_code == 200
    assert_oauth_problem(refresh(sandbox, token), 401, "Cannot decrypt the refresh token")
    sandbox.advance(2 * DAY)
    assert_unauthorized(api_get(sandbox, token))


@pytest.mark.parametrize("days", [0, 5 * 365 + 1])
def test_long_lived_token_lifetime_is_bounded(sandbox: Sandbox, days: int) -> None:
    with pytest.raises(ValueError):
        sandbox.issue_long_lived_token(days=days)


def test_leads_get_and_patch(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    lead_id = min(sandbox.leads)
    got = api_get(sandbox, token, f"/api/v4/leads/{lead_id}")
    assert got.status_code == 200
    assert {"id", "name", "status_id", "pipeline_id"} <= set(got.json())
    assert got.json()["_links"]["self"]["href"].endswith(f"/api/v4/leads/{lead_id}")

    patched = api_patch(sandbox, token, f"/api/v4/leads/{lead_id}", {"status_id": 142, "pipeline_id": 1})
    assert patched.status_code == 200
    assert patched.json()["id"] == lead_id and isinstance(patched.json()["updated_at"], int)
    assert sandbox.leads[lead_id]["status_id"] == 142
    assert api_get(sandbox, token, f"/api/v4/leads/{lead_id}").json()["status_id"] == 142


def test_leads_batch_patch_changes_all_or_none(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    first, second = sorted(sandbox.leads)[:2]
    batch = [{"id": first, "status_id": 143}, {"id": second, "status_id": 142}]
    response = api_patch(sandbox, token, "/api/v4/leads", batch)
    assert response.status_code == 200
    assert [lead["id"] for lead in response.json()["_embedded"]["leads"]] == [first, second]
    assert (sandbox.leads[first]["status_id"], sandbox.leads[second]["status_id"]) == (143, 142)

    with_unknown = api_patch(sandbox, token, "/api/v4/leads", [{"id": first, "status_id": 1}, {"id": 1}])
    assert with_unknown.status_code == 404
    assert sandbox.leads[first]["status_id"] == 143  # untouched: the batch was refused as a whole


def test_leads_refusals(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    lead_id = min(sandbox.leads)
    unknown = api_get(sandbox, token, "/api/v4/leads/999999")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == PROBLEM_JSON
    assert api_patch(sandbox, token, "/api/v4/leads/999999", {"status_id": 1}).status_code == 404
    bad_type = api_patch(sandbox, token, f"/api/v4/leads/{lead_id}", {"status_id": "won"})
    assert bad_type.status_code == 400 and "validation-errors" in bad_type.json()
    assert_unauthorized(api_get(sandbox, None, f"/api/v4/leads/{lead_id}"))


def test_block_account_answers_403_html(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    tokens = exchange(sandbox)
    sandbox.block_account(True)
    blocked = api_get(sandbox, token)
    assert blocked.status_code == 403
    assert blocked.headers["Content-Type"].startswith("text/html") and not is_json(blocked.text)
    assert "Error happen" in blocked.text
    # The token endpoint is blocked too: the account is, not just its API.
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 403
    assert sandbox.stats.blocked == 2 and sandbox.stats.refreshes == 0
    sandbox.block_account(False)
    assert api_get(sandbox, token).status_code == 200
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


def test_a_moved_account_is_found_by_its_refresh_token(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox)
    old, api_domain = (
        sandbox.base_url,
        jwt.decode(tokens["access_token"], options={"verify_signature": False})["api_domain"],
    )
    new = sandbox.move_account()
    assert new != old and sandbox.base_url == new
    lookup = f"http://{api_domain}/oauth2/account/current/subdomain"
    found = requests.get(lookup, headers={"X-Refresh-Token": tokens["refresh_token"]}, timeout=10)
    assert found.status_code == 200
    assert found.json() == {
        "id": sandbox.account["id"],
        "subdomain": "sandbox",
        "domain": new.removeprefix("http://"),
        "top_level_domain": "ru",
    }
    assert requests.get(lookup, headers={"X-Refresh-Token": "def50200bad"}, timeout=10).status_code == 401
    # The old address: the token endpoint does not know the account, the API refuses the token.
    at_old = requests.post(
        f"{old}/oauth2/access_token",
        json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        timeout=10,
    )
    assert at_old.status_code == 404
    gone = requests.get(
        f"{old}/api/v4/account", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert gone.status_code == 401
    # The new one serves everything, with the same tokens.
    assert api_get(sandbox, tokens["access_token"]).status_code == 200
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert sandbox.stats.subdomain_lookups == 2


# -- rate limit and injected failures --------------------------------------------------------------


def test_rate_limit_answers_429_with_a_non_json_body(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    other_token = exchange(sandbox, sandbox.add_integration())["access_token"]
    sandbox.set_rate_limit(3)
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {token}"}
        responses = [
            session.get(f"{sandbox.base_url}/api/v4/account", headers=headers, timeout=10) for _ in range(10)
        ]
    statuses = [response.status_code for response in responses]
    limited = [response for response in responses if response.status_code == 429]
    # A burst of 3 passes; at 3 rps one more request is refilled only every 333 ms.
    assert statuses[:4] == [200, 200, 200, 429] and len(limited) >= 5
    assert limited[0].headers["Content-Type"].startswith("text/html")
    assert limited[0].headers["Retry-After"] == "1"
    assert not is_json(limited[0].text) and "Too Many Requests" in limited[0].text
    assert sandbox.stats.rate_limited == len(limited)
    # Per integration: another one still has its whole budget.
    assert api_get(sandbox, other_token).status_code == 200
    time.sleep(0.4)  # 3 rps refills one request in 0.33 s
    assert api_get(sandbox, token).status_code == 200


def test_rate_limit_applies_to_the_token_endpoint_per_client(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit(2)
    statuses = [
        token_request(sandbox, grant_type="authorization_code", code="x").status_code for _ in range(4)
    ]
    assert statuses[:2] == [400, 400] and 429 in statuses[2:]
    sandbox.set_rate_limit(None)
    assert token_request(sandbox, grant_type="authorization_code", code="x").status_code == 400


def test_rate_limit_from_the_constructor() -> None:
    with Sandbox(rate_limit=1) as sb:
        assert sb.rate_limit == 1
        assert [api_get(sb, None).status_code for _ in range(3)] == [401, 429, 429]


def test_fail_next_fails_exactly_n_matching_requests(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    sandbox.fail_next(2, 503, path_prefix="/api/")
    # Non-matching paths and the control endpoints are not consumed.
    assert requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).status_code == 200
    assert requests.get(sandbox.consent_url(), timeout=10).status_code == 200
    first, second, third = (api_get(sandbox, token) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Content-Type"].startswith("text/html") and not is_json(first.text)
    assert sandbox.stats.injected_failures == 2


def test_fail_next_with_a_json_body_and_on_the_token_endpoint(sandbox: Sandbox) -> None:
    sandbox.fail_next(1, 500, "/oauth2/")
    failed = token_request(sandbox, grant_type="authorization_code", code=sandbox.issue_code())
    assert failed.status_code == 500 and failed.json()["status"] == 500
    sandbox.fail_next(1, 502, body="json")
    assert api_get(sandbox, None).json()["status"] == 502


def test_a_failing_handler_answers_500_and_the_server_lives_on(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    sandbox.account["broken"] = object()  # not JSON-serialisable: the handler raises
    broken = api_get(sandbox, token)
    assert broken.status_code == 500 and broken.headers["Content-Type"] == PROBLEM_JSON
    del sandbox.account["broken"]
    assert api_get(sandbox, token).status_code == 200


def test_unknown_route_and_wrong_method(sandbox: Sandbox) -> None:
    assert requests.get(f"{sandbox.base_url}/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{sandbox.base_url}/oauth2/access_token", timeout=10).status_code == 405


# -- controls --------------------------------------------------------------------------------------


def test_control_code_and_stats(sandbox: Sandbox) -> None:
    response = requests.get(
        f"{sandbox.base_url}/_sandbox/code",
        params={"client_id": sandbox.integration.client_id},
        timeout=10,
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert response.text.startswith("def502")
    exchanged = token_request(sandbox, grant_type="authorization_code", code=response.text)
    assert exchanged.status_code == 200
    unknown = requests.get(f"{sandbox.base_url}/_sandbox/code?client_id=nope", timeout=10)
    assert unknown.status_code == 404

    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
    assert stats["exchanges"] == 1 and stats["requests"] == 4
    sandbox.reset_stats()
    assert sandbox.stats.requests == 0 and sandbox.stats.exchanges == 0


# -- HTTP plumbing ---------------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/api/v4/account", headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            assert response.getheader("Content-Length") == str(len(body))
            assert response.version == 11 and not response.will_close
        connection.request("GET", "/nowhere")  # an error answer keeps the connection too
        response = connection.getresponse()
        response.read()
        assert response.status == 404 and not response.will_close
    finally:
        connection.close()


def test_a_hundred_concurrent_clients_are_all_served(sandbox: Sandbox) -> None:
    token = exchange(sandbox)["access_token"]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(100)

    def call() -> None:
        barrier.wait()
        status = api_get(sandbox, token).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 100


def test_stop_frees_the_port_and_cuts_keep_alive_clients() -> None:
    sb = Sandbox().start()
    port = sb.port
    session = requests.Session()
    assert session.get(f"{sb.base_url}/_sandbox/stats", timeout=10).status_code == 200
    sb.stop()
    sb.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sb.base_url}/_sandbox/stats", timeout=5)
    # The closed connection leaves a TIME_WAIT entry, which SO_REUSEADDR (as every server sets
    # it) ignores; a port still listening would make this raise OSError.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    with Sandbox(port=port) as again:
        assert requests.get(f"{again.base_url}/_sandbox/stats", timeout=10).status_code == 200
    with pytest.raises(RuntimeError):
        sb.start()


def test_a_never_started_sandbox_stops_cleanly() -> None:
    sb = Sandbox()
    port = sb.port
    sb.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child is POSIX-only")
def test_run_prints_what_to_enter_and_stops_on_ctrl_c() -> None:
    code = "from wizard.sandbox import run; run(port=0)"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
    )
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(8)]
        text = "".join(lines)
        base_url = lines[0].split()[4]
        assert base_url.startswith("http://127.0.0.1:")
        assert f"Account address: {base_url}" in text
        assert "Client ID:" in text and "Client secret:" in text
        assert f"Redirect URI:    {base_url}/callback" in text
        assert requests.get(f"{base_url}/_sandbox/stats", timeout=10).status_code == 200
        child.send_signal(signal.SIGINT)
        rest = child.stdout.read()  # not communicate(): it would skip what readline() buffered
        assert child.wait(timeout=10) == 0
        assert "/_sandbox/code?client_id=" in rest and "Sandbox stopped." in rest
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
