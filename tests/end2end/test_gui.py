"""The real wizard, offscreen, against the real sandbox over HTTP, consent page in QtWebEngine."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    allow_and_exchange,
    allow_and_finish,
    click_in_consent,
    log_requests,
    make_wizard,
    no_browser,
    press_forward,
    sandbox_prefill,
    wait_for_consent_loaded,
    wait_for_step,
)
from wizard.core.connection import OWNED_KEYS
from wizard.sandbox import Sandbox
from wizard.ui.model import Step

__all__ = ["make_wizard", "no_browser"]  # the fixture, imported for pytest

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

    allow_and_exchange(qtbot, wizard)
    assert wizard.exchange.account_name.text() == sandbox.account["name"]
    assert wizard.exchange.account_id.text() == str(sandbox.account["id"])
    assert "CRM data (deals, contacts" in wizard.exchange.scopes.text()  # scopes in words, not `crm`
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
    qtbot.mouseClick(wizard.done_page.copy, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert sandbox.integration.client_id in copied
    assert sandbox.integration.client_secret not in copied and tokens.access_token not in copied
    press_forward(qtbot, wizard)  # Finish
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)


def test_deny_returns_to_the_consent_page_with_a_plain_message(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_consent(qtbot, wizard)
    first_state = wizard.consent.state
    click_in_consent(wizard, "deny")
    qtbot.waitUntil(lambda: "not granted" in wizard.consent.notice.text(), timeout=WAIT_MS)
    assert wizard.currentId() == Step.CONSENT.value
    assert wizard.consent.notice.kind.value == "error"
    # The consent page is offered again, with a new state, and Allow still works after it.
    qtbot.waitUntil(lambda: wizard.consent.loaded_ok, timeout=WAIT_MS)
    assert wizard.consent.state != first_state
    assert not env.exists() and sandbox.stats.exchanges == 0
    allow_and_exchange(qtbot, wizard)


def test_a_forged_state_is_refused_and_nothing_is_written(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_consent(qtbot, wizard)
    requests_seen = log_requests(wizard)
    forged = f"{sandbox.integration.redirect_uri}?code={sandbox.issue_code()}&state=forged&referer=x"
    wizard.consent.view().load(forged)
    qtbot.waitUntil(lambda: "does not belong" in wizard.consent.notice.text(), timeout=WAIT_MS)
    assert wizard.currentId() == Step.CONSENT.value
    assert not wizard.consent.isComplete()
    qtbot.waitUntil(lambda: wizard.consent.loaded_ok, timeout=WAIT_MS)
    assert not any("/callback" in url for url in requests_seen.urls)
    assert sandbox.stats.exchanges == 0
    assert not env.exists()


def test_a_wrong_secret_names_the_fix_and_writes_nothing(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret="x" * 64), env)
    _to_consent(qtbot, wizard)
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.exchange.fix_button.isVisible(), timeout=WAIT_MS)
    message = wizard.exchange.notice.text()
    assert "secret" in message.lower() and "Keys and scopes" in message
    assert "Nothing was saved" in message
    assert wizard.exchange.fix_button.text() == "Go back to the integration details"
    assert not wizard.exchange.isComplete()
    assert not env.exists()
    qtbot.mouseClick(wizard.exchange.fix_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    # Fix the secret, go through consent again: a new code, and this time it works.
    wizard.details.secret.setText(sandbox.integration.client_secret)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    allow_and_exchange(qtbot, wizard)
    assert not env.exists()  # still nothing until Save


def test_an_unreachable_account_gives_a_plain_error_and_the_window_stays_responsive(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox, account="http://127.0.0.1:1"), env)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    qtbot.waitUntil(lambda: wizard.consent.retry.isVisible(), timeout=WAIT_MS)
    # An error panel, and no Chromium error page beside it; Retry has the focus.
    assert (
        wizard.consent.notice.kind.value == "error" and "could not be loaded" in wizard.consent.notice.text()
    )
    assert not wizard.consent.view().isVisible()
    assert QApplication.focusWidget() is wizard.consent.retry
    # The paste-a-code way round: the exchange cannot reach the account either.
    wizard.consent.code_edit.setText(sandbox.issue_code())
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.exchange.fix_button.isVisible(), timeout=WAIT_MS)
    assert "Could not connect to 127.0.0.1:1" in wizard.exchange.notice.text()
    # Responsive: Back works and the fields can be edited.
    qtbot.mouseClick(wizard.exchange.fix_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wizard.details.account.setText(sandbox.base_url)
    assert wizard.details.isComplete()
    assert not env.exists()


def test_the_paste_code_fallback_connects(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_consent(qtbot, wizard)
    assert not wizard.consent.isComplete()
    wizard.consent.code_edit.setText(sandbox.issue_code())
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert dotenv_values(env)["AMOCRM_ACCESS_TOKEN"] == wizard.session.result.connection.tokens.access_token


def test_the_pasted_redirect_address_fallback_connects(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    from tests.helpers import allow

    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_consent(qtbot, wizard)
    wizard.consent.address_edit.setText(allow(sandbox, "from-my-own-browser"))
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.exchanges == 1


def test_closing_mid_exchange_drops_the_result_and_writes_nothing(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_consent(qtbot, wizard)
    wizard.consent.code_edit.setText(sandbox.issue_code())
    press_forward(qtbot, wizard)
    assert wizard.currentId() == Step.EXCHANGE.value and wizard.worker.busy
    wizard.close()  # while the exchange is in flight
    assert not wizard.worker.busy
    assert wizard.worker.wait_for_threads(WAIT_MS)
    qtbot.wait(100)  # let any queued result arrive (and be dropped)
    assert wizard.session.result is None
    assert not env.exists()


# --- a second run, with a connection already stored ----------------------------------


def test_a_rerun_shows_the_stored_connection_and_tests_it(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    shown = wizard.welcome.summary.text()
    assert sandbox.base_url in shown and "valid until" in shown and "days left" in shown
    assert wizard.welcome.test_radio.isChecked()
    before = connected_env.read_text()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert wizard.exchange.account_name.text() == sandbox.account["name"]
    assert "works" in wizard.exchange.notice.text()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert connected_env.read_text() == before  # a healthy pair is not renewed by a test
    assert sandbox.stats.refreshes == 0


def test_renew_now_rotates_the_pair(qtbot, make_wizard, sandbox: Sandbox, connected_env: Path):
    old = dotenv_values(connected_env)
    refreshes = sandbox.stats.refreshes
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    wizard.welcome.renew_radio.click()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.refreshes == refreshes + 1
    new = dotenv_values(connected_env)
    assert new["AMOCRM_REFRESH_TOKEN"] != old["AMOCRM_REFRESH_TOKEN"]
    assert new["AMOCRM_ACCESS_TOKEN"] != old["AMOCRM_ACCESS_TOKEN"]
    assert new["PORT"] == "3000"
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert "renewed" in wizard.done_page.subTitle()


def test_connect_again_is_prefilled_from_the_target(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret=""), connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    wizard.welcome.again_radio.click()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    assert details.account.text() == sandbox.base_url
    assert details.client_id.text() == sandbox.integration.client_id
    assert details.secret.text() == sandbox.integration.client_secret
    assert details.redirect.text() == sandbox.integration.redirect_uri
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    allow_and_finish(qtbot, wizard)
    assert dotenv_values(connected_env)["AMOCRM_ACCESS_TOKEN"] == (
        wizard.session.result.connection.tokens.access_token
    )


def test_the_targets_secret_comes_before_the_environments(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path, monkeypatch: pytest.MonkeyPatch
):
    """Contract, "Database layout": flags, then the target, then the environment, for the
    secret too; AMOCRM_CLIENT_SECRET is the environment, not a typed value."""
    from wizard.app import _prefill

    monkeypatch.setenv("AMOCRM_CLIENT_SECRET", "the-environments-secret-which-is-not-the-stored-one")
    it = sandbox.integration
    options = argparse.Namespace(
        account=sandbox.base_url,
        client_id=it.client_id,
        redirect_uri=it.redirect_uri,
        env=str(connected_env),
        db=None,
        restart_cmd=None,
    )
    prefill, _target = _prefill(options, None)
    wizard = make_wizard(prefill, connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    wizard.welcome.again_radio.click()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert wizard.details.secret.text() == it.client_secret


def test_a_dead_refresh_token_sends_the_admin_to_connect_again(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path
):
    text = connected_env.read_text()
    # Stored pair from long ago: the access token expired, the refresh token is past 3 months.
    values = dotenv_values(connected_env)
    connected_env.write_text(
        text.replace(values["AMOCRM_TOKEN_EXPIRES_AT"], "2020-01-01T00:00:00Z"), encoding="utf-8"
    )
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    assert "died" in wizard.welcome.summary.text()
    assert wizard.welcome.again_radio.isChecked()
    assert not wizard.welcome.renew_radio.isEnabled()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert wizard.details.isComplete()


def test_saving_to_a_sqlite_database_tests_it_first_and_the_welcome_page_reads_it_back(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    from wizard.targets import open_target

    url = f"sqlite:///{tmp_path / 'backend.db'}"
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    _to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    chooser = wizard.save.target
    chooser.set_db_url(url)
    assert "Test database" in wizard.save.plan.text()
    qtbot.mouseClick(chooser._test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "can be written" in wizard.save.notice.text(), timeout=WAIT_MS)
    assert "AMOCRM_REFRESH_TOKEN" in wizard.save.plan.text()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert not (tmp_path / ".env").exists()
    stored = open_target(db=url).load()
    assert stored is not None and stored.tokens == wizard.session.result.connection.tokens

    # A second run pointed at the database finds the connection there.
    from wizard.ui.model import TargetChoice, TargetKind
    from wizard.ui.wizard import SetupWizard

    again = SetupWizard(sandbox_prefill(sandbox), TargetChoice(TargetKind.DB, url))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    assert sandbox.base_url in again.welcome.summary.text()
    again.worker.wait_for_threads(WAIT_MS)
