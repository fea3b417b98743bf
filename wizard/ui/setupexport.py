"""“Prepare a setup for an admin”: the Done page writes a ``*.amocrm-setup`` file from what was
just set up, so that an admin elsewhere only logs in and presses Allow (``wizard.setupfile``;
the CLI's ``export-setup``). It never holds a secret; an ssh:// target's host key fingerprint is
the one this run checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from wizard.core.errors import WizardError
from wizard.core.i18n import render
from wizard.ui.model import Session, TargetChoice, TargetKind
from wizard.ui.texts import Texts
from wizard.ui.worker import Worker

SUGGESTED_NAME = "backend.amocrm-setup"


def choose_path(parent: QWidget | None, title: str, suggested: str) -> str:
    """Where to write the file (the admin's choice; "" when cancelled). Tests replace it."""
    path, _filter = QFileDialog.getSaveFileName(
        parent, title, suggested, "amoCRM Wizard setup (*.amocrm-setup)"
    )
    return path


def setup_text(choice: TargetChoice, connection: Any, restart_cmd: str) -> str:
    """The file's text (a job: an ssh:// target is asked for its host key over SSH)."""
    from wizard.setupfile import Setup, dumps, without_password
    from wizard.targets.ssh_session import is_ssh_url
    from wizard.ui.jobs import open_choice

    env = db = host_key = ""
    if choice.kind is TargetKind.DB:
        db = without_password(choice.value)
    elif is_ssh_url(choice.value):
        env = choice.value
        target = open_choice(choice)
        try:
            host_key = str(target.underlying().host_fingerprint())  # type: ignore[attr-defined]
        finally:
            target.close()
    else:
        env = str(Path(choice.value).expanduser().absolute())
    setup = Setup(
        account=connection.base_url,
        client_id=connection.client_id,
        redirect_uri=connection.redirect_uri,
        env=env,
        db=db,
        ssh_host_key=host_key,
        restart_cmd=restart_cmd,
    )
    return dumps(setup)


class SetupExport(QWidget):
    def __init__(self, session: Session, worker: Worker, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.worker = worker
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton(self)
        self.button.setAutoDefault(False)
        row.addWidget(self.button)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.written = ""
        self.texts = texts  # the page's: they follow the language with it
        self.texts.bind(self.button.setText, lambda: self.tr("Prepare a setup for an admin…"))
        self.texts.bind(
            self.button.setAccessibleDescription,
            lambda: self.tr(
                "Writes a .amocrm-setup file with everything but the secrets: an admin opens it with "
                "this wizard, logs in and presses Allow."
            ),
        )
        self.button.clicked.connect(self._on_clicked)

    def _on_clicked(self) -> None:
        result = self.session.result
        if result is None:
            return
        choice, connection, restart_cmd = self.session.target, result.connection, self.session.restart_cmd
        self.button.setEnabled(False)
        self.texts.bind(self.status.setText, lambda: self.tr("Preparing…"))
        self.worker.submit(
            lambda: setup_text(choice, connection, restart_cmd), self._on_ready, self._on_failed
        )

    def _on_ready(self, text: Any) -> None:
        self.button.setEnabled(True)
        path = choose_path(self.window(), self.tr("Save the setup file"), SUGGESTED_NAME)
        if not path:
            self.texts.bind(self.status.setText, lambda: "")
            return
        try:
            Path(path).write_text(str(text), encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.texts.bind(
                self.status.setText,
                lambda: self.tr("Could not write {path}: {reason}").format(path=path, reason=reason),
            )
            return
        self.written = path
        self.texts.bind(
            self.status.setText,
            lambda: self.tr("Written to {path}. It holds no secret: send it to the admin.").format(path=path),
        )

    def _on_failed(self, error: WizardError) -> None:
        self.button.setEnabled(True)
        self.texts.bind(self.status.setText, lambda: f"{render(error.message)} {render(error.hint)}".strip())
