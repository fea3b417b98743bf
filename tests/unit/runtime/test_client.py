"""The runtime client against the sandbox: single-flight refresh, retries, reauthorization."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.helpers import connect_sandbox
from wizard.core.connection import Connection
from wizard.core.errors import (
    AccountBlockedError,
    RateLimitedError,
    ReauthorizationRequired,
    ServerError,
    TransportError,
    WizardError,
)
from wizard.core.http import new_session
from wizard.runtime import AmoCRMClient, TokenSource
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget


def test_every_request_carries_the_bearer_and_a_relative_url_works(
    sandbox: Sandbox, connected_env: Path
) -> None:
    with AmoCRMClient(EnvFileTarget(connected_env)) as client:
        assert client.get("/api/v4/account").json()["id"] == sandbox.account["id"]
        assert client.source.refresh_count == 0


def test_hundred_threads_on_a_dead_token_cause_one_refresh(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.expire_access_tokens()
    sandbox.refresh_delay = 0.2  # every thread gets its 401 while the first refresh is in flight
    rotated: list[Connection] = []
    client = AmoCRMClient(EnvFileTarget(connected_env), on_tokens_rotated=rotated.append)
    statuses: list[int] = []
    barrier = threading.Barrier(100)

    def call() -> None:
        barrier.wait()
        statuses.append(client.get("/api/v4/account").status_code)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * 100
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0
    assert len(rotated) == 1
    assert dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"] == rotated[0].tokens.refresh_token  # type: ignore[union-attr]


def test_the_old_access_token_dying_at_refresh_is_handled(sandbox: Sandbox, connected_env: Path) -> None:
    """Unconfirmed amoCRM behaviour: a refresh may kill the previous access token at once."""
    sandbox.old_access_dies_on_refresh = True
    first, second = AmoCRMClient(EnvFileTarget(connected_env)), AmoCRMClient(EnvFileTarget(connected_env))
    assert first.get("/api/v4/account").status_code == 200
    assert second.get("/api/v4/account").status_code == 200
    first.source.refresh()  # kills the access token `second` still holds
    assert second.get("/api/v4/account").status_code == 200
    # `second` adopted the stored pair instead of spending the (already spent) refresh token.
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0


def test_proactive_refresh_inside_the_margin(sandbox: Sandbox, connected_env: Path) -> None:
    from datetime import timedelta

    with AmoCRMClient(EnvFileTarget(connected_env), margin=timedelta(hours=24, minutes=1)) as client:
        assert client.get("/api/v4/account").status_code == 200
    assert sandbox.stats.refreshes == 1
    assert sandbox.stats.api_calls == 1  # refreshed before sending, so no 401 round trip


def test_a_rate_limit_storm_ends_in_success_within_bounds(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.set_rate_limit(7)
    with AmoCRMClient(EnvFileTarget(connected_env), backoff=0.05, max_backoff=1.0, max_retries=8) as client:
        statuses = [client.get("/api/v4/account").status_code for _ in range(30)]
        assert statuses == [200] * 30
        assert sandbox.stats.rate_limited > 0
        assert client.retries_taken == sandbox.stats.rate_limited


def test_retries_are_bounded_and_only_idempotent_5xx_are_retried(
    sandbox: Sandbox, connected_env: Path
) -> None:
    with AmoCRMClient(EnvFileTarget(connected_env), backoff=0.01, max_retries=2) as client:
        sandbox.fail_next(5, status=503, path_prefix="/api/")
        assert client.get("/api/v4/account").status_code == 503
        assert client.retries_taken == 2  # three attempts, then the answer is returned
        sandbox.clear_failures()
        sandbox.fail_next(1, status=503, path_prefix="/api/")
        assert client.patch("/api/v4/leads/10001", json={"status_id": 142}).status_code == 503
        assert client.retries_taken == 2  # a PATCH is never resent after a server error
        assert client.patch("/api/v4/leads/10001", json={"status_id": 142}).status_code == 200
    assert sandbox.leads[10001]["status_id"] == 142


def test_a_revoked_refresh_token_raises_reauthorization_and_keeps_the_target(
    sandbox: Sandbox, connected_env: Path
) -> None:
    before = connected_env.read_bytes()
    sandbox.expire_access_tokens()
    sandbox.revoke_refresh_tokens()
    with AmoCRMClient(EnvFileTarget(connected_env)) as client, pytest.raises(ReauthorizationRequired) as info:
        client.get("/api/v4/account")
    assert "amocrm-wizard again" in str(info.value)
    # The target holds what it held, plus amoCRM's verdict on the token (contract, "Exit codes").
    after = connected_env.read_bytes()
    assert after.startswith(before)
    assert re.fullmatch(rb"AMOCRM_REFRESH_REJECTED='\S+Z [0-9a-f]{12}'\n", after[len(before) :])


def test_a_post_body_is_resent_after_the_refresh(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.expire_access_tokens()
    with AmoCRMClient(EnvFileTarget(connected_env)) as client:
        answer = client.patch("/api/v4/leads", json=[{"id": 10002, "status_id": 143}])
    assert answer.status_code == 200 and len(answer.history) == 1 and answer.history[0].status_code == 401
    assert sandbox.leads[10002]["status_id"] == 143


PROCESS = """
import sys
from wizard.runtime import AmoCRMClient
from wizard.targets import open_target
client = AmoCRMClient(open_target(env=sys.argv[1]))
print(client.get("/api/v4/account").status_code, client.source.refresh_count)
"""


def test_eight_processes_on_a_dead_token_cause_one_refresh(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.expire_access_tokens()
    sandbox.refresh_delay = 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(connected_env)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [o[0] for o in outputs] == ["200"] * 8
    assert sorted(int(o[1]) for o in outputs) == [0] * 7 + [1]
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0


def test_token_source_refresh_yields_to_a_newer_stored_pair(sandbox: Sandbox, connected_env: Path) -> None:
    slow, fast = TokenSource(EnvFileTarget(connected_env)), TokenSource(EnvFileTarget(connected_env))
    held = slow.connection
    fast.refresh()
    adopted = slow.refresh()
    assert adopted != held and adopted == fast.connection
    assert sandbox.stats.refreshes == 1


# --- amoCRM's verdict on a dead refresh token --------------------------------------------

REPLAYS = """
import sys
from wizard.core.errors import ReauthorizationRequired
from wizard.runtime import AmoCRMClient
from wizard.targets import open_target
client = AmoCRMClient(open_target(env=sys.argv[1]))
refused = 0
for _ in range(10):
    try:
        client.get("/api/v4/account")
    except ReauthorizationRequired:
        refused += 1
