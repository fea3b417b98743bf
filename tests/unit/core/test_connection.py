"""A stored connection: held to the rules of typed values, and never shown in full."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from wizard.core.connection import Connection, checked
from wizard.core.errors import ConfigError, InvalidAccountError, InvalidClientIdError
from wizard.core.tokens import TokenPair

CLIENT = "5e4b7c2a-1111-4222-8333-944455556666"
PAIR = TokenPair(
    "eyJhbGciOiJIUzI1NiJ9.access-part.signature",
    "def50200" + "ab" * 40,
    datetime(2026, 12, 4, tzinfo=timezone.utc),
)


def stored(base_url: str = "https://mycompany.amocrm.ru", client_id: str = CLIENT) -> Connection:
    return Connection(base_url, client_id, "s3cret-s3cret-s3cret", "https://backend.example.com/cb", PAIR)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.2:18999", "https://evil.example.com", "http://mycompany.amocrm.ru"]
)
def test_a_stored_address_outside_the_rules_is_refused_naming_the_key(base_url: str) -> None:
    with pytest.raises(InvalidAccountError) as info:
        checked(stored(base_url))
    assert info.value.exit_code == 2 and "AMOCRM_BASE_URL" in info.value.message


def test_stored_values_are_normalised_as_typed_ones_are() -> None:
    normal = checked(stored("HTTPS://MyCompany.amocrm.com/leads", CLIENT.upper()))
    assert normal.base_url == "https://mycompany.kommo.com" and normal.client_id == CLIENT
    with pytest.raises(InvalidClientIdError):
        checked(stored(client_id="not-a-uuid"))
    # Missing is not malformed: whoever needs the value names it.
    assert checked(stored(client_id="")).client_id == ""
    with pytest.raises(ConfigError):
        checked(Connection("https://mycompany.amocrm.ru", CLIENT, "s", "ftp://x/cb", PAIR))


def test_repr_shows_no_secret_and_no_token_in_full() -> None:
    text = repr(stored())
    for secret in ("s3cret-s3cret-s3cret", PAIR.access_token, PAIR.refresh_token):
        assert secret not in text
    assert "s3cret…" in text and "def502…" in text and "mycompany.amocrm.ru" in text
