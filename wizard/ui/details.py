"""Page 2: the values from the integration's Keys and scopes tab, checked as typed; or a
private integration's long-lived token instead of the consent page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

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
from wizard.core.account import Account, parse_account
from wizard.core.errors import ConfigError, InvalidAccountError, WizardError
from wizard.core.i18n import render
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session, Step, looks_like_jwt
from wizard.ui.texts import ui_text
from wizard.ui.widgets import FieldStatus
from wizard.ui.worker import Worker


def _with_colon(name: Callable[[], str]) -> Callable[[], str]:
    return lambda: name() + ":"


def _keyring_secret(base_url: str, client_id: str) -> str:
    """The last place the one order looks (``credentials.resolve``), asked off the UI thread."""
    from wizard.targets.credentials import keyring_secret, resolve

    found = resolve({"AMOCRM_BASE_URL": base_url, "AMOCRM_CLIENT_ID": client_id}, {}, {}, keyring_secret)
    return found.values.get("AMOCRM_CLIENT_SECRET", "")


def pasted_host(text: str) -> str | None:
    """The address without what follows the account (a page, a query) when the admin pasted
    a whole browser address such as https://mycompany.amocrm.ru/leads?x=1; else None."""
    raw = text.strip()
    if not raw or any(ch.isspace() for ch in raw):
        return None
    with_scheme = "://" in raw
    parts = urlsplit(raw if with_scheme else "https://" + raw)
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return None
    if not parts.hostname or not (parts.path.rstrip("/") or parts.query or parts.fragment):
        return None
    return f"{parts.scheme}://{parts.netloc}" if with_scheme else parts.netloc


