"""A password for an ssh:// server that refused the keys: asked once, offered to the OS keyring.

The contract keeps passwords off the command line; in the wizard the admin types it here. It
is used for this run, and kept in the OS keyring only when the admin ticks the box.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from wizard.core.errors import ServerLoginRefusedError, WizardError


class SshPasswordQuestion(QDialog):
    def __init__(self, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sshPasswordQuestion")
        self.setWindowTitle(self.tr("Log in to the server"))
        layout = QVBoxLayout(self)
        label = QLabel(
            self.tr("The server refused the keys. Password for {server}:").format(server=server), self
        )
        label.setWordWrap(True)
        layout.addWidget(label)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("SSH password"))
        label.setBuddy(self.password)
        layout.addWidget(self.password)
        self.keep = QCheckBox(self.tr("Keep it in the OS keyring"), self)
        layout.addWidget(self.keep)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def ask_for_ssh_password(parent: QWidget | None, error: WizardError) -> bool:
    """True when ``error`` is a refused SSH login and the admin has just typed a password."""
    if not isinstance(error, ServerLoginRefusedError) or not error.server:
        return False
    question = SshPasswordQuestion(error.server, parent)
    if question.exec() != QDialog.DialogCode.Accepted or not question.password.text():
        return False
    from wizard.targets import ssh_password

    ssh_password.give(error.server, question.password.text())
    if question.keep.isChecked():
        ssh_password.keep(error.server, question.password.text())
    return True


_question_open = False


def handled_by_asking(parent: QWidget | None, error: WizardError, read_again: Callable[[], None]) -> bool:
    """An ssh:// failure the admin can answer (an unknown host key, a refused login): ask, and on
    an answer ``read_again``. True when handled; False when the error is to be shown as it is.

    One question at a time: a read that fails while one is open is dropped, since the answer
    reads the target again anyway (a modal question runs its own event loop, in which the
    page's next read can end).
    """
    global _question_open
    from wizard.core.errors import UnknownHostKeyError
    from wizard.ui.hostkey import confirm_unknown_server

    if not isinstance(error, UnknownHostKeyError | ServerLoginRefusedError):
        return False
    if _question_open:
        return True
    _question_open = True
    try:
        answered = confirm_unknown_server(parent, error) or ask_for_ssh_password(parent, error)
    finally:
        _question_open = False
    if answered:
        read_again()
    return answered
