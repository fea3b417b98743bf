"""The protocol core against the sandbox over real HTTP."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import allow, connect_sandbox
from wizard.core import consent, oauth
from wizard.core import errors as e
from wizard.core.account import parse_account
from wizard.core.http import new_session
from wizard.sandbox import Sandbox


def test_state_is_unguessable_and_fresh() -> None:
    states = {consent.new_state() for _ in range(100)}
    assert len(states) == 100
    assert all(len(s) >= 43 for s in states)  # 32 random bytes, base64url


def test_consent_url_per_platform() -> None:
    cid = "11111111-2222-3333-4444-555555555555"
    ru = urlsplit(consent.consent_url(parse_account("acme"), cid, "s1"))
    assert (ru.scheme, ru.netloc, ru.path) == ("https", "www.amocrm.ru", "/oauth")
    assert parse_qs(ru.query) == {"client_id": [cid], "state": ["s1"], "mode": ["post_message"]}
    assert consent.consent_url(parse_account("acme.kommo.com"), cid, "s").startswith(
        "https://www.kommo.com/oauth?"
    )
    assert consent.consent_url(parse_account("http://127.0.0.1:8765"), cid, "s").startswith(
        "http://127.0.0.1:8765/oauth?client_id="
    )


def test_full_flow_consent_exchange_account(sandbox: Sandbox) -> None:
    account = parse_account(sandbox.base_url)
    state = consent.new_state()
    location = allow(sandbox, state)
    assert consent.is_redirect(location, sandbox.integration.redirect_uri)
    callback = consent.parse_callback(location, account, state)
    assert callback.referer == account.host and callback.platform == "1"
    it = sandbox.integration
    pair = oauth.exchange_code(account, it.client_id, it.client_secret, it.redirect_uri, callback.code)
    claims = pair.claims
    assert claims is not None and claims.client_id == it.client_id and "crm" in claims.scopes
    assert pair.refresh_token and 86000 < (pair.expires_at - pair.issued_at).total_seconds() <= 86400
    info = oauth.fetch_account(account, pair.access_token)
    assert info["id"] == claims.account_id and info["name"]


def test_deny_forged_state_and_missing_code(sandbox: Sandbox) -> None:
    account = parse_account(sandbox.base_url)
    with pytest.raises(e.AccessDeniedError):
        consent.parse_callback(allow(sandbox, "s-deny", "deny"), account, "s-deny")
    location = allow(sandbox, "the-real-state")
    with pytest.raises(e.StateMismatchError):
        consent.parse_callback(location, account, "another-state")
    with pytest.raises(e.InvalidCallbackError):
        consent.parse_callback(f"{sandbox.base_url}/callback?state=x", account, "x")


def test_referer_naming_another_account_is_refused(sandbox: Sandbox) -> None:
    account = parse_account(sandbox.base_url)
    forged = f"{sandbox.base_url}/callback?code=def502abc&state=s&referer=evil.example.com"
    with pytest.raises(e.AccountRejectedError) as info:
        consent.parse_callback(forged, account, "s")
    assert "evil.example.com" in info.value.message


def _exchange(sb: Sandbox, code: str, **override: str) -> None:
    it = sb.integration
    args = {"client_id": it.client_id, "client_secret": it.client_secret, "redirect_uri": it.redirect_uri}
    args.update(override)
    oauth.exchange_code(
        parse_account(sb.base_url), args["client_id"], args["client_secret"], args["redirect_uri"], code
    )


def test_each_amocrm_refusal_becomes_its_typed_error(sandbox: Sandbox) -> None:
    with pytest.raises(e.CodeInvalidError):
        _exchange(sandbox, "garbage")
    code = sandbox.issue_code()
    _exchange(sandbox, code)
    with pytest.raises(e.CodeUsedError):
        _exchange(sandbox, code)
    old = sandbox.issue_code()
    sandbox.advance(20 * 60 + 1)
    with pytest.raises(e.CodeExpiredError) as expired:
        _exchange(sandbox, old)
    assert "Keys and scopes" in expired.value.hint and expired.value.exit_code == 3
    with pytest.raises(e.ClientIdRejectedError):
        _exchange(sandbox, sandbox.issue_code(), client_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(e.ClientSecretRejectedError) as secret:
        _exchange(sandbox, sandbox.issue_code(), client_secret="wrong-secret-wrong-secret")
    assert secret.value.status == 401
    wrong_uri = sandbox.integration.redirect_uri + "/"
    with pytest.raises(e.RedirectUriMismatchError) as uri:
        _exchange(sandbox, sandbox.issue_code(), redirect_uri=wrong_uri)
    assert uri.value.sent == wrong_uri


def test_refresh_rotates_and_a_spent_token_means_reauthorize(sandbox: Sandbox) -> None:
    conn = connect_sandbox(sandbox)
    assert conn.tokens is not None
    account = conn.account
    args = (account, conn.client_id, conn.client_secret, conn.redirect_uri)
    new = oauth.refresh_tokens(*args, conn.tokens.refresh_token)
    assert new.refresh_token != conn.tokens.refresh_token
    with pytest.raises(e.ReauthorizationRequired) as info:
        oauth.refresh_tokens(*args, conn.tokens.refresh_token)
    assert "again" in info.value.hint and info.value.exit_code == 3


def test_unreachable_account_fails_fast_with_exit_4() -> None:
    started = time.monotonic()
    with pytest.raises(e.NetworkError) as info:
        oauth.fetch_account(parse_account("http://127.0.0.1:1"), "token")
    assert time.monotonic() - started < 5
    assert info.value.exit_code == 4


def test_server_errors_rate_limits_and_blocks(sandbox: Sandbox) -> None:
    conn = connect_sandbox(sandbox)
    assert conn.tokens is not None
    sandbox.fail_next(1, status=503)
    assert oauth.fetch_account(conn.account, conn.tokens.access_token)["id"]  # one 503 is retried
    no_retries = new_session(retry_budget=0)
    sandbox.fail_next(1, status=503)
    with pytest.raises(e.ServerError) as server:
        oauth.fetch_account(conn.account, conn.tokens.access_token, session=no_retries)
    assert server.value.exit_code == 4
    sandbox.block_account(True)
    with pytest.raises(e.AccountBlockedError) as blocked:
        oauth.fetch_account(conn.account, conn.tokens.access_token)
    assert blocked.value.exit_code == 4 and sandbox.stats.blocked == 1  # never retried
    assert "support" in blocked.value.hint and str(sandbox.account["id"]) in blocked.value.hint
    sandbox.block_account(False)
    sandbox.set_rate_limit(1)
    with pytest.raises(e.RateLimitedError):
        for _ in range(5):
            oauth.fetch_account(conn.account, conn.tokens.access_token, session=no_retries)


def test_a_refresh_whose_answer_is_lost_says_connect_again(sandbox: Sandbox) -> None:
    """A slow token endpoint: amoCRM spent the token; retrying could only be refused."""
    conn = connect_sandbox(sandbox)
    assert conn.tokens is not None
    sandbox.refresh_delay = 1.0
    args = (conn.account, conn.client_id, conn.client_secret, conn.redirect_uri, conn.tokens.refresh_token)
    with pytest.raises(e.ResponseLostError) as lost:
        oauth.refresh_tokens(*args, timeout=(5, 0.2))
    assert lost.value.exit_code == 4 and not lost.value.retryable
    assert "Connect again" in lost.value.hint and "in a minute" not in lost.value.hint
    assert sandbox.stats.refreshes == 1  # it was spent indeed
    # A plain timeout of a request that changes nothing says to try again in a minute.
    sandbox.refresh_delay = 0
    sandbox.delay_next(1, 1.0, "/api/v4/account")
    with pytest.raises(e.NetworkError) as slow:
        oauth.fetch_account(conn.account, conn.tokens.access_token, timeout=(5, 0.2))
    assert slow.value.code == "network" and slow.value.hint == "Try again in a minute."


def test_a_refresh_token_of_another_integration_gets_its_own_message(sandbox: Sandbox) -> None:
    other = sandbox.add_integration()
    code = sandbox.issue_code(other.client_id)
    pair = oauth.exchange_code(
        parse_account(sandbox.base_url), other.client_id, other.client_secret, other.redirect_uri, code
    )
    it = sandbox.integration
    with pytest.raises(e.TokenNotLinkedError) as info:
        oauth.refresh_tokens(
            parse_account(sandbox.base_url),
            it.client_id,
            it.client_secret,
            it.redirect_uri,
            pair.refresh_token,
        )
    assert info.value.exit_code == 3 and "another integration" in info.value.message
    assert not isinstance(info.value, e.ReauthorizationRequired)  # not a verdict on the token
