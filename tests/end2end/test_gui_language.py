"""The wizard in Russian: every page walked, error states included, nothing left in English;
switching back restores English; the contract's accessible names hold in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    allow_and_exchange,
    click_in_consent,
    english_sources,
    make_wizard,
    no_browser,
    press_forward,
    sandbox_prefill,
    set_language,
    untranslated,
    visible_texts,
    wait_for_consent_loaded,
    wait_for_step,
)
from wizard.core.i18n import current_language
from wizard.sandbox import Sandbox
from wizard.ui.model import Step
from wizard.ui.wizard import SetupWizard

__all__ = ["make_wizard", "no_browser"]

pytestmark = pytest.mark.gui


class Walk:
    """Collects what the admin sees, page after page, and what is still English."""

    def __init__(self, wizard: SetupWizard) -> None:
        self.wizard = wizard
        self.sources = english_sources()
        self.left: list[tuple[str, str, str]] = []
        self.seen = 0

    def look(self, where: str) -> None:
        texts = visible_texts(self.wizard)
        self.seen += len(texts)
        self.left += [(where, text, source) for text, source in untranslated(texts, self.sources)]

    def with_help(self, qtbot, where: str) -> None:  # type: ignore[no-untyped-def]
        help_button = self.wizard.button(QWizard.WizardButton.HelpButton)
        qtbot.mouseClick(help_button, Qt.MouseButton.LeftButton)
        page = self.wizard.currentPage()
        assert page.help_panel is not None and page.help_panel.isVisible()
        self.look(where + " (help open)")
        qtbot.mouseClick(help_button, Qt.MouseButton.LeftButton)
        assert not page.help_panel.isVisible()


def test_every_page_in_russian_and_back_to_english(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    env = tmp_path / ".env"
    registered = sandbox.integration.redirect_uri
    # A trailing slash amoCRM does not have: the redirect URI mismatch is one of the states walked.
    wizard = make_wizard(sandbox_prefill(sandbox, redirect_uri=registered + "/"), env)
    qtbot.waitUntil(lambda: wizard.welcome.notice.isVisible(), timeout=WAIT_MS)
    english_title = wizard.windowTitle()
    set_language(wizard, "ru")
    assert current_language() == "ru"
    walk = Walk(wizard)
    assert wizard.windowTitle() != english_title
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "&Далее >"  # qtbase's own catalogue
    walk.look("Welcome, nothing stored")
    walk.with_help(qtbot, "Welcome")

    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    details.client_id.setText("not-a-uuid")
    details.fields[1].touched = True
    details.fields[1].refresh()
    walk.look("Details, a field wrong")
    walk.with_help(qtbot, "Details")
    details.use_token.click()
    walk.look("Details, long-lived token")
    walk.with_help(qtbot, "Details, long-lived token")
    details.use_consent.click()
    details.client_id.setText(sandbox.integration.client_id)

    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    wait_for_consent_loaded(qtbot, wizard)
    walk.look("Consent, loaded")
    walk.with_help(qtbot, "Consent")
    qtbot.mouseClick(wizard.consent.own_browser, Qt.MouseButton.LeftButton)
    walk.look("Consent, opened in my own browser")
    click_in_consent(wizard, "deny")
    qtbot.waitUntil(lambda: wizard.consent.notice.kind.value == "error", timeout=WAIT_MS)
    walk.look("Consent, access denied")
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")

    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    exchange = wizard.exchange
    qtbot.waitUntil(lambda: exchange.fix_button.isVisible(), timeout=WAIT_MS)
    assert exchange.compare is not None
    walk.look("Exchange, redirect URI mismatch")
    exchange.compare.registered.setText(registered)
    walk.look("Exchange, redirect URIs compared")
    walk.with_help(qtbot, "Exchange")
    qtbot.mouseClick(exchange.compare.use_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert details.redirect.text() == registered
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    allow_and_exchange(qtbot, wizard)
    walk.look("Exchange, connected")

    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    save = wizard.save
    walk.look("Save, the plan")
    walk.with_help(qtbot, "Save")
    save.target.set_env_path(str(tmp_path / "missing" / "folder" / ".env"))
    press_forward(qtbot, wizard)
    qtbot.waitUntil(lambda: save.notice.kind.value == "error" and save.notice.isVisible(), timeout=WAIT_MS)
    walk.look("Save, not writable")
    save.target.set_db_url("")
    walk.look("Save, database chosen")
    save.target.set_env_path(str(env))
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    done = wizard.done_page
    qtbot.waitUntil(lambda: done.plan is not None or done._plan_error is not None, timeout=WAIT_MS)
    walk.look("Done")
    walk.with_help(qtbot, "Done")
    qtbot.mouseClick(done.copy, Qt.MouseButton.LeftButton)
    walk.look("Done, copied")

    assert walk.seen > 150
    assert walk.left == [], "\n".join(f"{where}: {text!r} (source {src!r})" for where, text, src in walk.left)

    # Back to English: everything on screen is English again, live.
    set_language(wizard, "en")
    assert current_language() == "en"
    assert wizard.windowTitle() == english_title
    assert wizard.button(QWizard.WizardButton.FinishButton).text() == "&Finish"
    assert done.title() == "All set"
    assert "The account is connected" in done.subTitle()
    assert done.copied.text() == "Copied."
    assert done.keep_alive.title() == "Keep the connection alive"
    texts = visible_texts(wizard)
    assert not any(any("а" <= ch <= "я" for ch in text.lower()) for text in texts if "amoCRM" not in text), [
        t for t in texts if any("а" <= ch <= "я" for ch in t.lower())
    ]


def test_the_welcome_page_of_a_second_run_and_its_errors_in_russian(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    set_language(wizard, "ru")
    walk = Walk(wizard)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    walk.look("Welcome, a connection stored")
    # A database that refuses: the read error on the Welcome page.
    wizard.welcome.target.set_db_url("mysql://nobody:pw@127.0.0.1:1/x")
    qtbot.waitUntil(lambda: wizard.welcome.notice.kind.value == "error", timeout=WAIT_MS)
    walk.look("Welcome, database refused")
    assert walk.left == [], walk.left
    # Renew now in Russian, on to the Done page of a renewal.
    wizard.welcome.target.set_env_path(str(connected_env))
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    wizard.welcome.renew_radio.click()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    walk.look("Exchange, renewed")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    walk.look("Done after a renewal")
    assert walk.left == [], walk.left


def test_the_language_follows_the_system_locale(monkeypatch):
    from wizard.core import i18n

    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    assert i18n.system_language() == "ru"
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert i18n.system_language() == "en"


def test_main_starts_in_the_system_language(qtbot, monkeypatch, tmp_path: Path, no_browser):
    """``wizard.app.main`` picks the language before the first window: a Russian system gets
    a Russian wizard, Qt's own buttons included."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import wizard.app
    from wizard.core import i18n
    from wizard.ui import texts

    monkeypatch.setenv(i18n.LANGUAGE_ENV, "ru")
    monkeypatch.setattr(i18n, "_language", None)
    seen: dict[str, str] = {}

    def look() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, SetupWizard) and widget.isVisible():
                seen["title"] = widget.windowTitle()
                seen["cancel"] = widget.button(QWizard.WizardButton.CancelButton).text()
                widget.reject()
                return
        QTimer.singleShot(20, look)

    QTimer.singleShot(20, look)
    try:
        assert wizard.app.main(["--env", str(tmp_path / ".env")]) == 1  # closed with Cancel
    finally:
        texts.switch_language("en")
    assert seen == {"title": "Мастер подключения amoCRM", "cancel": "Отмена"}


def test_the_contract_names_in_english_and_translated_ones_in_russian(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    details = wizard.details
    fields = [details.account, details.client_id, details.secret, details.redirect]
    contract = ["Account address", "Client ID", "Client secret", "Redirect URI"]
    assert [f.accessibleName() for f in fields] == contract
    set_language(wizard, "ru")
    assert all(f.accessibleName() and f.accessibleName() not in contract for f in fields)
    set_language(wizard, "en")
    assert [f.accessibleName() for f in fields] == contract


def test_the_long_lived_token_path_in_russian(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(
        sandbox_prefill(sandbox, client_id="", client_secret="", redirect_uri=""), tmp_path / ".env"
    )
    set_language(wizard, "ru")
    walk = Walk(wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wizard.details.use_token.click()
    wizard.details.token.setText("not a token")
    wizard.details.fields[-1].touched = True
    wizard.details.fields[-1].refresh()
    walk.look("Details, a wrong long-lived token")
    wizard.details.token.setText(sandbox.issue_long_lived_token(7))
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    walk.look("Exchange, long-lived token works")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    walk.look("Done, long-lived token")
    assert "продлить" in wizard.done_page.renew.text()  # it says it cannot be renewed
    assert walk.left == [], walk.left
