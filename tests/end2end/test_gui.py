"""The real wizard, offscreen, against the real sandbox over HTTP, consent page in QtWebEngine."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtGui import QGuiApplication

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    click_in_consent,
    log_requests,
    make_wizard,
    press_forward,
    sandbox_prefill,
    wait_for_consent_loaded,
    wait_for_step,
)
from wizard.core.connection import OWNED_KEYS
from wizard.sandbox import Sandbox
from wizard.ui.model import Step

__all__ = ["make_wizard"]  # the fixture, imported for pytest

pytestmark = pytest.mark.gui


def _to_consent(qtbot, wizard) -> None:  # type: ignore[no-untyped-def]
    press_forward(qtbot, wizard)  # Welcome → Details (nothing stored yet)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    press_forward(qtbot, wizard)  # Details → Consent
    wait_for_step(qtbot, wizard, Step.CONSENT)
    wait_for_consent_loaded(qtbot, wizard)


def test_connect_through_the_embedded_consent_page(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text("# backend\nPORT=3000\n", encoding="utf-8")
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    qtbot.waitUntil(lambda: "No amoCRM connection" in wizard.welcome.notice.text(), timeout=WAIT_MS)
    _to_consent(qtbot, wizard)
    requests_seen = log_requests(wizard)
    assert "/oauth?" in wizard.consent.view().url().toString()

    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert wizard.exchange.account_name.text() == sandbox.account["name"]
    assert wizard.exchange.account_id.text() == str(sandbox.account["id"])
    assert "crm" in wizard.exchange.scopes.text()
    # The redirect was captured before it left: the view never requested /callback.
    assert any("/oauth/decide" in url for url in requests_seen.urls)
    assert not any("/callback" in url for url in requests_seen.urls)
    assert "/callback" not in wizard.consent.view().url().toString()
    assert sandbox.stats.exchanges == 1
    assert "AMOCRM_ACCESS_TOKEN" not in env.read_text()  # nothing written before Save

    press_forward(qtbot, wizard)  # Exchange → Save
    wait_for_step(qtbot, wizard, Step.SAVE)
    assert "AMOCRM_REFRESH_TOKEN" in wizard.save.plan.text()
    press_forward(qtbot, wizard)  # Save (commit) → Done
    wait_for_step(qtbot, wizard, Step.DONE)

    values = dotenv_values(env)
    assert set(OWNED_KEYS) <= set(values)
    tokens = wizard.session.result.connection.tokens
    assert values["AMOCRM_BASE_URL"] == sandbox.base_url
    assert values["AMOCRM_CLIENT_ID"] == sandbox.integration.client_id
    assert values["AMOCRM_CLIENT_SECRET"] == sandbox.integration.client_secret
    assert values["AMOCRM_ACCESS_TOKEN"] == tokens.access_token
    assert values["AMOCRM_REFRESH_TOKEN"] == tokens.refresh_token
    assert values["PORT"] == "3000"
    assert env.read_text().startswith("# backend\nPORT=3000\n")

    summary = wizard.done_page.summary.text()
    assert sandbox.account["name"] in summary
    assert tokens.refresh_token not in summary
    qtbot.mouseClick(wizard.done_page.copy, pytest.importorskip("PySide6.QtCore").Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert sandbox.integration.client_id in copied
    assert sandbox.integration.client_secret not in copied and tokens.access_token not in copied
    press_forward(qtbot, wizard)  # Finish
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
