"""The one order every value is found in (flags, target, environment, keyring), and the
one save path that keeps the secret in the OS keyring, on a real .env file and keyring."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.unit.targets.conftest import MemoryKeyring
from wizard.core import connection as k
from wizard.core.connection import Connection
from wizard.core.tokens import TokenPair
from wizard.targets import open_target
from wizard.targets.credentials import Credentials, resolve
from wizard.targets.envfile import EnvFileTarget
from wizard.targets.keyring_store import SERVICE, load_secret, save_secret

BASE = "https://mycompany.amocrm.ru"
OTHER = "https://othercompany.amocrm.ru"
CLIENT = "5e4b7c2a-1111-4222-8333-944455556666"
SECRET = "Zt8mQeVz3kP0yLrB6sWnA1cXhJ9uG4dF7oTiE2qR5vMbN0lKaYs"
REDIRECT = "https://backend.example.com/amocrm/callback"
PAIR = TokenPair(
    "eyJ0eXAiOiJKV1Qi.access.sig", "def50200-rt-1", datetime(2026, 12, 2, 9, tzinfo=timezone.utc)
)


def stored(**extra: str) -> dict[str, str]:
    return {
        k.BASE_URL: BASE,
        k.CLIENT_ID: CLIENT,
        k.CLIENT_SECRET: SECRET,
        k.REDIRECT_URI: REDIRECT,
        k.ACCESS_TOKEN: PAIR.access_token,
        **extra,
    }


def never(_base: str, _client: str) -> str | None:
    raise AssertionError("the keyring must not be asked")


def test_flags_then_target_then_environment_then_keyring() -> None:
    environ = {k.BASE_URL: OTHER, k.REDIRECT_URI: "https://env.example.com/cb", k.ACCESS_TOKEN: "env-token"}
    found = resolve({k.REDIRECT_URI: "https://flag.example.com/cb"}, stored(), environ, never)
    assert found.values[k.REDIRECT_URI] == "https://flag.example.com/cb"
    assert found.origins[k.REDIRECT_URI] == "flags"
    assert (found.values[k.BASE_URL], found.origins[k.BASE_URL]) == (BASE, "target")
    assert found.values[k.ACCESS_TOKEN] == PAIR.access_token  # tokens never come from the environment
    assert resolve({}, {k.ACCESS_TOKEN: "t"}, environ).values[k.BASE_URL] == OTHER

    asked: list[tuple[str, str]] = []

    def keyring(base: str, client: str) -> str | None:
        asked.append((base, client))
        return "from-the-keyring"

    bare = {k.BASE_URL: BASE, k.CLIENT_ID: CLIENT}
    assert resolve({}, bare, {k.CLIENT_SECRET: "from-env"}, keyring).origins[k.CLIENT_SECRET] == "environment"
    assert asked == []
    found = resolve({}, bare, {}, keyring)
    assert (found.values[k.CLIENT_SECRET], found.origins[k.CLIENT_SECRET]) == ("from-the-keyring", "keyring")
    assert asked == [(BASE, CLIENT)]


def test_a_stored_secret_is_only_used_for_its_own_integration() -> None:
    same = resolve({k.BASE_URL: "MyCompany.amocrm.ru/", k.CLIENT_ID: CLIENT.upper()}, stored(), {})
    assert same.values[k.CLIENT_SECRET] == SECRET
    for flags in ({k.BASE_URL: OTHER}, {k.CLIENT_ID: "00000000-1111-4222-8333-944455556666"}):
        assert k.CLIENT_SECRET not in resolve(flags, stored(), {}).values
        other = resolve(flags, stored(), {}, lambda base, client: f"kept for {base}")
        assert (other.values[k.CLIENT_SECRET], other.origins[k.CLIENT_SECRET]) == (
            f"kept for {flags.get(k.BASE_URL, BASE)}",
            "keyring",
        )


def test_the_secrets_environment_variable_ranks_after_the_target() -> None:
    """Contract, "Database layout": flags, then the target, then the environment, for every
    value the secret included; --client-secret-stdin (or the wizard's field) is its flag."""
    env = {k.CLIENT_SECRET: "from-env"}
    found = resolve({}, stored(), env, never)
    assert (found.values[k.CLIENT_SECRET], found.origins[k.CLIENT_SECRET]) == (SECRET, "target")
    bare = {key: value for key, value in stored().items() if key != k.CLIENT_SECRET}
    found = resolve({}, bare, env, never)
    assert (found.values[k.CLIENT_SECRET], found.origins[k.CLIENT_SECRET]) == ("from-env", "environment")
    typed = resolve({k.CLIENT_SECRET: "typed"}, stored(), env, never)
    assert (typed.values[k.CLIENT_SECRET], typed.origins[k.CLIENT_SECRET]) == ("typed", "flags")
    # The stored secret belongs to another integration than the flags name: passed over.
    other = resolve({k.CLIENT_ID: "00000000-1111-4222-8333-944455556666"}, stored(), env, never)
    assert (other.values[k.CLIENT_SECRET], other.origins[k.CLIENT_SECRET]) == ("from-env", "environment")


def test_an_empty_stored_subdomain_counts_as_present_and_other_empties_do_not() -> None:
    found = resolve({}, {k.BASE_URL: "http://127.0.0.1:8765", k.SUBDOMAIN: "", k.CLIENT_ID: ""}, {})
    assert found.values[k.SUBDOMAIN] == ""
    assert k.CLIENT_ID not in found.values


def test_an_env_file_missing_the_account_is_completed_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"AMOCRM_ACCESS_TOKEN={PAIR.access_token}\nAMOCRM_REFRESH_TOKEN={PAIR.refresh_token}\n")
    environ = {k.BASE_URL: BASE, k.CLIENT_ID: CLIENT, k.CLIENT_SECRET: SECRET, k.REDIRECT_URI: REDIRECT}
    target = Credentials(EnvFileTarget(path), environ=environ)
    loaded = target.load()
    assert loaded is not None and loaded.client_secret == SECRET and loaded.tokens is not None
    assert loaded.tokens.refresh_token == PAIR.refresh_token
    with target.lock() as held:
        assert held.stored == loaded