def check_account(text: str) -> Account:
    """The account the admin means: a pasted browser address is cut down to the account;
    Cyrillic and Kommo addresses get a message about their own problem."""
    typed = text.strip()
    if any(ch.isalpha() and not ch.isascii() for ch in typed):
        raise InvalidAccountError(
            ui_text(
                QT_TRANSLATE_NOOP("Messages", "“{typed}” has Russian (Cyrillic) letters in it."),
                typed=typed,
            ),
            ui_text(
                QT_TRANSLATE_NOOP(
                    "Messages",
                    "Account addresses use Latin letters, digits and hyphens only. Copy the address "
                    "from your browser's address bar while you are in amoCRM, e.g. mycompany.amocrm.ru.",
                )
            ),
        )
    try:
        return parse_account(pasted_host(typed) or typed)
    except InvalidAccountError as error:
        if "kommo" not in typed.lower():
            raise
        raise InvalidAccountError(
            error.message,
            ui_text(
                QT_TRANSLATE_NOOP(
                    "Messages",
                    "A Kommo address looks like mycompany.kommo.com: copy it from your browser's "
                    "address bar while you are in Kommo.",
                )
            ),
        ) from error


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
        status: FieldStatus,
        check: Callable[[str], object],
        optional: Callable[[], bool] = lambda: False,
        note: Callable[[str], str] = lambda _text: "",
    ) -> None:
        self.edit = edit
        self.status = status
        self.check = check
        self.optional = optional
        #: What to say instead of "Looks right" (what was taken from a pasted address).
        self.note = note
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
                text = self.note(self.edit.text()) or translate("DetailsPage", "✓ Looks right")
            self.status.show_ok(text)
            self.edit.setAccessibleDescription(f"{self.description} {text}".strip())
        elif self.touched or show_all:
            text = translate("DetailsPage", "✗ {message} {hint}").format(
                message=render(error.message), hint=render(error.hint)
            )
            self.status.show_error(text.strip())
            self.edit.setAccessibleDescription(f"{self.description} {text}".strip())
        else:
            self.status.show_ok("")
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
        self.secret.setTextMargins(3, 0, 0, 0)  # the first dot of a hidden secret was clipped
        self.show_secret = QCheckBox(self)
        self.redirect = self._edit("https://example.com/amocrm/callback")
        self.token = self._edit("eyJ0eXAiOiJKV1Qi…")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setTextMargins(3, 0, 0, 0)
        self.show_token = QCheckBox(self)

        token_mode = self.use_token.isChecked
        self.fields: list[_Field] = []
        self.titles: list[QLabel] = []
        self._rows: dict[QLineEdit, list[QWidget]] = {}
        for edit, check, optional in (
            (self.account, check_account, lambda: False),
            (self.client_id, validate.client_id, token_mode),
            (self.secret, self._check_secret, token_mode),
            (self.redirect, validate.redirect_uri, token_mode),
            (self.token, check_long_lived, lambda: False),
        ):
            status = FieldStatus(self)
            title = QLabel(self)
            title.setBuddy(edit)
            form.addRow(title, edit)
            self._rows[edit] = [title, edit, status]
            if edit is self.secret:
                form.addRow("", self.show_secret)
            if edit is self.token:
                form.addRow("", self.show_token)
                self._rows[edit].append(self.show_token)
            form.addRow(status)  # the whole width: most errors then fit the two lines kept
            self.titles.append(title)
            note = self._account_note if edit is self.account else (lambda _text: "")
            self.fields.append(_Field(edit, status, check, optional, note))
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
                "Where do I find these? In amoCRM open Settings → Integrations, click your integration, "
                "then the Keys and scopes tab. The account address is what you see in the browser's "
                "address bar, e.g. mycompany.amocrm.ru; pasting the whole address is fine."
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
        # amoCRM's own labels on the screen ("Integration ID", "Secret key"); the contract's
        # accessible names (Client ID, Client secret) stay for screen readers and tests.
        names = {
            self.account: (
                lambda: self.tr("Account address"),
                lambda: self.tr(
                    "Your amoCRM address, e.g. mycompany, mycompany.amocrm.ru or mycompany.kommo.com. "
                    "A whole address pasted from the browser is fine too."
                ),
                lambda: self.tr("Account address"),
            ),
            self.client_id: (
                lambda: self.tr("Client ID"),
                lambda: self.tr("The integration ID from the Keys and scopes tab, like 1a2b3c4d-…"),
                lambda: self.tr("Integration ID"),
            ),
            self.secret: (
                lambda: self.tr("Client secret"),
                lambda: self.tr("The secret key from the Keys and scopes tab. It is hidden as you type."),
                lambda: self.tr("Secret key"),
            ),
            self.redirect: (
                lambda: self.tr("Redirect URI"),
                lambda: self.tr(
                    "The redirect address (Redirect URI) exactly as written in the integration's settings."
                ),
                lambda: self.tr("Redirect URI"),
            ),
            self.token: (
                lambda: self.tr("Long-lived token"),
                lambda: self.tr(
                    "The long-lived token from the private integration's Keys and scopes tab. "
                    "It is hidden as you type."
                ),
                lambda: self.tr("Long-lived token"),
            ),
        }
        for field, title in zip(self.fields, self.titles, strict=True):
            name, description, shown = names[field.edit]
            t.bind(field.edit.setAccessibleName, name)
            t.bind(field.edit.setToolTip, description)
            t.bind(title.setText, _with_colon(shown))
        t.bind(self.show_secret.setText, lambda: self.tr("Show the secret"))
        t.bind(
            self.show_secret.setAccessibleDescription,
            lambda: self.tr("Shows the secret key in plain text."),
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
                "The Integration ID and Secret key are on the same tab; they are optional here."
            )
        return self.tr(
            "In amoCRM open Settings → Integrations and click your integration. On its Keys and "
            "scopes tab copy the Integration ID and the Secret key into the fields of the same "
            "names. The Redirect URI is the redirect address in the integration's settings; copy "
            "it exactly, character for character. The account address is in the browser's "
            "address bar, e.g. mycompany.amocrm.ru."
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
        values = self.session.starting_values()
        for edit, key in (
            (self.account, "AMOCRM_BASE_URL"),
            (self.client_id, "AMOCRM_CLIENT_ID"),
            (self.secret, "AMOCRM_CLIENT_SECRET"),
            (self.redirect, "AMOCRM_REDIRECT_URI"),
        ):
            if not edit.text():
                self._filling = True  # one check of every field below, not one per keystroke
                try:
                    edit.setText(values.get(key, ""))
                finally:
                    self._filling = False
        for edit in (self.account, self.client_id, self.secret, self.redirect):
            edit.setCursorPosition(0)  # a long value shows its beginning, not its clipped end
        if not self.secret.text():
            self._fetch_secret_from_keyring()
        for field in self.fields:
            field.touched = bool(field.edit.text())
            field.refresh()
        # The wizard puts the focus where focus_target() says once the page is shown.

    def entered(self) -> None:
        """Shown again, also by Back (QWizard does not initialise a page again then): what
        amoCRM refused since is said under its field."""
        for field in self.fields:
            field.touched = field.touched or bool(field.edit.text())
            field.refresh()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return all(field.error() is None for field in self._active_fields())

    def focus_target(self) -> QWidget | None:
        """The first field that still needs the admin (None: all are right, Next is next)."""
        for field in self._active_fields():
            if field.error() is not None:
                return field.edit
        return None

    # --- checks with what the page knows --------------------------------------------

    def _check_secret(self, text: str) -> str:
        """The secret's shape, and not the very secret amoCRM has just refused."""
        secret = validate.client_secret(text)
        if secret and secret == self.session.rejected_secret:
            raise ConfigError(
                ui_text(QT_TRANSLATE_NOOP("Messages", "amoCRM refused this secret key.")),
                ui_text(
                    QT_TRANSLATE_NOOP(
                        "Messages",
                        "Copy the Secret key again from the integration's Keys and scopes tab in amoCRM.",
                    )
                ),
            )
        return secret

    def _account_note(self, text: str) -> str:
        host = pasted_host(text)
        if host is None:
            return ""
        try:
            account = check_account(text)
        except WizardError:
            return ""
        return self.tr(
            "✓ The account is {account}: taken from the pasted address (the rest is not needed)."
        ).format(account=account.host)

    def validatePage(self) -> bool:
        long_lived = self.use_token.isChecked()
        try:
            self.session.account = check_account(self.account.text())
            if long_lived:
                self.session.long_lived_token = check_long_lived(self.token.text())
                self.session.client_id = self._optional(validate.client_id, self.client_id)
                self.session.client_secret = self._optional(self._check_secret, self.secret)
                self.session.redirect_uri = self._optional(validate.redirect_uri, self.redirect)
            else:
                self.session.client_id = validate.client_id(self.client_id.text())
                self.session.client_secret = self._check_secret(self.secret.text())
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
            self.secret.setCursorPosition(0)

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
