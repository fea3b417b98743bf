"""Page 2: the values from the integration's Keys and scopes tab, checked as typed; or a
private integration's long-lived token instead of the consent page."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core import validate
from wizard.core.account import parse_account
from wizard.core.errors import ConfigError, WizardError
from wizard.core.i18n import render
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session, Step, looks_like_jwt
from wizard.ui.texts import ui_text
from wizard.ui.worker import Worker


def _with_colon(name: Callable[[], str]) -> Callable[[], str]:
    return lambda: name() + ":"


def _keyring_secret(base_url: str, client_id: str) -> str:
    try:
        from wizard.targets.keyring_store import load_secret
    except ImportError:
        return ""
    try:
        return load_secret(base_url, client_id) or ""
    except WizardError:
        return ""


def check_long_lived(text: str) -> str:
    value = text.strip()
    if not looks_like_jwt(value):
        raise ConfigError(
            ui_text(
                QT_TRANSLATE_NOOP(
                    "Messages", "A long-lived token is a long text in three parts separated by dots."
                )
            ),
            ui_text(
                QT_TRANSLATE_NOOP(
                    "Messages", "Copy it again, whole, from the private integration's Keys and scopes tab."
                )
            ),
        )
    return value


class _Field:
    """A line edit with its checker and the line under it that says what is wrong."""

    def __init__(
        self,
        edit: QLineEdit,
        status: QLabel,
        check: Callable[[str], object],
        optional: Callable[[], bool] = lambda: False,
    ) -> None:
        self.edit = edit
        self.status = status
        self.check = check
        self.optional = optional
        self.touched = False
        self.description = ""

    def error(self) -> WizardError | None:
        if self.optional() and not self.edit.text().strip():
            return None
        try:
            self.check(self.edit.text())
        except WizardError as error:
            return error
        return None

    def refresh(self, *, show_all: bool = False) -> bool:
        translate = QCoreApplication.translate
        error = self.error()
        if error is None:
            if self.optional() and not self.edit.text().strip():
                text = translate(
                    "DetailsPage", "Not needed with a long-lived token (fill it in if you have it)."
                )
            else:
                text = translate("DetailsPage", "✓ Looks right")
            self.status.setText(text)
            self.edit.setAccessibleDescription(f"{self.description} {text}".strip())
        elif self.touched or show_all:
            text = translate("DetailsPage", "✗ Not right yet: {message} {hint}").format(
                message=render(error.message), hint=render(error.hint)
            )
            self.status.setText(text.strip())
            self.edit.setAccessibleDescription(f"{self.description} {text}".strip())
        else:
            self.status.setText("")
            self.edit.setAccessibleDescription(self.description)
        return error is None


class DetailsPage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        layout = QVBoxLayout(self)
        self.help = paragraph("", self)
        self.help.setObjectName("help")
        layout.addWidget(self.help)

        self.method_box = QGroupBox(self)
        method = QVBoxLayout(self.method_box)
        self.use_consent = QRadioButton(self.method_box)
        self.use_token = QRadioButton(self.method_box)
        self.methods = QButtonGroup(self)
        for radio in (self.use_consent, self.use_token):
            self.methods.addButton(radio)
            method.addWidget(radio)
        self.use_consent.setChecked(True)
        layout.addWidget(self.method_box)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)
        self.account = self._edit("mycompany.amocrm.ru")
        self.client_id = self._edit("1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f")
        self.secret = self._edit("")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_secret = QCheckBox(self)
        self.redirect = self._edit("https://example.com/amocrm/callback")
        self.token = self._edit("eyJ0eXAiOiJKV1Qi…")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_token = QCheckBox(self)

        token_mode = self.use_token.isChecked
        self.fields: list[_Field] = []
        self.titles: list[QLabel] = []
        self._rows: dict[QLineEdit, list[QWidget]] = {}
        for edit, check, optional in (
            (self.account, parse_account, lambda: False),
            (self.client_id, validate.client_id, token_mode),
            (self.secret, validate.client_secret, token_mode),
            (self.redirect, validate.redirect_uri, token_mode),
            (self.token, check_long_lived, lambda: False),
        ):
            status = QLabel(self)
            status.setWordWrap(True)
            title = QLabel(self)
            title.setBuddy(edit)
            form.addRow(title, edit)
            self._rows[edit] = [title, edit, status]
            if edit is self.secret:
                form.addRow("", self.show_secret)
            if edit is self.token:
                form.addRow("", self.show_token)
                self._rows[edit].append(self.show_token)
            form.addRow("", status)
            self.titles.append(title)
            self.fields.append(_Field(edit, status, check, optional))
        layout.addStretch(1)
        self.add_help(layout)
        self._secret_job: int | None = None
        self._filling = False
        self._bind_texts()
        self._sync_method()
        self._connect_signals()

    def _edit(self, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText(placeholder)
        return edit

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("Integration details"))
        t.bind(self.setSubTitle, lambda: self.tr("Copy these values from your integration in amoCRM."))
        t.bind(
            self.help.setText,
            lambda: self.tr(
                "Where do I find these? In amoCRM open Settings → Integrations (Настройки → Интеграции), "
                "click your integration, then the Keys and scopes tab (Ключи и доступы). The account "
                "address is what you see in the browser's address bar, e.g. mycompany.amocrm.ru."
            ),
        )
        t.bind(self.method_box.setTitle, lambda: self.tr("How should the wizard get the tokens?"))
        t.bind(
            self.use_consent.setText,
            lambda: self.tr("Through the amoCRM consent page (the usual way)"),
        )
        t.bind(
            self.use_consent.setAccessibleDescription,
            lambda: self.tr("Next opens amoCRM's page where you press Allow; the tokens renew themselves."),
        )
        t.bind(
            self.use_token.setText,
            lambda: self.tr("I have a long-lived token (private integration)"),
        )
        t.bind(
            self.use_token.setAccessibleDescription,
            lambda: self.tr(
                "Use a long-lived token made on the private integration's Keys and scopes tab "
                "instead of the consent page. It cannot be renewed."
            ),
        )
        names = {
            self.account: (
                lambda: self.tr("Account address"),
                lambda: self.tr(
                    "Your amoCRM address, e.g. mycompany, mycompany.amocrm.ru or mycompany.kommo.com."
                ),
            ),
            self.client_id: (
                lambda: self.tr("Client ID"),
                lambda: self.tr("The integration ID (ID интеграции) from Keys and scopes, like 1a2b3c4d-…"),
            ),
            self.secret: (
                lambda: self.tr("Client secret"),
                lambda: self.tr(
                    "The secret key (Секретный ключ) from Keys and scopes. It is hidden as you type."
                ),
            ),
            self.redirect: (
                lambda: self.tr("Redirect URI"),
                lambda: self.tr(
                    "The redirect address (Ссылка для перенаправления) exactly as written in the "
                    "integration's settings."
                ),
            ),
            self.token: (
                lambda: self.tr("Long-lived token"),
                lambda: self.tr(
                    "The long-lived token from the private integration's Keys and scopes tab. "
                    "It is hidden as you type."
                ),
            ),
        }
        for field, title in zip(self.fields, self.titles, strict=True):
            name, description = names[field.edit]
            t.bind(field.edit.setAccessibleName, name)
            t.bind(field.edit.setToolTip, description)
            t.bind(title.setText, _with_colon(name))
        t.bind(self.show_secret.setText, lambda: self.tr("Show the secret"))
        t.bind(
            self.show_secret.setAccessibleDescription,
            lambda: self.tr("Shows the client secret in plain text."),
        )
        t.bind(self.show_token.setText, lambda: self.tr("Show the token"))
        t.bind(
            self.show_token.setAccessibleDescription,
            lambda: self.tr("Shows the long-lived token in plain text."),
        )
        self._descriptions = {field.edit: names[field.edit][1] for field in self.fields}
        for field in self.fields:
            field.description = self._descriptions[field.edit]()

    def retranslate(self) -> None:
        super().retranslate()
        for field in self.fields:
            field.description = self._descriptions[field.edit]()
            field.refresh()

    def help_text(self) -> str:
        if self.use_token.isChecked():
            return self.tr(
                "In amoCRM open Settings → Integrations (Настройки → Интеграции) and click your "
                "private integration. On its Keys and scopes tab (Ключи и доступы) create a long-lived "
                "token, choose how long it lives (1 day to 5 years) and copy it into the "
                "“Long-lived token” field. Copy the account address from the browser's address bar. "
                "The integration ID and secret key are on the same tab; they are optional here."
            )
        return self.tr(
            "In amoCRM open Settings → Integrations (Настройки → Интеграции) and click your "
            "integration. On its Keys and scopes tab (Ключи и доступы) copy the integration ID "
            "(ID интеграции) into Client ID and the secret key (Секретный ключ) into Client secret. "
            "The Redirect URI is the redirect address (Ссылка для перенаправления) in the "
            "integration's settings; copy it exactly, character for character. The account address "
            "is in the browser's address bar, e.g. mycompany.amocrm.ru."
        )

    def _connect_signals(self) -> None:
        self.show_secret.toggled.connect(self._on_show_secret_toggled)
        self.show_token.toggled.connect(self._on_show_token_toggled)
        self.use_token.toggled.connect(self._on_method_toggled)
        for field in self.fields:
            field.edit.textEdited.connect(self._on_text_edited)
            field.edit.textChanged.connect(self._on_text_changed)

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
                self._filling = True  # one check of every field below, not one per keystroke
                try:
                    edit.setText(next((v for v in values if v), ""))
                finally:
                    self._filling = False
        if not self.secret.text():
            self._fetch_secret_from_keyring()
        for field in self.fields:
            field.touched = bool(field.edit.text())
            field.refresh()
        first_empty = next(
            (f.edit for f in self.fields if f.edit.isVisible() and f.error() is not None), self.account
        )
        first_empty.setFocus()

    def isComplete(self) -> bool:
        return all(field.error() is None for field in self._active_fields())

    def validatePage(self) -> bool:
        long_lived = self.use_token.isChecked()
        try:
            self.session.account = parse_account(self.account.text())
            if long_lived:
                self.session.long_lived_token = check_long_lived(self.token.text())
                self.session.client_id = self._optional(validate.client_id, self.client_id)
                self.session.client_secret = self._optional(validate.client_secret, self.secret)
                self.session.redirect_uri = self._optional(validate.redirect_uri, self.redirect)
            else:
                self.session.client_id = validate.client_id(self.client_id.text())
                self.session.client_secret = validate.client_secret(self.secret.text())
                self.session.redirect_uri = validate.redirect_uri(self.redirect.text())
                self.session.long_lived_token = ""
        except WizardError:
            for field in self._active_fields():
                field.refresh(show_all=True)
            return False
        self.session.use_long_lived = long_lived
        self.session.mode = Mode.CONNECT
        return True

    def nextId(self) -> int:
        return Step.EXCHANGE.value if self.use_token.isChecked() else Step.CONSENT.value

    @staticmethod
    def _optional(check: Callable[[str], str], edit: QLineEdit) -> str:
        return check(edit.text()) if edit.text().strip() else ""

    def _active_fields(self) -> list[_Field]:
        return [f for f in self.fields if f.edit is not self.token or self.use_token.isChecked()]

    def _sync_method(self) -> None:
        token = self.use_token.isChecked()
        for widget in self._rows[self.token]:
            widget.setVisible(token)
        for field in self.fields:
            field.refresh()
        if self.help_panel is not None:
            self.help_panel.refresh()

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

    def _on_show_token_toggled(self, shown: bool) -> None:
        self.token.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def _on_method_toggled(self, _checked: bool) -> None:
        self._sync_method()
        self.completeChanged.emit()
        if self.use_token.isChecked():
            self.token.setFocus()

    def _on_text_edited(self, _text: str) -> None:
        sender = self.sender()
        for field in self.fields:
            if field.edit is sender:
                field.touched = True

    def _on_text_changed(self, _text: str) -> None:
        if self._filling:
            return
        for field in self.fields:
            field.refresh()
        self.completeChanged.emit()
