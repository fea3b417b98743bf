"""Every failure in the catalogue, triggered for real against the sandbox and shown by the GUI:
the panel's title, explanation and fix are the catalogue's, in English and in Russian, the
server's words small, and the way back leads to the page that needs fixing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

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
from wizard.core import errors as e
from wizard.core.catalogue import describe, first_difference, redirect_uri_differences
from wizard.core.i18n import render
from wizard.sandbox import Sandbox
from wizard.ui.model import Step
from wizard.ui.widgets import Notice
from wizard.ui.wizard import SetupWizard

__all__ = ["make_wizard", "no_browser"]

pytestmark = pytest.mark.gui


#: The window's own "what to do" where the catalogue's speaks of the command line.
CONNECT_AGAIN_FIX = (
    "Press “Connect again” below: the wizard opens amoCRM's consent page with everything "
    "filled in, and you press Allow there."
)


def assert_panel(
    wizard: SetupWizard, notice: Notice, kind: type[e.WizardError], *, fix: str = ""
) -> e.WizardError:
    """The panel shows ``kind`` as the catalogue describes it, in both languages (``fix``: the
    window's own English words for what to do, translated in Russian)."""
    assert notice.isVisible() and notice.kind is Notice.Kind.ERROR
    error = notice.error
    assert isinstance(error, kind), f"{type(error).__name__}: {error}"
    for language in ("en", "ru", "en"):
        set_language(wizard, language)
        failure = describe(error, language)
        assert notice.title_label.text() == failure.title
        assert notice.explanation_label.text() == failure.explanation
        if not fix:
            assert notice.fix_label.text() == failure.fix
        elif language == "en":
            assert notice.fix_label.text() == fix
        else:
            assert notice.fix_label.text() not in ("", fix, failure.fix)
        assert failure.title and failure.explanation and failure.fix
        assert notice.kind_label.text() == ("Error:" if language == "en" else "Ошибка:")
        if failure.detail:  # the server's own words, small, never translated
            assert failure.detail in notice.detail_label.text()
            assert notice.detail_label.font().pointSizeF() < notice.explanation_label.font().pointSizeF()
    return error


def _exchange_error(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.exchange.fix_button.isVisible(), timeout=WAIT_MS)


def _paste_code(qtbot, wizard: SetupWizard, code: str) -> None:  # type: ignore[no-untyped-def]
    to_consent(qtbot, wizard)
    wizard.consent.code_edit.setText(code)
    press_forward(qtbot, wizard)
    _exchange_error(qtbot, wizard)


def _fix(qtbot, wizard: SetupWizard, step: Step) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(wizard.exchange.fix_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, step)


def test_wrong_secret(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret="x" * 64), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    _exchange_error(qtbot, wizard)
    assert_panel(wizard, wizard.exchange.notice, e.ClientSecretRejectedError)
    assert wizard.exchange.fix_button.text() == "Go back to the integration details"
    _fix(qtbot, wizard, Step.DETAILS)


def test_expired_code_pasted(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    code = sandbox.issue_code()
    sandbox.advance(21 * 60)
    _paste_code(qtbot, wizard, code)
    error = assert_panel(wizard, wizard.exchange.notice, e.CodeExpiredError)
    assert "Keys and scopes" in render(error.hint, "en")
    _fix(qtbot, wizard, Step.CONSENT)
    wait_for_consent_loaded(qtbot, wizard)
    assert not wizard.consent.code_edit.text()  # a new code is needed; the old one is gone


def test_redirect_uri_mismatch_lists_the_differences(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    registered = sandbox.integration.redirect_uri
    entered = registered + "/"
    wizard = make_wizard(sandbox_prefill(sandbox, redirect_uri=entered), tmp_path / ".env")
    to_consent(qtbot, wizard)
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")  # captured: the redirect check ignores the slash, amoCRM does not
    _exchange_error(qtbot, wizard)
    assert_panel(wizard, wizard.exchange.notice, e.RedirectUriMismatchError)
    compare = wizard.exchange.compare
    assert compare is not None and compare.isVisible()
    assert compare.sent.text() == entered
    assert not compare.use_button.isEnabled()
    compare.registered.setText(registered)
    index = first_difference(entered, registered)
    for language in ("en", "ru"):
        set_language(wizard, language)
        shown = compare.differences.text()
        for difference in redirect_uri_differences(entered, registered):
            assert render(difference, language) in shown
        assert str(index + 1) in compare.first.text()  # said in words, with the position
    set_language(wizard, "en")
    assert "the one in amoCRM ends before it" in compare.first.text()
    html = compare.comparison.toHtml()
    assert "<u>" in html or "underline" in html  # marked by more than colour
    assert "font-weight" in html or "<b>" in html
    caret_line = compare.comparison.toPlainText().splitlines()[-1]
    assert caret_line.rstrip().endswith("^")
    assert compare.comparison.accessibleDescription()
    # The way out: take the registered one and go back to the details, then it connects.
    qtbot.mouseClick(compare.use_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    assert wizard.details.redirect.text() == registered
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    allow_and_exchange(qtbot, wizard)


def test_unknown_client_id(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox, client_id=str(uuid.uuid4())), tmp_path / ".env")
    to_consent(qtbot, wizard)
    # amoCRM's own error page instead of the consent page: said in words, not "no internet".
    qtbot.waitUntil(lambda: wizard.consent.retry.isVisible(), timeout=WAIT_MS)
    # An error panel that says its kind in words, not a grey line.
    notice = wizard.consent.notice
    assert notice.isVisible() and notice.kind is Notice.Kind.ERROR
    assert "error 400" in notice.text() and "Client ID" in notice.text()
    assert wizard.consent.status.text() == ""
    set_language(wizard, "ru")
    assert "ошибка 400" in notice.text()
    set_language(wizard, "en")
    wizard.consent.code_edit.setText(sandbox.issue_code())
    press_forward(qtbot, wizard)
    _exchange_error(qtbot, wizard)
    assert_panel(wizard, wizard.exchange.notice, e.ClientIdRejectedError)
    _fix(qtbot, wizard, Step.DETAILS)


def test_account_blocked(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    sandbox.block_account(True)
    env = tmp_path / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), env)
    _paste_code(qtbot, wizard, sandbox.issue_code())
    assert_panel(wizard, wizard.exchange.notice, e.AccountBlockedError)
    assert not env.exists()


def test_no_network(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox, account="http://127.0.0.1:1"), tmp_path / ".env")
    _paste_code(qtbot, wizard, sandbox.issue_code())
    assert_panel(wizard, wizard.exchange.notice, e.NetworkError)
    _fix(qtbot, wizard, Step.DETAILS)  # an unreachable account is most often a mistyped address


def _stored_run(qtbot, make_wizard, sandbox: Sandbox, env: Path) -> SetupWizard:  # type: ignore[no-untyped-def]
    wizard = make_wizard(sandbox_prefill(sandbox, client_secret=""), env)
    qtbot.waitUntil(lambda: wizard.welcome.summary_box.isVisible(), timeout=WAIT_MS)
    assert wizard.welcome.test_radio.isChecked()
    press_forward(qtbot, wizard)
    _exchange_error(qtbot, wizard)
    return wizard


def test_integration_disabled(qtbot, make_wizard, sandbox: Sandbox, connected_env: Path):
    sandbox.disable_integration()
    before = connected_env.read_bytes()
    wizard = _stored_run(qtbot, make_wizard, sandbox, connected_env)
    error = assert_panel(wizard, wizard.exchange.notice, e.ReauthorizationRequired, fix=CONNECT_AGAIN_FIX)
    assert "amocrm-wizard" not in wizard.exchange.notice.text()  # no command line above the button
    assert "switched off" in render(error.message, "en")
    # What it held, plus amoCRM's verdict on the refused token (contract, "Exit codes").
    after = connected_env.read_bytes()
    assert after.startswith(before) and after[len(before) :].startswith(b"AMOCRM_REFRESH_REJECTED=")


def test_dead_refresh_token_goes_straight_to_consent_with_everything_prefilled(
    qtbot, make_wizard, sandbox: Sandbox, connected_env: Path
):
    sandbox.revoke_refresh_tokens()
    sandbox.expire_access_tokens()
    wizard = _stored_run(qtbot, make_wizard, sandbox, connected_env)
    assert_panel(wizard, wizard.exchange.notice, e.ReauthorizationRequired, fix=CONNECT_AGAIN_FIX)
    assert wizard.exchange.fix_button.text() == "Connect again (everything prefilled)"
    qtbot.mouseClick(wizard.exchange.fix_button, Qt.MouseButton.LeftButton)
    wait_for_step(qtbot, wizard, Step.CONSENT)
    details = wizard.details
    it = sandbox.integration
    assert (
        details.account.text(),
        details.client_id.text(),
        details.secret.text(),
        details.redirect.text(),
    ) == (
        sandbox.base_url,
        it.client_id,
        it.client_secret,
        it.redirect_uri,
    )
    allow_and_finish(qtbot, wizard)
    assert wizard.session.result.connection.tokens.access_token in connected_env.read_text()


def _to_save(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)


def test_target_not_writable(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    missing = tmp_path / "no" / "such" / "folder" / ".env"
    wizard = make_wizard(sandbox_prefill(sandbox), missing)
    _to_save(qtbot, wizard)
    press_forward(qtbot, wizard)  # Save
    qtbot.waitUntil(lambda: wizard.save.notice.isVisible(), timeout=WAIT_MS)
    assert_panel(wizard, wizard.save.notice, e.TargetError)
    assert wizard.currentId() == Step.SAVE.value and not missing.parent.exists()
    assert "Nothing was written" in wizard.save.notice.extra_label.text()
    # The place to change is shown and focused (it was only shown, not asked, before).
    assert wizard.save.target.isVisible()
    assert QApplication.focusWidget() is wizard.save.target.value_input()


def test_database_refused(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    _to_save(qtbot, wizard)
    chooser = wizard.save.target
    chooser.set_db_url("mysql://nobody:pw@127.0.0.1:1/x")
    qtbot.mouseClick(chooser.test_button(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.save.notice.isVisible(), timeout=WAIT_MS)
    assert_panel(wizard, wizard.save.notice, e.DatabaseRefusedError)
    assert "pw@" not in wizard.save.notice.text()  # the password is never shown