def test_connecting_keeps_the_secret_in_the_keyring_once(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    target = open_target(env=str(tmp_path / ".env"))
    connection = Connection(BASE, CLIENT, SECRET, REDIRECT, PAIR)
    report = target.save(connection)
    assert k.CLIENT_SECRET in report.written and report.kept_in_keyring is True
    assert memory_keyring.entries == {(SERVICE, f"{BASE}|{CLIENT}"): SECRET}

    # A refresh keeps the secret the target already holds: the keyring is left alone.
    memory_keyring.entries.clear()
    with target.lock() as held:
        report = held.save(connection.with_tokens(PAIR))
    assert report.kept_in_keyring is None
    assert memory_keyring.entries == {}


@pytest.mark.usefixtures("fail_keyring")
def test_no_keyring_is_reported_not_raised(tmp_path: Path) -> None:
    report = open_target(env=str(tmp_path / ".env")).save(Connection(BASE, CLIENT, SECRET, REDIRECT, PAIR))
    assert report.kept_in_keyring is False
    assert report.elsewhere == {}  # the .env holds the secret


def test_the_keyring_secret_fills_a_target_that_lacks_it(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    assert save_secret(BASE, CLIENT, SECRET)
    path = tmp_path / ".env"
    path.write_text(f"AMOCRM_BASE_URL={BASE}\nAMOCRM_CLIENT_ID={CLIENT}\nAMOCRM_ACCESS_TOKEN=a\n")
    loaded = open_target(env=str(path)).load()
    assert loaded is not None and loaded.client_secret == SECRET
    assert load_secret(BASE, CLIENT) == SECRET
