"""The consent page walked as an admin would (issue 13): the Redirect URI typo rescued, the
focus where the admin acts next, and the page safe to come back to."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    click_in_consent,
    forward_button,
    log_requests,
    make_wizard,
    no_browser,
    page_value,
    press_forward,
    sandbox_prefill,
    to_consent,
    wait_for_consent_loaded,
    wait_for_page_keyboard,
    wait_for_step,
)
from wizard.core.catalogue import first_difference
from wizard.sandbox import Sandbox
from wizard.ui.model import Step
from wizard.ui.wizard import SetupWizard

__all__ = ["make_wizard", "no_browser"]

pytestmark = pytest.mark.gui

REGISTERED = "https://backend.example/amocrm/callback"
TYPO = "https://backend.example/amocrm/callbak"


def _active(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=WAIT_MS)


def _focused() -> QWidget | None:
    return QApplication.focusWidget()


def _focus_in_web_page(wizard: SetupWizard) -> bool:
    focused, view = _focused(), wizard.consent.view()
    return focused is not None and (focused is view or view.isAncestorOf(focused))


def _key(qtbot, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    """A key pressed where the focus is, as the admin's keyboard would."""
    focused = _focused()
    assert focused is not None
    qtbot.keyClick(focused, key)


def _active_element(qtbot, wizard: SetupWizard) -> str:  # type: ignore[no-untyped-def]
    return str(page_value(qtbot, wizard, "document.activeElement ? document.activeElement.id : ''"))


# --- 13.1: the Redirect URI typo ---------------------------------------------------------


def test_a_redirect_uri_typo_is_rescued_and_nothing_is_sent_until_the_admin_agrees(
    qtbot, make_wizard, sandbox: Sandbox, no_browser: list[str], tmp_path: Path
):
    """…/callbak typed, …/callback registered: amoCRM answers on the registered address,
    which the wizard takes as its redirect, shows beside the typed one and offers to use."""
    integration = sandbox.add_integration(redirect_uri=REGISTERED)
    env = tmp_path / ".env"
    prefill = sandbox_prefill(
        sandbox, client_id=integration.client_id, client_secret=integration.client_secret, redirect_uri=TYPO
    )
    wizard = make_wizard(prefill, env)
    _active(qtbot, wizard)
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    requests_seen = log_requests(wizard)
    click_in_consent(wizard, "allow")
    consent = wizard.consent
    qtbot.waitUntil(consent.use_registered.isVisible, timeout=WAIT_MS)

    # Nothing sent, nothing opened elsewhere, the answer never loaded.
    assert wizard.currentId() == Step.CONSENT.value
    assert sandbox.stats.exchanges == 0 and not env.exists()
    assert no_browser == [] and not consent.open_external.isVisible()
    assert not any("backend.example" in url for url in requests_seen.urls)
    assert "backend.example" not in consent.view().url().toString()
    # Both addresses, the difference marked; the registered side filled from the redirect.
    compare = consent.compare
    assert compare is not None and compare.isVisible()
    assert compare.sent.text() == TYPO and compare.registered.text() == REGISTERED
    assert compare.registered.isReadOnly() and not compare.use_button.isVisible()
    position = first_difference(TYPO, REGISTERED) + 1
    assert str(position) in compare.first.text()  # the first differing character, by position
    assert "you entered" in compare.first.text() and "sent" not in compare.first.text()  # nothing was
    html = compare.comparison.toHtml()
    assert "<u>" in html or "underline" in html
    assert REGISTERED in consent.notice.text()
    assert not consent.isComplete()
    # The way on is the default button and has the focus: Enter agrees.
    assert isinstance(consent.use_registered, QPushButton) and consent.use_registered.isDefault()
    assert _focused() is consent.use_registered
    _key(qtbot, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.exchanges == 1
    assert wizard.session.redirect_uri == REGISTERED and wizard.details.redirect.text() == REGISTERED
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert dotenv_values(env)["AMOCRM_REDIRECT_URI"] == REGISTERED


def test_the_typo_rescue_speaks_russian(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    from tests.end2end.gui_fixtures import english_sources, set_language, untranslated, visible_texts

    integration = sandbox.add_integration(redirect_uri=REGISTERED)
    prefill = sandbox_prefill(
        sandbox, client_id=integration.client_id, client_secret=integration.client_secret, redirect_uri=TYPO
    )
    wizard = make_wizard(prefill, tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    qtbot.waitUntil(wizard.consent.use_registered.isVisible, timeout=WAIT_MS)
    set_language(wizard, "ru")
    shown = [t for t in visible_texts(wizard.consent) if REGISTERED not in t]
    assert untranslated(shown, english_sources()) == []
    assert any(REGISTERED in t for t in visible_texts(wizard.consent))


# --- 13.2: the focus ---------------------------------------------------------------------


def test_the_web_page_takes_the_focus_tab_reaches_allow_and_next_has_it_after(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    _active(qtbot, wizard)
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    qtbot.waitUntil(lambda: _focus_in_web_page(wizard), timeout=WAIT_MS)
    wait_for_page_keyboard(qtbot, wizard)
    # Keys only from here: Tab reaches the page's own Allow first, Enter presses it.
    _key(qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: _active_element(qtbot, wizard) == "allow", timeout=WAIT_MS)
    _key(qtbot, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.exchanges == 1
    qtbot.waitUntil(lambda: _focused() is forward_button(wizard), timeout=WAIT_MS)
    _key(qtbot, Qt.Key.Key_Return)  # Enter goes on, as the admin expects
    wait_for_step(qtbot, wizard, Step.SAVE)


def test_go_back_to_the_integration_details_is_the_default_and_works_with_enter(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox, client_id=str(uuid.uuid4())), tmp_path / ".env")
    _active(qtbot, wizard)
    to_consent(qtbot, wizard)
    consent = wizard.consent
    qtbot.waitUntil(consent.back_to_details.isVisible, timeout=WAIT_MS)  # amoCRM's 400 page
    assert consent.back_to_details.text() == "Go back to the integration details"
    assert consent.back_to_details.isDefault() and not consent.retry.isDefault()
    assert _focused() is consent.back_to_details
    _key(qtbot, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.DETAILS)


def test_a_page_that_cannot_load_offers_to_try_again_by_default(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox, account="http://127.0.0.1:1"), tmp_path / ".env")
    _active(qtbot, wizard)
    to_consent(qtbot, wizard)
    consent = wizard.consent
    qtbot.waitUntil(consent.retry.isVisible, timeout=WAIT_MS)
    assert not consent.back_to_details.isVisible()
    assert consent.retry.isDefault() and _focused() is consent.retry


# --- 13.3: safe to re-enter ----------------------------------------------------------------


def test_back_from_getting_the_tokens_gives_a_fresh_consent_page_that_works(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    first_state = wizard.consent.state
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.mouseClick(wizard.button(wizard.WizardButton.BackButton), Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    consent = wizard.consent
    assert "Getting the tokens" not in consent.notice.text()
    wait_for_consent_loaded(qtbot, wizard)
    assert consent.state != first_state
    assert "Press “Allow”" in consent.status.text()
    assert not consent.isComplete() and not forward_button(wizard).isEnabled()
    exchanges = sandbox.stats.exchanges
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.exchanges == exchanges + 1


def test_the_consent_page_entered_again_from_the_details_works(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    for _ in range(2):
        wizard.back()
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert wizard.session.code == ""
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    assert "Getting the tokens" not in wizard.consent.notice.text()
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert sandbox.stats.exchanges == 2
