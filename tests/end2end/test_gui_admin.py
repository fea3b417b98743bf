"""An admin finishes alone (issue 13): focus where the admin acts next, nothing thrown away
without asking, addresses and secrets explained in the admin's terms, the Save page asking
nothing twice, the Done page saying where the renewal belongs, and a keyboard-only walk from
Welcome to Done in English and Russian. Real wizard, real sandbox, real QtWebEngine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPlainTextEdit, QWidget, QWizard

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    allow_and_exchange,
    forward_button,
    make_wizard,
    no_browser,
    page_value,
    press_forward,
    sandbox_prefill,
    set_language,
    to_consent,
    wait_for_consent_loaded,
    wait_for_page_keyboard,
    wait_for_step,
)
from wizard import schedule
from wizard.sandbox import Sandbox
from wizard.ui import texts
from wizard.ui.model import Step
from wizard.ui.wizard import SetupWizard

__all__ = ["make_wizard", "no_browser"]

pytestmark = pytest.mark.gui


def focused() -> QWidget | None:
    return QApplication.focusWidget()


def wait_for_focus(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: focused() is widget, timeout=WAIT_MS)


def type_text(widget: QWidget, text: str) -> None:
    """Key events carrying ``text`` (QTest.keyClicks takes Latin-1 only)."""
    from PySide6.QtTest import QTest

    for char in text:
        QTest.sendKeyEvent(
            QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, char, Qt.KeyboardModifier.NoModifier
        )


def answer_close_question(wizard: SetupWizard, *, close: bool, seen: list[str]) -> None:
    """When the wizard asks whether to close, answer it with a key (Escape keeps it open)."""
    from PySide6.QtTest import QTest

    def look() -> None:
        box = wizard.close_question
        if box is None or not box.isVisible():
            QTimer.singleShot(20, look)
            return
        seen.append(f"{box.text()} {box.informativeText()}")
        if not close:
            QTest.keyClick(box, Qt.Key.Key_Escape)
            return
        for button in box.buttons():
            if box.buttonRole(button) is QMessageBox.ButtonRole.DestructiveRole:
                button.setFocus()
                QTest.keyClick(button, Qt.Key.Key_Space)
                return

    QTimer.singleShot(20, look)


# --- focus -------------------------------------------------------------------------------


def test_focus_is_where_the_admin_acts_next_on_every_page(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(schedule, "install", lambda _plan: None)
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret=""), tmp_path / ".env")
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    # Welcome: once the target is read, Next.
    wait_for_focus(qtbot, next_button)
    qtbot.keyClick(next_button, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    # Details: the first field that is still empty (the secret; the rest came from the flags).
    details = wizard.details
    wait_for_focus(qtbot, details.secret)
    qtbot.keyClicks(details.secret, sandbox.integration.client_secret)
    qtbot.keyClick(details.secret, Qt.Key.Key_Return)  # Enter in a field is the wizard's Next
    wait_for_step(qtbot, wizard, Step.CONSENT)
    allow_and_exchange(qtbot, wizard)
    # Exchange: once the tokens work, Next.
    wait_for_focus(qtbot, next_button)
    qtbot.keyClick(next_button, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.SAVE)
    # Save: the Save (commit) button.
    commit = wizard.button(QWizard.WizardButton.CommitButton)
    wait_for_focus(qtbot, commit)
    qtbot.keyClick(commit, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.DONE)
    # Done: Finish.
    wait_for_focus(qtbot, wizard.button(QWizard.WizardButton.FinishButton))


def test_the_details_page_focuses_the_first_empty_field(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox, client_id="", client_secret=""), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wait_for_focus(qtbot, wizard.details.client_id)
    assert wizard.details.fields[1].status.text() == ""  # not scolded before typing


def test_after_an_error_the_fix_button_has_the_focus_and_enter_presses_it(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wrong = "y" * 64
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret=wrong), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    from tests.end2end.gui_fixtures import click_in_consent

    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    fix = wizard.exchange.fix_button
    qtbot.waitUntil(fix.isVisible, timeout=WAIT_MS)
    wait_for_focus(qtbot, fix)
    assert fix.isDefault()
    qtbot.keyClick(fix, Qt.Key.Key_Return)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    # The refused secret is not "looks right" any more; the focus is on it.
    details = wizard.details
    status = details.fields[2].status
    assert status.is_error and "refused" in status.text() and "Looks right" not in status.text()
    wait_for_focus(qtbot, details.secret)
    assert not details.isComplete()
    details.secret.selectAll()
    qtbot.keyClicks(details.secret, sandbox.integration.client_secret)
    assert status.text().startswith("✓") and details.isComplete()


# --- closing -------------------------------------------------------------------------------


def test_cancel_asks_before_an_unsaved_pair_is_lost(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    cancel = wizard.button(QWizard.WizardButton.CancelButton)
    seen: list[str] = []
    answer_close_question(wizard, close=False, seen=seen)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert seen and "not saved" in seen[0]
    assert wizard.isVisible() and wizard.currentId() == Step.EXCHANGE.value
    assert wizard.session.result is not None  # the pair is still there
    # Escape asks too.
    answer_close_question(wizard, close=False, seen=seen)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert len(seen) == 2 and wizard.isVisible()
    # Saying "close" closes, and nothing was written.
    answer_close_question(wizard, close=True, seen=seen)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert wizard.result() == QWizard.DialogCode.Rejected
    assert not env.exists()


def test_cancel_with_nothing_to_lose_closes_at_once(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    qtbot.waitUntil(wizard.welcome.isComplete, timeout=WAIT_MS)
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert wizard.close_question is None


def test_escape_in_the_consent_page_asks_instead_of_closing(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    view = wizard.consent.view()
    view.setFocus()
    wait_for_page_keyboard(qtbot, wizard)  # Escape goes to the page first, as the admin's would
    target = view.focusProxy() or view
    seen: list[str] = []
    answer_close_question(wizard, close=False, seen=seen)
    qtbot.keyClick(target, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    assert wizard.isVisible() and wizard.currentId() == Step.CONSENT.value


# --- what the admin types --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["https://mycompany.amocrm.ru/leads", "https://mycompany.amocrm.ru/leads/pipeline/1?skip_filter=Y#x"],
)
def test_a_pasted_address_is_cut_to_the_account_and_said(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, typed: str
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    details.account.clear()
    qtbot.keyClicks(details.account, typed)
    status = details.fields[0].status
    assert not status.is_error
    assert "mycompany.amocrm.ru" in status.text() and "pasted address" in status.text()
    assert details.isComplete()
    set_language(wizard, "ru")
    assert "mycompany.amocrm.ru" in status.text() and "вставленного адреса" in status.text()
    set_language(wizard, "en")
    assert details.validatePage()
    assert wizard.session.account is not None
    assert wizard.session.account.base_url == "https://mycompany.amocrm.ru"


def test_a_cyrillic_account_name_is_told_its_real_problem(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    details.account.clear()
    type_text(details.account, "моякомпания")
    status = details.fields[0].status
    assert status.is_error
    assert "Cyrillic" in status.text() and "www" not in status.text()
    assert not details.isComplete()


def test_a_kommo_address_gets_a_kommo_example(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    details.account.clear()
    qtbot.keyClicks(details.account, "mycompany.kommo.ru")
    status = details.fields[0].status
    assert status.is_error and "mycompany.kommo.com" in status.text()
    assert "amocrm.ru" not in status.text()


def test_field_errors_are_styled_and_keep_their_room(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    from PySide6.QtGui import QPalette

    from wizard.ui.widgets import contrast_ratio

    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    status = details.fields[1].status
    before = details.redirect.geometry().top()
    details.client_id.clear()
    qtbot.keyClicks(details.client_id, "not-a-uuid")
    assert status.is_error and status.text().startswith("✗")
    shown = status.palette().color(QPalette.ColorRole.WindowText)
    window = status.palette().color(QPalette.ColorRole.Window)
    normal = details.palette().color(QPalette.ColorRole.WindowText)
    assert shown != normal  # not plain text colour
    assert contrast_ratio(shown, window) >= 4.5
    QApplication.processEvents()
    assert details.redirect.geometry().top() == before  # the form did not jump
    # amoCRM's own labels on the screen, the contract's accessible names kept.
    titles = [t.text() for t in details.titles]
    assert "Integration ID:" in titles and "Secret key:" in titles
    assert details.client_id.accessibleName() == "Client ID"
    assert details.secret.accessibleName() == "Client secret"


# --- the Save page asks nothing twice ----------------------------------------------------------


def test_the_save_page_shows_the_welcome_choice_once(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    save = wizard.save
    assert str(env) in save.destination.text()
    assert not save.target.isVisible()  # not asked again
    qtbot.keyClick(save.change, Qt.Key.Key_Space)
    assert save.target.isVisible()
    qtbot.keyClick(save.change, Qt.Key.Key_Space)
    assert not save.target.isVisible()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert dotenv_values(env)["AMOCRM_REFRESH_TOKEN"]


# --- the Done page ---------------------------------------------------------------------------


def _to_done(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)


def _one_line_monospace(box: QPlainTextEdit) -> None:
    from PySide6.QtGui import QFontInfo

    assert box.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap
    assert QFontInfo(box.font()).fixedPitch()
    assert box.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_the_done_page_says_where_the_renewal_belongs_on_a_server(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_done(qtbot, wizard)
    done = wizard.done_page
    qtbot.waitUntil(lambda: done.plan is not None or not done.scheduler_found, timeout=WAIT_MS)
    assert "server" in done.server.text() and "amocrm-wizard token" in done.server.text()
    assert "cron" not in done.server.text() and "systemd" not in done.server.text()  # said plainly
    command = done.server_command.text()
    assert command == f"amocrm-wizard refresh --if-older-than 30d --env {env}"
    _one_line_monospace(done.server_command.edit)
    # The help and the box agree: a daily check, renewing at 30 days.
    assert "daily" in done.schedule.text()
    done.toggle_help()
    assert "monthly" not in done.help_panel.body.text() and "once a day" in done.help_panel.body.text()
    # "renews the tokens each time it refreshes them" no more.
    assert "each time it refreshes" not in done.renew.text()
    # No OS keyring here (the tests' backend fails): said, with whether the admin must act.
    assert "You need not do anything" in done.renew.text()
    if done.plan is not None and done.plan.kind == "cron":
        # The crontab line whole, in its own box, never wrapped mid-flag.
        assert done.schedule_command.isVisible()
        assert "--if-older-than 30d --env" in done.schedule_command.text()
        _one_line_monospace(done.schedule_command.edit)
        assert "--if-older-than" not in done.schedule_plan.text()


def test_no_renewal_is_offered_where_this_computer_has_no_scheduler(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    _to_done(qtbot, wizard)
    done = wizard.done_page
    # No systemctl and no crontab on the PATH: the machine has no scheduler for the wizard.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    done.initializePage()
    qtbot.waitUntil(lambda: not done.scheduler_found, timeout=WAIT_MS)
    assert not done.schedule.isVisible()
    assert "no task scheduler" in done.schedule_plan.text()
    assert done.server.isVisible()  # the server's renewal is still said
    press_forward(qtbot, wizard)  # Finish works without it
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)


def test_the_demo_never_schedules_a_renewal_of_its_temporary_env(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    installed: list[object] = []
    monkeypatch.setattr(schedule, "install", installed.append)
    prefill = sandbox_prefill(sandbox)
    prefill.demo_base_url, prefill.demo_folder = sandbox.base_url, str(tmp_path)
    wizard = make_wizard(prefill, tmp_path / ".env")
    _to_done(qtbot, wizard)
    done = wizard.done_page
    assert not done.schedule.isVisible() and done.plan is None
    assert "demo" in done.schedule_plan.text()
    press_forward(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert installed == []


def test_the_demo_removes_its_temporary_folder_on_exit(qtbot, no_browser, monkeypatch: pytest.MonkeyPatch):
    import wizard.app

    monkeypatch.setenv("AMOCRM_WIZARD_LANG", "en")
    folders: list[str] = []

    def look() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, SetupWizard) and widget.isVisible():
                folders.append(widget.session.prefill.demo_folder)
                assert os.path.isdir(folders[0])
                widget.reject()
                return
        QTimer.singleShot(20, look)

    QTimer.singleShot(20, look)
    assert wizard.app.main(["--demo"]) == 1
    assert folders and not os.path.exists(folders[0])


# --- language ---------------------------------------------------------------------------------


def test_the_language_choice_is_remembered_for_the_next_start(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from wizard.core import i18n

    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    settings = QSettings("amocrm-wizard", "amocrm-wizard")
    try:
        wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
        qtbot.keyClick(wizard.welcome.language, Qt.Key.Key_Down)  # English → Русский
        assert i18n.current_language() == "ru"
        assert texts.startup_language() == "ru"
        texts.switch_language("en")  # as a new start in an English system would be
        assert texts.startup_language() == "ru"
        monkeypatch.setenv(i18n.LANGUAGE_ENV, "en")  # the environment still wins
        assert texts.startup_language() == "en"
    finally:
        settings.remove(texts.SETTINGS_LANGUAGE)


def test_the_sandbox_consent_page_speaks_the_wizards_language(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    set_language(wizard, "ru")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    found: list[str] = []
    page = wizard.consent.view().page()
    page.runJavaScript("document.getElementById('allow').textContent", 0, found.append)
    qtbot.waitUntil(lambda: bool(found), timeout=WAIT_MS)
    assert found == ["Разрешить"]


# --- the step indicator ---------------------------------------------------------------------


def test_the_steps_and_the_account_are_shown(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    steps = wizard.steps
    assert steps.isVisible()
    assert steps.current_text() == "Step 1 of 6: Start"
    to_consent(qtbot, wizard)
    assert steps.current_text() == "Step 3 of 6: Allow access"
    allow_and_exchange(qtbot, wizard)
    assert sandbox.account["name"] in steps.account()
    set_language(wizard, "ru")
    assert steps.current_text().startswith("Шаг 4 из 6")
    set_language(wizard, "en")


# --- keyboard only ----------------------------------------------------------------------------


def _press_allow_with_keys(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    """Tab through the consent page to its Allow button and press it, with key events only
    (the view is focused first if the page has not taken the focus itself)."""
    view = wizard.consent.view()
    if not view.hasFocus() and not (view.focusProxy() and view.focusProxy().hasFocus()):
        view.setFocus()

    def target():  # type: ignore[no-untyped-def]
        # Where a real keyboard's events go: the focus widget now. The view's focus proxy is
        # Chromium's render widget, which a busy machine may still be replacing while the page
        # settles; a proxy looked up once could be a widget that no longer receives anything.
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=WAIT_MS)
        return QApplication.focusWidget()

    active: object = None
    for _ in range(12):
        wait_for_page_keyboard(qtbot, wizard)  # every key goes where the admin sees the focus
        active = page_value(qtbot, wizard, "document.activeElement && document.activeElement.id")
        if active == "allow":
            break
        qtbot.keyClick(target(), Qt.Key.Key_Tab)
    assert active == "allow", active
    wait_for_page_keyboard(qtbot, wizard)
    qtbot.keyClick(target(), Qt.Key.Key_Space)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_keyboard_only_walk_from_welcome_to_done(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, language: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(schedule, "install", lambda _plan: None)
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret=""), env)
    press: Callable[[], None] = lambda: qtbot.keyClick(focused(), Qt.Key.Key_Return)  # noqa: E731
    if language == "ru":
        qtbot.keyClick(wizard.welcome.language, Qt.Key.Key_Down)
    assert texts.current_language() == language
    wait_for_focus(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    press()
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wait_for_focus(qtbot, wizard.details.secret)
    qtbot.keyClicks(focused(), sandbox.integration.client_secret)
    press()
    wait_for_step(qtbot, wizard, Step.CONSENT)
    wait_for_consent_loaded(qtbot, wizard)
    _press_allow_with_keys(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    wait_for_focus(qtbot, wizard.button(QWizard.WizardButton.NextButton))
    press()
    wait_for_step(qtbot, wizard, Step.SAVE)
    wait_for_focus(qtbot, forward_button(wizard))
    press()
    wait_for_step(qtbot, wizard, Step.DONE)
    wait_for_focus(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    press()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert wizard.result() == QWizard.DialogCode.Accepted
    assert dotenv_values(env)["AMOCRM_CLIENT_SECRET"] == sandbox.integration.client_secret
    assert dotenv_values(env)["AMOCRM_REFRESH_TOKEN"]


def test_after_deny_the_page_buttons_stay_in_view(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    from tests.end2end.gui_fixtures import click_in_consent

    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    wizard.resize(860, 560)  # a short window: the message after Deny takes room from the page
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "deny")
    qtbot.waitUntil(lambda: wizard.consent.notice.kind.value == "error", timeout=WAIT_MS)
    wait_for_consent_loaded(qtbot, wizard)
    seen: list[object] = []
    script = (
        "(function(){var r=document.getElementById('allow').getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight;})()"
    )

    def ask() -> None:
        seen.clear()
        wizard.consent.view().page().runJavaScript(script, 0, seen.append)

    def allow_in_view() -> bool:
        ask()
        qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
        return seen[0] is True

    qtbot.waitUntil(allow_in_view, timeout=WAIT_MS)
