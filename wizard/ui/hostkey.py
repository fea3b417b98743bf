"""The first connection to an ssh:// server: its host key is shown and the admin confirms it.

OpenSSH's ``StrictHostKeyChecking=ask``: an unknown server's ``SHA256:`` fingerprint is shown,
No is the default, and only Yes lets it in (and into ``~/.ssh/known_hosts``). A changed key
never gets this question: the target refuses it before anything is asked.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from wizard.core.errors import UnknownHostKeyError, WizardError


class HostKeyQuestion(QMessageBox):
    def __init__(self, error: UnknownHostKeyError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle(self.tr("Is this your server?"))
        self.setText(
            self.tr("The wizard has never connected to {host}. Its host key has the fingerprint:").format(
                host=error.host
            )
            + f"\n\n{error.fingerprint}"
        )
        self.setInformativeText(
            self.tr(
                "Trust it only if it is the fingerprint your server's administrator sees "
                "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server). "
                "Otherwise somebody may be pretending to be your server."
            )
        )
        self.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        self.setDefaultButton(QMessageBox.StandardButton.No)
        self.setObjectName("hostKeyQuestion")


def confirm_unknown_server(parent: QWidget | None, error: WizardError) -> bool:
    """True when ``error`` is an unknown ssh:// server the admin has just confirmed."""
    if not isinstance(error, UnknownHostKeyError):
        return False
    if HostKeyQuestion(error, parent).exec() != QMessageBox.StandardButton.Yes:
        return False
    from wizard.targets.ssh_session import confirm_host_key

    confirm_host_key(error.fingerprint)
    return True
