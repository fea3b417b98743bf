"""The wizard opened with a setup file walks to Done with its target on a real sshd: the admin
types nothing, presses Allow, and the server's .env gets the tokens."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    allow_and_exchange,
    close_wizards,
    no_browser,
    press_forward,
    sandbox_prefill,
    to_consent,
    wait_for_step,
)
from tests.ssh_server import Remote, SshServer, needs_sshd, remote, ssh_server
from wizard.core.connection import OWNED_KEYS
from wizard.sandbox import Sandbox
from wizard.setupfile import Setup, apply_setup, dumps, read_setup
from wizard.targets import ssh_password, ssh_session
from wizard.ui import setupexport
from wizard.ui.hostkey import HostKeyQuestion
from wizard.ui.model import Step, TargetChoice, TargetKind
from wizard.ui.restarting import remember_command
from wizard.ui.sshlogin import SshPasswordQuestion
from wizard.ui.wizard import SetupWizard

__all__ = ["no_browser", "remote", "ssh_server"]  # the fixtures, imported for pytest

pytestmark = [pytest.mark.gui, needs_sshd]


@pytest.fixture
def opened_wizards(qtbot, no_browser: list[str]) -> Iterator[list[SetupWizard]]:
    """Wizards made by the test, closed like gui_fixtures.make_wizard closes its own."""
    made: list[SetupWizard] = []
    yield made
    close_wizards(made)


def test_a_setup_file_walks_to_done_with_the_target_over_ssh(
    qtbot,
    opened_wizards: list[SetupWizard],
    sandbox: Sandbox,
    remote: Remote,
    ssh_server: SshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    it = sandbox.integration
    # The developer set the backend up (its .env holds the integration, secret included) and
    # exported the setup file; the tokens are the admin's part.
    backend = (
        f"# backend\nPORT=3000\nAMOCRM_BASE_URL='{sandbox.base_url}'\nAMOCRM_CLIENT_ID='{it.client_id}'\n"
        f"AMOCRM_CLIENT_SECRET='{it.client_secret}'\nAMOCRM_REDIRECT_URI='{it.redirect_uri}'\n"
    )
    remote.write(".env", backend, mode=0o640)
    setup = Setup(
        account=sandbox.base_url,
        client_id=it.client_id,
        redirect_uri=it.redirect_uri,
        env=remote.url,
        ssh_host_key=ssh_server.host_fingerprint,
        restart_cmd=f'echo "restarted, login shell: $AMOCRM_TEST_LOGIN_SHELL" | tee -a {remote.folder}/restarts',
    )
    file = tmp_path / "backend.amocrm-setup"
    file.write_text(dumps(setup))
    remote.known_hosts.write_text("")  # the admin's machine has never seen the server

    from wizard.app import _prefill

    options = argparse.Namespace(
        setup=str(file), account=None, client_id=None, redirect_uri=None, env=None, db=None
    )
    try:
        apply_setup(options)
        prefill, target = _prefill(options, None)
        assert target.value == remote.url
        wizard = SetupWizard(prefill, target)
        qtbot.addWidget(wizard)
        opened_wizards.append(wizard)
        wizard.show()
        # The Welcome page reads the remote target, through the host key the file named.
        qtbot.waitUntil(lambda: wizard.session.stored is not None, timeout=WAIT_MS)
        assert wizard.session.stored.client_secret == it.client_secret
        to_consent(qtbot, wizard)
        allow_and_exchange(qtbot, wizard)
        press_forward(qtbot, wizard)
        wait_for_step(qtbot, wizard, Step.SAVE)
        assert wizard.save.restart.text() == setup.restart_cmd  # filled in from the file
        press_forward(qtbot, wizard)
        wait_for_step(qtbot, wizard, Step.DONE)
        # …and the admin can pass the same setup on: "Prepare a setup for an admin".
        exported = tmp_path / "again.amocrm-setup"
        monkeypatch.setattr(setupexport, "choose_path", lambda parent, title, suggested: str(exported))
        qtbot.mouseClick(wizard.done_page.setup_export.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.done_page.setup_export.written == str(exported), timeout=WAIT_MS)
    finally:
        ssh_session._confirmed.clear()
    assert read_setup(exported) == setup  # the host key as this run checked it, the restart command
    restarts = remote.folder / "restarts"
    assert restarts.read_text() == "restarted, login shell: yes\n"  # on the server, once, after the save
    assert "The backend was restarted" in wizard.done_page.renew.text()
    assert "restarted, login shell: yes" in wizard.done_page.renew.text()  # its output

    values = dotenv_values(remote.env_path)
    assert set(OWNED_KEYS) <= set(values)
    assert values["AMOCRM_REFRESH_TOKEN"] == wizard.session.result.connection.tokens.refresh_token
    assert remote.env_path.read_text().startswith("# backend\nPORT=3000\n")
    st = remote.env_path.stat()
    assert (st.st_mode & 0o777, st.st_uid) == (0o640, ssh_server.user.pw_uid)
    assert remote.known_hosts.read_text() == ssh_server.known_hosts_line()


def answer_host_key_question(button: QMessageBox.StandardButton, shown: list[str]) -> None:
    """Press ``button`` in the host key question once it shows (it runs its own event loop)."""

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, HostKeyQuestion) and widget.isVisible():
                shown.append(f"{widget.text()}\n{widget.informativeText()}")
                widget.button(button).click()
                return
        QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)


@pytest.mark.parametrize("trusted", [False, True])
def test_the_admin_confirms_an_unknown_servers_fingerprint(
    qtbot,
    opened_wizards: list[SetupWizard],
    sandbox: Sandbox,
    remote: Remote,
    ssh_server: SshServer,
    trusted: bool,
) -> None:
    remote.write(".env", "PORT=3000\n")
    remote.known_hosts.write_text("")
    shown: list[str] = []
    answer_host_key_question(
        QMessageBox.StandardButton.Yes if trusted else QMessageBox.StandardButton.No, shown
    )
    try:
        wizard = SetupWizard(sandbox_prefill(sandbox), TargetChoice(TargetKind.ENV, remote.url))
        qtbot.addWidget(wizard)
        opened_wizards.append(wizard)
        wizard.show()
        qtbot.waitUntil(lambda: bool(shown) and not wizard.welcome.busy.isVisible(), timeout=WAIT_MS)
    finally:
        ssh_session._confirmed.clear()
    assert ssh_server.host_fingerprint in shown[0] and f"[127.0.0.1]:{ssh_server.port}" in shown[0]
    if trusted:
        assert "No amoCRM connection is stored there yet" in wizard.welcome.notice.text()
        assert remote.known_hosts.read_text() == ssh_server.known_hosts_line()
    else:
        assert ssh_server.host_fingerprint in wizard.welcome.notice.text()  # the refusal, in plain words
        assert remote.known_hosts.read_text() == ""


def test_renewing_restarts_the_backend_with_the_command_remembered_for_the_target(
    qtbot, opened_wizards: list[SetupWizard], sandbox: Sandbox, remote: Remote
) -> None:
    """Save remembers the command per target; a later Renew now restarts with it; a failing
    command keeps the tokens and the Done page says the backend was not restarted."""
    remote.write(".env", "PORT=3000\n")
    restarts = remote.folder / "restarts"
    wizard = open_wizard(qtbot, opened_wizards, sandbox, remote.url)
    to_consent(qtbot, wizard)
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    wizard.save.restart.setText(f"echo saved >> {restarts}")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
    assert restarts.read_text() == "saved\n"

    for command, line in ((f"echo renewed >> {restarts}", "renewed"), ("echo broken; exit 9", None)):
        remember_command(remote.url, command)
        before = dotenv_values(remote.env_path)["AMOCRM_REFRESH_TOKEN"]
        again = open_wizard(qtbot, opened_wizards, sandbox, remote.url)
        qtbot.waitUntil(lambda again=again: again.welcome.summary_box.isVisible(), timeout=WAIT_MS)
        again.welcome.renew_radio.click()
        press_forward(qtbot, again)  # Welcome → Exchange (renews, saves, restarts)
        qtbot.waitUntil(lambda again=again: again.session.result is not None, timeout=WAIT_MS)
        press_forward(qtbot, again)
        wait_for_step(qtbot, again, Step.DONE)
        assert dotenv_values(remote.env_path)["AMOCRM_REFRESH_TOKEN"] != before  # renewed either way
        note = again.done_page.renew.text()
        if line:
            assert restarts.read_text().splitlines()[-1] == line
            assert "The backend was restarted" in note
        else:
            assert "the backend was not restarted" in note and "exit code 9" in note and "broken" in note


def open_wizard(qtbot, opened: list[SetupWizard], sandbox: Sandbox, url: str) -> SetupWizard:
    wizard = SetupWizard(sandbox_prefill(sandbox), TargetChoice(TargetKind.ENV, url))
    qtbot.addWidget(wizard)
    opened.append(wizard)
    wizard.show()
    return wizard


def test_a_refused_key_asks_for_the_password(
    qtbot, opened_wizards: list[SetupWizard], sandbox: Sandbox, remote: Remote, ssh_server: SshServer
) -> None:
    remote.write(".env", "PORT=3000\n")
    remote.key.unlink()  # only the password logs in
    asked: list[str] = []

    def answer() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, SshPasswordQuestion) and widget.isVisible():
                asked.append(widget.windowTitle())
                widget.password.setText(ssh_server.password)
                widget.accept()
                return
        QTimer.singleShot(50, answer)

    QTimer.singleShot(50, answer)
    try:
        wizard = open_wizard(qtbot, opened_wizards, sandbox, remote.url)
        qtbot.waitUntil(lambda: "No amoCRM connection" in wizard.welcome.notice.text(), timeout=WAIT_MS)
    finally:
        ssh_password.forget_typed()
    assert asked == ["Log in to the server"]