print(refused, client.source.refresh_count)
"""


def rejected_grants(sandbox: Sandbox) -> int:
    stats = sandbox.stats
    return stats.refresh_attempts - stats.refreshes


def test_four_processes_of_ten_calls_on_a_revoked_token_send_one_rejected_grant(
    sandbox: Sandbox, connected_env: Path
) -> None:
    sandbox.expire_access_tokens()
    sandbox.revoke_refresh_tokens()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLAYS, str(connected_env)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [o[0] for o in outputs] == ["10"] * 4  # every call told to reconnect
    assert rejected_grants(sandbox) <= 1 and sandbox.stats.refreshes == 0
    assert sum(int(o[1]) for o in outputs) == rejected_grants(sandbox)
    assert dotenv_values(connected_env)["AMOCRM_REFRESH_REJECTED"]


def test_twenty_calls_after_a_revocation_send_one_grant_and_a_new_pair_clears_the_verdict(
    sandbox: Sandbox, connected_env: Path
) -> None:
    sandbox.revoke_refresh_tokens()
    sandbox.expire_access_tokens()
    with AmoCRMClient(EnvFileTarget(connected_env)) as client:
        for _ in range(20):
            with pytest.raises(ReauthorizationRequired):
                client.get("/api/v4/account")
    assert sandbox.stats.refresh_attempts == 1
    # The next successful connect (here: a new pair saved by hand) clears it.
    EnvFileTarget(connected_env).save(connect_sandbox(sandbox))
    assert "AMOCRM_REFRESH_REJECTED" not in dotenv_values(connected_env)
    with AmoCRMClient(EnvFileTarget(connected_env)) as client:
        assert client.get("/api/v4/account").status_code == 200


def test_a_verdict_is_kept_in_memory_where_the_target_cannot_hold_it(
    sandbox: Sandbox, connected_env: Path
) -> None:
    """A read-only .env cannot take the verdict: this process still never resends the token."""
    sandbox.revoke_refresh_tokens()
    sandbox.expire_access_tokens()
    source = TokenSource(EnvFileTarget(connected_env))
    with pytest.raises(ReauthorizationRequired):
        source.refresh()
    # Another source in the same process, on a copy of the file without the verdict line.
    copy = connected_env.parent / "copy.env"
    copy.write_text(
        "".join(
            line
            for line in connected_env.read_text().splitlines(keepends=True)
            if not line.startswith("AMOCRM_REFRESH_REJECTED")
        )
    )
    with pytest.raises(ReauthorizationRequired) as again:
        TokenSource(EnvFileTarget(copy)).refresh()
    assert "not sent again" in str(again.value)
    assert sandbox.stats.refresh_attempts == 1


def test_a_wrong_secret_or_a_network_failure_records_no_verdict(
    sandbox: Sandbox, connected_env: Path
) -> None:
    text = connected_env.read_text()
    wrong = connected_env.parent / "wrong.env"
    wrong.write_text(text.replace(sandbox.integration.client_secret, "x" * 40))
    with pytest.raises(WizardError) as refused:
        TokenSource(EnvFileTarget(wrong)).refresh()
    assert refused.value.code == "client_secret_rejected"
    assert "AMOCRM_REFRESH_REJECTED" not in wrong.read_text()
    sandbox.fail_next(1, status=503, path_prefix="/oauth2/access_token")
    with pytest.raises(WizardError) as down:
        TokenSource(EnvFileTarget(connected_env)).refresh()
    assert down.value.exit_code == 4 and "AMOCRM_REFRESH_REJECTED" not in connected_env.read_text()


# --- amoCRM's other answers ---------------------------------------------------------------


def test_a_moved_account_is_followed_and_saved(sandbox: Sandbox, connected_env: Path) -> None:
    old = sandbox.base_url
    new = sandbox.move_account()
    sandbox.expire_access_tokens()
    with AmoCRMClient(EnvFileTarget(connected_env)) as client:
        answer = client.get("/api/v4/account")  # sent to the old address, refused there
        assert answer.status_code == 200 and answer.url.startswith(new + "/")
        assert client.base_url == new
    values = dotenv_values(connected_env)
    assert values["AMOCRM_BASE_URL"] == new != old
    assert sandbox.stats.subdomain_lookups == 1 and sandbox.stats.refreshes == 1
    assert sandbox.stats.refresh_attempts == 1  # the old address answered 404 before looking


def test_a_dead_token_at_an_address_that_did_not_move_is_declared_dead(
    sandbox: Sandbox, connected_env: Path
) -> None:
    sandbox.revoke_refresh_tokens()
    with pytest.raises(ReauthorizationRequired) as dead:
        TokenSource(EnvFileTarget(connected_env)).refresh()
    assert dead.value.refresh_token_rejected and sandbox.stats.subdomain_lookups == 1


def test_a_blocked_account_is_never_retried(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.block_account(True)
    with AmoCRMClient(EnvFileTarget(connected_env)) as client, pytest.raises(AccountBlockedError) as info:
        client.account()
    assert info.value.exit_code == 4 and sandbox.stats.blocked == 1
    assert str(sandbox.account["id"]) in info.value.hint and "127.0.0.1" in info.value.hint
    sandbox.expire_access_tokens()
    with pytest.raises(AccountBlockedError) as grant:
        TokenSource(EnvFileTarget(connected_env)).refresh()
    assert str(sandbox.account["id"]) in grant.value.hint
    assert sandbox.stats.blocked == 2  # the refresh grant, once
    assert "AMOCRM_REFRESH_REJECTED" not in connected_env.read_text()


def test_rate_limit_retries_are_bounded_by_time_not_by_count(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.fail_next(10_000, status=429, path_prefix="/api/")
    with AmoCRMClient(
        EnvFileTarget(connected_env), retry_budget=1.0, backoff=0.01, max_backoff=0.02
    ) as client:
        assert client.get("/api/v4/account").status_code == 429
    # Far more than the five attempts a count allowed, and yet it ended.
    assert sandbox.stats.rate_limited > 10


def test_repr_masks_the_secret_and_both_tokens(sandbox: Sandbox, connected_env: Path) -> None:
    rotated: list[str] = []
    sandbox.expire_access_tokens()
    with AmoCRMClient(
        EnvFileTarget(connected_env), on_tokens_rotated=lambda c: rotated.append(repr(c))
    ) as client:
        client.get("/api/v4/account")
        connection = client.source.connection
    assert connection.tokens is not None and rotated
    for secret in (
        connection.client_secret,
        connection.tokens.access_token,
        connection.tokens.refresh_token,
    ):
        assert secret not in rotated[0] and secret not in repr(connection.tokens)
        assert secret[:6] + "…" in rotated[0]


def test_no_verdict_when_the_subdomain_lookup_cannot_answer(sandbox: Sandbox, connected_env: Path) -> None:
    sandbox.revoke_refresh_tokens()
    sandbox.fail_next(1, status=500, path_prefix="/oauth2/account/current/subdomain", body="json")
    source = TokenSource(EnvFileTarget(connected_env), session=new_session(retry_budget=0))
    # Contract, "Exit codes": amoCRM could not be reached is exit 4, not a refusal (3).
    with pytest.raises(ServerError) as unreachable:
        source.refresh()
    assert unreachable.value.exit_code == 4
    assert "AMOCRM_REFRESH_REJECTED" not in connected_env.read_text()
    # Once the lookup answers (the token is unknown there too), the verdict is recorded.
    with pytest.raises(ReauthorizationRequired) as dead:
        TokenSource(EnvFileTarget(connected_env)).refresh()
    assert dead.value.refresh_token_rejected and "AMOCRM_REFRESH_REJECTED" in connected_env.read_text()


@pytest.mark.parametrize(
    ("status", "kind"),
    [(403, AccountBlockedError), (429, RateLimitedError), (503, ServerError), (400, ServerError)],
)
def test_a_lookup_that_does_not_answer_draws_no_verdict(
    sandbox: Sandbox, connected_env: Path, status: int, kind: type[TransportError]
) -> None:
    """Contract, "Concurrency": only a lookup that answers (the same account) or says the
    token is unknown (401, 404) confirms a refused refresh token is dead. A 403 is the block:
    never retried, exit 4, the support message; anything else is amoCRM not reachable."""
    before = connected_env.read_bytes()
    sandbox.fail_next(1, 401, "/oauth2/access_token", body="json")
    sandbox.fail_next(100, status, "/oauth2/account", body="json")
    source = TokenSource(EnvFileTarget(connected_env), session=new_session(retry_budget=0))
    with pytest.raises(kind) as failed:
        source.refresh()
    assert failed.value.exit_code == 4 and not isinstance(failed.value, ReauthorizationRequired)
    if status == 403:
        assert "support" in failed.value.hint and str(sandbox.account["id"]) in failed.value.hint
    assert connected_env.read_bytes() == before
    # The token was never dead: once amoCRM answers, the same process renews with it.
    sandbox.clear_failures()
    old = dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"]
    source.refresh()
    assert dotenv_values(connected_env)["AMOCRM_REFRESH_TOKEN"] != old
    assert "AMOCRM_REFRESH_REJECTED" not in connected_env.read_text()
    assert sandbox.stats.refreshes == 1 and sandbox.stats.rejected_refresh_replays == 0
