"""amoCRM's verdict on a refresh token: tied to that one token, dropped with a new pair."""

from __future__ import annotations

from datetime import datetime, timezone

from wizard.core import verdict
from wizard.core.connection import REFRESH_REJECTED, Connection
from wizard.core.tokens import TokenPair
from wizard.targets.envfile import merge, parse_values


def test_a_verdict_names_its_token_by_hash_only() -> None:
    text = verdict.record("def502secret", datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc))
    assert text.startswith("2026-12-03T09:00:00Z ")
    assert "def502secret" not in text and len(text.split()[1]) == 12
    assert verdict.applies(text, "def502secret")
    assert not verdict.applies(text, "def502another")
    assert not verdict.applies("garbage", "def502secret")


def test_a_new_pair_clears_the_verdict_and_values_carry_it_only_while_it_stands() -> None:
    pair = TokenPair("a", "r", datetime(2026, 12, 4, tzinfo=timezone.utc))
    judged = Connection("https://x.amocrm.ru", "id", "s", "https://e/cb", pair).with_verdict(
        verdict.record("r")
    )
    assert REFRESH_REJECTED in judged.to_values()
    assert Connection.from_values(judged.to_values()) == judged
    assert REFRESH_REJECTED not in judged.with_tokens(pair).to_values()


def test_merge_drops_a_removed_key_and_keeps_the_lines_around_it() -> None:
    text = "# top\n\nPORT=3000\nAMOCRM_REFRESH_REJECTED='2026-12-03T09:00:00Z 0123456789ab'\n\nDEBUG=1\n"
    merged = merge(text, {}, remove=(REFRESH_REJECTED,))
    assert merged == "# top\n\nPORT=3000\n\nDEBUG=1\n"
    assert REFRESH_REJECTED in parse_values(text) and REFRESH_REJECTED not in parse_values(merged)
