from datetime import datetime, timedelta, timezone

import jwt
import pytest

from wizard.core.redact import mask, redact, register_secret
from wizard.core.tokens import TokenPair, decode_claims, format_utc, parse_utc

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def make_jwt(iat: datetime, lifetime: timedelta, **claims: object) -> str:
    body = {"iat": int(iat.timestamp()), "exp": int((iat + lifetime).timestamp()), **claims}
    return jwt.encode(body, "k" * 32, algorithm="HS256")


def test_expiry_comes_from_expires_in_unless_the_jwt_says_earlier() -> None:
    long = make_jwt(NOW, timedelta(days=2))
    pair = TokenPair.from_grant(
        {"access_token": long, "refresh_token": "def50200ab", "expires_in": 86400}, NOW
    )
    assert pair.expires_at == NOW + timedelta(days=1)
    short = make_jwt(NOW, timedelta(hours=1))
    pair = TokenPair.from_grant({"access_token": short, "refresh_token": "r", "expires_in": 86400}, NOW)
    assert pair.expires_at == NOW + timedelta(hours=1)


def test_claims_are_read_without_verifying() -> None:
    token = make_jwt(
        NOW,
        timedelta(days=1),
        account_id=31415,
        sub="42",
        aud="cid",
        base_domain="amocrm.ru",
        api_domain="api-b.amocrm.ru",
        scopes=["crm", "files"],
    )
    claims = decode_claims(token)
    assert claims is not None
    assert (claims.account_id, claims.user_id, claims.api_domain, claims.scopes) == (
        31415,
        "42",
        "api-b.amocrm.ru",
        ("crm", "files"),
    )
    assert decode_claims("not-a-jwt") is None


def test_refresh_token_dies_three_months_after_issue() -> None:
    pair = TokenPair(make_jwt(NOW, timedelta(days=1)), "def50200ab", NOW + timedelta(days=1))
    assert pair.issued_at == NOW
    assert pair.refresh_expires_at == NOW + timedelta(days=90)
    assert pair.refresh_days_left(NOW + timedelta(days=30)) == pytest.approx(60)
    assert not pair.access_expired(NOW) and pair.access_expired(
        NOW + timedelta(hours=23, minutes=56), timedelta(minutes=5)
    )


def test_long_lived_token_has_no_refresh_and_ends_at_exp() -> None:
    token = make_jwt(NOW, timedelta(days=365))
    pair = TokenPair.long_lived(token)
    assert pair.is_long_lived and pair.refresh_expires_at is None
    assert pair.expires_at == NOW + timedelta(days=365)
    with pytest.raises(ValueError):
        TokenPair.long_lived("garbage")


def test_utc_format_round_trips() -> None:
    assert format_utc(NOW) == "2026-12-01T09:00:00Z"
    assert parse_utc("2026-12-01T09:00:00Z") == NOW
    assert parse_utc("2026-12-01T12:00:00+03:00") == NOW


def test_masking_never_shows_a_secret_in_full() -> None:
    secret = "abcdefghijklmnopqrstuvwxyz"
    assert mask(secret) == "abcdef…" and mask("short") == "…" and mask("") == ""
    register_secret(secret)
    token = make_jwt(NOW, timedelta(days=1))
    text = redact(f"secret={secret} token={token} refresh=def50200{'a' * 40}")
    assert secret not in text and token not in text and "a" * 40 not in text
