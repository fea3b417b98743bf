"""The other ways in (long-lived token, the admin's own browser), help on every page, the
scheduled renewal offered on the Done page, dark-mode contrast and accessible descriptions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTextEdit,
    QWizard,
)

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    allow_and_exchange,
    allow_and_finish,
    click_in_consent,
    make_wizard,
    no_browser,
    press_forward,
    sandbox_prefill,
    set_language,
    to_consent,
    wait_for_consent_loaded,
    wait_for_step,
)
from tests.helpers import allow
from wizard import schedule
from wizard.core.catalogue import describe
from wizard.core.tokens import parse_utc
from wizard.sandbox import Sandbox
from wizard.ui.model import Step
from wizard.ui.widgets import Notice, contrast_ratio

__all__ = ["make_wizard", "no_browser"]

pytestmark = pytest.mark.gui


# --- a private integration's long-lived token ----------------------------------------


def test_a_long_lived_token_is_tested_saved_with_its_expiry_and_its_end_is_said(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox, client_id="", client_secret="", redirect_uri=""), env)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    assert not details.token.isVisible()
    assert not details.isComplete()  # the consent flow needs all four values
    details.use_token.click()
    assert details.token.isVisible() and details.token.echoMode() == QLineEdit.EchoMode.Password
    details.token.setText("not a token")
    assert not details.isComplete()
    token = sandbox.issue_long_lived_token(30)
    details.token.setText(token)
    assert details.isComplete()  # Client ID, secret and Redirect URI are optional here
    exchanges = sandbox.stats.exchanges
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)  # no consent page on this path
    assert Step.CONSENT.value not in wizard.visitedIds()
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert wizard.exchange.account_name.text() == sandbox.account["name"]  # tested with fetch_account
    assert "cannot be renewed" in wizard.exchange.refresh_expiry.text()
    assert sandbox.stats.exchanges == exchanges
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)

    values = dotenv_values(env)
    assert values["AMOCRM_ACCESS_TOKEN"] == token
    assert values["AMOCRM_REFRESH_TOKEN"] == ""
    expires = parse_utc(values["AMOCRM_TOKEN_EXPIRES_AT"])
    expected = datetime.fromtimestamp(sandbox.now(), timezone.utc) + timedelta(days=30)
    assert abs((expires - expected).total_seconds()) < 120  # the JWT's exp
    done = wizard.done_page
    assert "long-lived token" in done.renew.text() and "cannot be renewed" in done.renew.text()
    assert expires.astimezone().strftime("%Y-%m-%d") in done.renew.text()
    assert not done.schedule.isVisible()  # nothing can renew it; said so instead
    assert "Nothing to schedule" in done.schedule_plan.text()

    # Run again: the Welcome page knows it is long-lived and offers no renewal.
    from wizard.ui.model import TargetChoice, TargetKind
    from wizard.ui.wizard import SetupWizard

    again = SetupWizard(sandbox_prefill(sandbox), TargetChoice(TargetKind.ENV, str(env)))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    assert "Long-lived token: valid until" in again.welcome.summary.text()
    assert not again.welcome.renew_radio.isEnabled()
    again.worker.wait_for_threads(WAIT_MS)


def test_a_rejected_long_lived_token_leads_back_to_the_details(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    from wizard.core import errors as e

    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wizard.details.use_token.click()
    token = sandbox.issue_long_lived_token(1)
    sandbox.advance(2 * 86400)  # it ended yesterday: amoCRM refuses it
    wizard.details.token.setText(token)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.exchange.fix_button.isVisible(), timeout=WAIT_MS)
    assert isinstance(wizard.exchange.notice.error, e.AccessTokenRejectedError)
    assert wizard.exchange.notice.title_label.text() == describe(wizard.exchange.notice.error).title
    qtbot.mouseClick(wizard.exchange.fix_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert not (tmp_path / ".env").exists()


# --- the consent page in the admin's own browser -------------------------------------


def test_the_consent_page_in_my_own_browser_and_the_address_pasted_back(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, no_browser: list[str]
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    qtbot.mouseClick(wizard.consent.own_browser, Qt.MouseButton.LeftButton)
    assert len(no_browser) == 1 and no_browser[0].startswith(sandbox.base_url + "/oauth?")
    assert f"state={wizard.consent.state}" in no_browser[0]
    assert "Allow" in wizard.consent.notice.text()
    assert wizard.consent.address_edit.hasFocus() or not wizard.isActiveWindow()
    # What the admin's browser went to after Allow, pasted back.
    wizard.consent.address_edit.setText(allow(sandbox, wizard.consent.state))
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)


# --- help on every page -----------------------------------------------------------------


def _check_help(qtbot, wizard, no_browser: list[str], base_url: str) -> None:  # type: ignore[no-untyped-def]
    page = wizard.currentPage()
    help_button = wizard.button(QWizard.WizardButton.HelpButton)
    assert help_button.isVisible() and "?" in help_button.text()
    qtbot.mouseClick(help_button, Qt.MouseButton.LeftButton)
    panel = page.help_panel
    assert panel is not None and panel.isVisible(), type(page).__name__
    assert "Settings → Integrations" in panel.body.text(), type(page).__name__
    assert panel.open_button.isEnabled()
    before = len(no_browser)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert no_browser[before:] == [f"{base_url}/settings/widgets/"]
    set_language(wizard, "ru")
    assert "Настройки → Интеграции" in panel.body.text()
    set_language(wizard, "en")
    qtbot.mouseClick(panel.hide_button, Qt.MouseButton.LeftButton)
    assert not panel.isVisible()


def test_help_on_every_page_names_the_menu_and_opens_the_accounts_integrations(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, no_browser: list[str]
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    qtbot.waitUntil(lambda: wizard.welcome.isComplete(), timeout=WAIT_MS)
    base = sandbox.base_url
    _check_help(qtbot, wizard, no_browser, base)  # Welcome: the account from the flags
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    _check_help(qtbot, wizard, no_browser, base)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    wait_for_consent_loaded(qtbot, wizard)
    _check_help(qtbot, wizard, no_browser, base)
    allow_and_exchange(qtbot, wizard)
    _check_help(qtbot, wizard, no_browser, base)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    _check_help(qtbot, wizard, no_browser, base)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    _check_help(qtbot, wizard, no_browser, base)


def test_the_settings_button_waits_for_an_account_address(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    from wizard.ui import links

    assert (
        links.settings_url("https://mycompany.amocrm.ru") == "https://mycompany.amocrm.ru/settings/widgets/"
    )
    assert (
        links.settings_url("https://mycompany.kommo.com/") == "https://mycompany.kommo.com/settings/widgets/"
    )
    wizard = make_wizard(sandbox_prefill(sandbox, account=""), tmp_path / ".env")
    qtbot.waitUntil(lambda: wizard.welcome.isComplete(), timeout=WAIT_MS)
    wizard.welcome.toggle_help()
    assert not wizard.welcome.help_panel.open_button.isEnabled()
    assert "account address first" in wizard.welcome.help_panel.open_button.accessibleDescription()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    wizard.details.account.setText("mycompany")
    wizard.details.toggle_help()
    assert wizard.details.help_panel.open_button.isEnabled()
    assert wizard.account_url() == "https://mycompany.amocrm.ru"


# --- the scheduled renewal ------------------------------------------------------------------


def _to_done(qtbot, wizard) -> None:  # type: ignore[no-untyped-def]
    to_consent(qtbot, wizard)
    allow_and_finish(qtbot, wizard)
    done = wizard.done_page
    qtbot.waitUntil(lambda: done.schedule.isEnabled(), timeout=WAIT_MS)


def test_the_daily_renewal_is_offered_and_set_up_on_finish(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    installed: list[schedule.SchedulePlan] = []
    monkeypatch.setattr(schedule, "install", installed.append)  # the OS scheduler is the boundary
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _to_done(qtbot, wizard)
    done = wizard.done_page
    assert not done.schedule.isChecked()  # it changes the admin's computer: asked, not assumed
    plan = done.plan
    assert plan is not None
    assert done.schedule_plan.text().startswith(str(plan.description).split(":")[0].split("(")[0].strip())
    done.schedule.click()
    press_forward(qtbot, wizard)  # Finish
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert wizard.result() == wizard.DialogCode.Accepted
    assert len(installed) == 1
    command = installed[0].command
    assert command[-5:] == ["refresh", "--if-older-than", "30d", "--env", str(env)]


def test_a_failed_renewal_setup_is_explained_and_finish_works_without_it(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from wizard.core.i18n import _

    def refuse(_plan: schedule.SchedulePlan) -> None:
        raise schedule.ScheduleError(
            _("Could not run {program}.", program="crontab"),
            _("Set the renewal up by hand (see the README)."),
        )

    monkeypatch.setattr(schedule, "install", refuse)
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    _to_done(qtbot, wizard)
    done = wizard.done_page
    done.schedule.click()
    press_forward(qtbot, wizard)
    qtbot.waitUntil(lambda: done.schedule_notice.isVisible(), timeout=WAIT_MS)
    assert wizard.isVisible()
    error = done.schedule_notice.error
    for language in ("en", "ru"):
        set_language(wizard, language)
        failure = describe(error, language)
        assert done.schedule_notice.title_label.text() == failure.title
        assert done.schedule_notice.explanation_label.text() == failure.explanation
        assert done.schedule_notice.fix_label.text() == failure.fix
    set_language(wizard, "en")
    done.schedule.click()  # untick
    press_forward(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)


def test_the_renewal_for_a_database_target_names_it(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, monkeypatch
):
    installed: list[schedule.SchedulePlan] = []
    monkeypatch.setattr(schedule, "install", installed.append)
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    wizard.save.target.set_db_url(url)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    qtbot.waitUntil(lambda: wizard.done_page.schedule.isEnabled(), timeout=WAIT_MS)
    wizard.done_page.schedule.click()
    press_forward(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    command = installed[0].command
    assert command[command.index("--db") + 1] == url
    assert command[command.index("--account") + 1] == sandbox.base_url


# --- dark mode, colour, accessibility -------------------------------------------------------


def _dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#1e1e1e"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#121212"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#2d2d2d"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.Highlight, "#3d7bd9"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.Mid, "#555555"),
    ):
        palette.setColor(role, QColor(color))
    return palette


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_panels_keep_their_contrast_and_say_their_kind_in_words(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path, dark: bool
):
    app = QApplication.instance()
    old = app.palette()
    if dark:
        app.setPalette(_dark_palette())
    try:
        wizard = make_wizard(sandbox_prefill(sandbox, client_secret="y" * 64), tmp_path / ".env")
        to_consent(qtbot, wizard)
        wait_for_consent_loaded(qtbot, wizard)
        click_in_consent(wizard, "allow")
        wait_for_step(qtbot, wizard, Step.EXCHANGE)
        qtbot.waitUntil(lambda: wizard.exchange.fix_button.isVisible(), timeout=WAIT_MS)
        error_panel = wizard.exchange.notice
        ok_panel = Notice(wizard.exchange)
        ok_panel.show_message(Notice.Kind.SUCCESS, "The connection works.")
        info_panel = Notice(wizard.exchange)
        info_panel.show_message(Notice.Kind.INFO, "Note", "Something")
        for panel, word in ((error_panel, "Error:"), (ok_panel, "OK:"), (info_panel, "Note:")):
            assert panel.kind_label.text() == word  # never colour alone
            text, fill, _border = panel.colors()
            for label in panel.findChildren(QLabel):
                if label.isVisibleTo(panel) and label.text():
                    shown = label.palette().color(label.foregroundRole())
                    assert contrast_ratio(shown, fill) >= 4.5, (word, label.text(), shown.name(), fill.name())
            assert contrast_ratio(text, fill) >= 4.5
            # What is painted is the fill the contrast was measured on.
            image = panel.grab().toImage()
            painted = image.pixelColor(image.width() // 2, image.height() - 4)
            assert abs(painted.lightness() - fill.lightness()) <= 8, (painted.name(), fill.name())
            if dark:
                assert fill.lightness() < 100
        # The details page's checks say ✓/✗ in words, on the window's own colours.
        status = wizard.details.fields[0].status
        assert status.text().startswith("✓")
        assert (
            contrast_ratio(
                status.palette().color(status.foregroundRole()),
                status.palette().color(QPalette.ColorRole.Window),
            )
            >= 4.5
        )
    finally:
        app.setPalette(old)


def test_every_control_on_every_page_has_an_accessible_name_and_description(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(
        sandbox_prefill(sandbox, redirect_uri=sandbox.integration.redirect_uri + "/"), tmp_path / ".env"
    )
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.exchange.compare is not None, timeout=WAIT_MS)  # the comparison panel too
    wizard.build_all_pages()
    for page_id in wizard.pageIds():
        wizard.page(page_id).toggle_help()  # the help panels' buttons too
    missing = []
    for language in ("en", "ru"):
        set_language(wizard, language)
        controls = [
            wizard.button(which)
            for which in (
                QWizard.WizardButton.BackButton,
                QWizard.WizardButton.NextButton,
                QWizard.WizardButton.CancelButton,
                QWizard.WizardButton.FinishButton,
                QWizard.WizardButton.CommitButton,
                QWizard.WizardButton.HelpButton,
            )
        ]
        for page_id in wizard.pageIds():
            page = wizard.page(page_id)
            controls += page.findChildren(QLineEdit) + page.findChildren(QAbstractButton)
            controls += page.findChildren(QComboBox) + page.findChildren(QTextEdit)
        for control in controls:
            if control.parent() is not None and type(control.parent()).__name__ == "QLineEdit":
                continue  # a line edit's own clear/action buttons
            name = control.accessibleName() or (
                control.text() if isinstance(control, QAbstractButton) else ""
            )
            if not name or not control.accessibleDescription():
                missing.append((language, type(control).__name__, control.objectName(), name))
    set_language(wizard, "en")
    assert missing == []


def test_long_operations_are_announced_in_words(qtbot, make_wizard, sandbox: Sandbox, connected_env: Path):
    sandbox.refresh_delay = 0.5
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    wizard.welcome.renew_radio.click()
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    busy = wizard.exchange.busy
    assert busy.isVisible() and "Renewing" in busy.text()
    assert busy.accessibleName().startswith("Busy: Renewing")
    assert busy.accessibleDescription() == busy.text()
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)
    assert not busy.isVisible()
