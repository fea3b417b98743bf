"""Page 2: the four values from the integration's Keys and scopes tab, checked as typed."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from wizard.core import validate
from wizard.core.account import parse_account
from wizard.core.errors import WizardError
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session, Step
from wizard.ui.qtcompat import emit
from wizard.ui.worker import Worker


def _keyring_secret(base_url: str, client_id: str) -> str:
    try:
        from wizard.targets.keyring_store import load_secret
    except ImportError:
        return ""
    try:
        return load_secret(base_url, client_id) or ""
    except WizardError:
        return ""


class _Field:
    """A line edit with its checker and the line under it that says what is wrong."""

    def __init__(self, edit: QLineEdit, status: QLabel, check: Callable[[str], object]) -> None:
        self.edit = edit
        self.status = status
        self.check = check
        self.touched = False

    def error(self) -> WizardError | None:
        try:
            self.check(self.edit.text())
        except WizardError as error:
            return error
        return None

    def refresh(self, *, show_all: bool = False) -> bool:
        error = self.error()
        if error is None:
            self.status.setText(QCoreApplication.translate("DetailsPage", "✓ Looks right"))
            self.edit.setAccessibleDescription(self.status.property("describe") or "")
        elif self.touched or show_all:
            text = f"✗ {error.message} {error.hint}".strip()
            self.status.setText(text)
            self.edit.setAccessibleDescription(text)
        else:
            self.status.setText("")
        return error is None


class DetailsPage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("Integration details"))
        self.setSubTitle(self.tr("Copy these four values from your integration in amoCRM."))
        layout = QVBoxLayout(self)
        self.help = paragraph(
            self.tr(
                "Where do I find these? In amoCRM open Settings → Integrations, click your "
                "integration, then the Keys and scopes tab (Ключи и доступы). The account "
                "address is what you see in the browser's address bar, e.g. mycompany.amocrm.ru."
            ),
            self,
        )
        self.help.setObjectName("help")
        layout.addWidget(self.help)

        form = QFormLayout()
        layout.addLayout(form)
        self.account = self._edit(
            self.tr("Account address"),
            self.tr("Your amoCRM address, e.g. mycompany, mycompany.amocrm.ru or mycompany.kommo.com."),
            "mycompany.amocrm.ru",
        )
        self.client_id = self._edit(
            self.tr("Client ID"),
            self.tr("The integration ID from Keys and scopes, a code like 1a2b3c4d-…"),
            "1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f",
        )
        self.secret = self._edit(
            self.tr("Client secret"),
            self.tr("The secret key from Keys and scopes. It is hidden as you type."),
            "",
        )
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_secret = QCheckBox(self.tr("Show the secret"), self)
        self.show_secret.setAccessibleDescription(self.tr("Shows the client secret in plain text."))
        self.redirect = self._edit(
            self.tr("Redirect URI"),
            self.tr("The redirect address exactly as written in the integration's settings."),
            "https://example.com/amocrm/callback",
        )
        self.fields: list[_Field] = []
        for edit, label, check in (
            (self.account, self.tr("Account address"), parse_account),
            (self.client_id, self.tr("Client ID"), validate.client_id),
            (self.secret, self.tr("Client secret"), validate.client_secret),
            (self.redirect, self.tr("Redirect URI"), validate.redirect_uri),
        ):
            status = QLabel(self)
            status.setWordWrap(True)
            status.setProperty("describe", edit.accessibleDescription())
            title = QLabel(label + ":", self)
            title.setBuddy(edit)
            form.addRow(title, edit)
            if edit is self.secret:
                form.addRow("", self.show_secret)
            form.addRow("", status)
            self.fields.append(_Field(edit, status, check))
        layout.addStretch(1)
        self._secret_job: int | None = None
        self._connect_signals()

    def _edit(self, name: str, description: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setAccessibleName(name)
        edit.setAccessibleDescription(description)
        edit.setToolTip(description)
        edit.setPlaceholderText(placeholder)
        return edit

    def _connect_signals(self) -> None:
        self.show_secret.toggled.connect(self._on_show_secret_toggled)
        for field in (self.account, self.client_id, self.secret, self.redirect):
            field.textEdited.connect(self._on_text_edited)
            field.textChanged.connect(self._on_text_changed)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        session = self.session
        prefill = session.prefill
        stored = session.stored if session.mode is Mode.CONNECT else None
        account = session.account.base_url if session.account else ""
        for edit, values in (
            (self.account, (account, prefill.account, stored.base_url if stored else "")),
            (self.client_id, (session.client_id, prefill.client_id, stored.client_id if stored else "")),
            (
                self.secret,
                (session.client_secret, prefill.client_secret, stored.client_secret if stored else ""),
            ),
            (
                self.redirect,
                (session.redirect_uri, prefill.redirect_uri, stored.redirect_uri if stored else ""),
            ),
        ):
            if not edit.text():
                edit.setText(next((v for v in values if v), ""))
        if not self.secret.text():
            self._fetch_secret_from_keyring()
        for field in self.fields:
            field.touched = bool(field.edit.text())
            field.refresh()
        first_empty = next((f.edit for f in self.fields if f.error() is not None), self.account)
        first_empty.setFocus()

    def isComplete(self) -> bool:
        return all(field.error() is None for field in self.fields)

    def validatePage(self) -> bool:
        try:
            self.session.account = parse_account(self.account.text())
            self.session.client_id = validate.client_id(self.client_id.text())
            self.session.client_secret = validate.client_secret(self.secret.text())
            self.session.redirect_uri = validate.redirect_uri(self.redirect.text())
        except WizardError:
            for field in self.fields:
                field.refresh(show_all=True)
            return False
        self.session.mode = Mode.CONNECT
        return True

    def nextId(self) -> int:
        return Step.CONSENT.value

    # --- keyring --------------------------------------------------------------------

    def _fetch_secret_from_keyring(self) -> None:
        try:
            base_url = parse_account(self.account.text()).base_url
            client_id = validate.client_id(self.client_id.text())
        except WizardError:
            return
        self.worker.cancel(self._secret_job)
        self._secret_job = self.worker.submit(
            lambda: _keyring_secret(base_url, client_id), self._on_keyring_secret, self._on_keyring_failed
        )

    def _on_keyring_secret(self, secret: object) -> None:
        if isinstance(secret, str) and secret and not self.secret.text():
            self.secret.setText(secret)

    def _on_keyring_failed(self, _error: WizardError) -> None:
        pass  # no keyring: the admin types the secret, as on a first run

    # --- slots ----------------------------------------------------------------------

    def _on_show_secret_toggled(self, shown: bool) -> None:
        self.secret.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def _on_text_edited(self, _text: str) -> None:
        sender = self.sender()
        for field in self.fields:
            if field.edit is sender:
                field.touched = True

    def _on_text_changed(self, _text: str) -> None:
        for field in self.fields:
            field.refresh()
        emit(self.completeChanged)
