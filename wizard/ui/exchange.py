"""Page 4: the code (or a long-lived token) becomes tokens, and the tokens are tried on
/api/v4/account.

Also where Welcome's "Test it" and "Renew now" do their work. Everything runs on the
worker; leaving the page or closing the window drops the result, and nothing is saved
here (a renewal saves itself: the old refresh token is spent the moment amoCRM answers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core import errors as e
from wizard.ui.base import WizardPage
from wizard.ui.jobs import exchange_job, long_lived_job, renew_job, test_job
from wizard.ui.model import Fix, Mode, Result, Session, Step, fix_for
from wizard.ui.widgets import BusyIndicator, Notice, local_time, row
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.ui.diagnosis import RedirectCompare


def _without_colon(label: Callable[[], str]) -> Callable[[], str]:
    return lambda: label().rstrip(":")


__all__ = ["ExchangePage", "exchange_job", "renew_job", "test_job"]


class ExchangePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.layout_ = QVBoxLayout(self)
        self.busy = BusyIndicator(self)
        self.layout_.addWidget(self.busy)
        self.notice = Notice(self)
        self.layout_.addWidget(self.notice)
        self.fix_button = QPushButton(self)
        self.fix_button.setAutoDefault(False)
        self.fix_button.hide()
        self.layout_.addLayout(row(self.fix_button))
        self.compare: RedirectCompare | None = None  # built on the first redirect URI mismatch
        self._compare_index = self.layout_.count()

        self.details = QWidget(self)
        form = QFormLayout(self.details)
        self.account_name = QLabel(self.details)
        font = self.account_name.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.account_name.setFont(font)
        self.account_id = QLabel(self.details)
        self.user = QLabel(self.details)
        self.scopes = QLabel(self.details)
        self.scopes.setWordWrap(True)
        self.access_expiry = QLabel(self.details)
        self.refresh_expiry = QLabel(self.details)
        self.refresh_expiry.setWordWrap(True)
        self._rows = []
        for label, widget in (
            (lambda: self.tr("Account:"), self.account_name),
            (lambda: self.tr("Account ID:"), self.account_id),
            (lambda: self.tr("Connected as user:"), self.user),
            (lambda: self.tr("Access granted to:"), self.scopes),
            (lambda: self.tr("Access token valid until:"), self.access_expiry),
            (lambda: self.tr("Refresh token dies if unused:"), self.refresh_expiry),
        ):
            title = QLabel(self.details)
            title.setBuddy(widget)
            form.addRow(title, widget)
            self.texts.bind(title.setText, label)
            self.texts.bind(widget.setAccessibleName, _without_colon(label))
            self._rows.append(title)
        self.layout_.addWidget(self.details)
        self.details.hide()
        self.layout_.addStretch(1)
        self.add_help(self.layout_)
        self._job: int | None = None
        self._fix = Fix.RETRY
        self._error: e.WizardError | None = None
        self._result: Result | None = None
        self._bind_texts()
        self._connect_signals()

    def _bind_texts(self) -> None:
        self.texts.bind(self.setTitle, self._title)
        self.texts.bind(self.setSubTitle, self._subtitle)
        self._show_fix_button()

    def _title(self) -> str:
        if self.session.mode is Mode.CONNECT and self.session.use_long_lived:
            return self.tr("Testing the long-lived token")
        return {
            Mode.CONNECT: self.tr("Getting the tokens"),
            Mode.TEST: self.tr("Testing the stored connection"),
            Mode.RENEW: self.tr("Renewing the tokens"),
        }[self.session.mode]

    def _subtitle(self) -> str:
        if self.session.mode is Mode.CONNECT:
            return self.tr("The wizard talks to amoCRM; nothing is saved until the next page.")
        return self.tr("The wizard talks to amoCRM with what is stored.")

    def help_text(self) -> str:
        return self.tr(
            "Here the wizard exchanges the code for tokens and reads your account with them, to be "
            "sure they work. If amoCRM refuses, the message says what to change and the button "
            "takes you to the page where you change it.\n\n"
            "The values it uses are on your integration in amoCRM: Settings → Integrations "
            "(Настройки → Интеграции) → your integration → Keys and scopes (Ключи и доступы)."
        )

    def _connect_signals(self) -> None:
        self.fix_button.clicked.connect(self._on_fix_clicked)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.session.result = None
        self.texts.refresh()
        self._start()

    def cleanupPage(self) -> None:
        self.worker.cancel(self._job)
        self._job = None
        self.busy.stop()
        self.fix_button.setDefault(False)  # the wizard's Next is the default again

    def isComplete(self) -> bool:
        return self.session.result is not None

    def nextId(self) -> int:
        return Step.SAVE.value if self.session.mode is Mode.CONNECT else Step.DONE.value

    def retranslate(self) -> None:
        super().retranslate()
        if self._result is not None and self.details.isVisible():
            self._show(self._result)

    # --- the job --------------------------------------------------------------------

    def _start(self) -> None:
        session = self.session
        self.notice.clear()
        self.fix_button.setDefault(False)
        self.fix_button.setAutoDefault(False)
        self.fix_button.hide()
        self.details.hide()
        if self.compare is not None:
            self.compare.hide()
        self._error = None
        self.worker.cancel(self._job)
        if session.mode is Mode.CONNECT:
            connection = session.details_connection()
            host = connection.account.host
            if session.use_long_lived:
                token = session.long_lived_token
                self.busy.start(lambda: self.tr("Trying the long-lived token on {host}…").format(host=host))
                self._job = self.worker.submit(
                    lambda: long_lived_job(connection, token), self._on_done, self._on_failed
                )
            else:
                code = session.code
                self.busy.start(
                    lambda: self.tr("Getting the tokens from {host}, then reading the account…").format(
                        host=host
                    )
                )
                self._job = self.worker.submit(
                    lambda: exchange_job(connection, code), self._on_done, self._on_failed
                )
        else:
            target, known = session.target, session.known_values()
            if session.mode is Mode.TEST:
                self.busy.start(lambda: self.tr("Calling amoCRM with the stored tokens…"))
                self._job = self.worker.submit(
                    lambda: test_job(target, known), self._on_done, self._on_failed
                )
            else:
                self.busy.start(lambda: self.tr("Renewing the tokens and saving the new pair…"))
                from wizard.ui.restarting import restart_command

                restart_cmd = restart_command(session)
                self._job = self.worker.submit(
                    lambda: renew_job(target, known, restart_cmd), self._on_done, self._on_failed
                )
        self.completeChanged.emit()

    def _on_done(self, result: Any) -> None:
        assert isinstance(result, Result)
        self._job = None
        self.busy.stop()
        self.session.result = result
        self.session.rejected_secret = ""
        self._result = result
        if result.restart is not None:  # a renewal restarted the backend: the Done page says how
            from wizard.ui.restarting import outcome_note

            self.session.notes = [outcome_note(result.restart)]
        self._show(result)
        refresh_steps = getattr(self.wizard(), "refresh_steps", None)
        if refresh_steps is not None:
            refresh_steps()  # the account's name is known now
        mode = self.session.mode
        target = self.session.target.value
        if mode is Mode.RENEW:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                lambda: self.tr("The tokens were renewed and saved to {target}.").format(target=target),
            )
        elif result.renewed:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                lambda: self.tr("The connection works. The tokens had expired and were renewed and saved."),
            )
        elif mode is Mode.TEST:
            self.notice.show_message(Notice.Kind.SUCCESS, lambda: self.tr("The connection works."))
        elif self.session.use_long_lived:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                lambda: self.tr("The long-lived token works. Nothing is saved yet: press Next."),
            )
        else:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                lambda: self.tr("Connected. Nothing is saved yet: press Next to save the tokens."),
            )
        self.completeChanged.emit()
        self.focus_forward()

    def _on_failed(self, error: e.WizardError) -> None:
        self._job = None
        self.busy.stop()
        self._error = error
        self._fix = fix_for(error, self.session.mode, long_lived=self.session.use_long_lived)
        connect = self.session.mode is Mode.CONNECT
        if isinstance(error, e.ClientSecretRejectedError):
            self.session.rejected_secret = self.session.client_secret
        self.notice.show_error(
            error, lambda: self.tr("Nothing was saved.") if connect else "", fix=self._fix_words()
        )
        if isinstance(error, e.RedirectUriMismatchError):
            self._show_compare(error.sent or self.session.redirect_uri)
        self._show_fix_button()
        self.fix_button.show()
        self.completeChanged.emit()
        # The fix is what the admin does next: focused, and Enter presses it.
        self.fix_button.setAutoDefault(True)
        self.fix_button.setDefault(True)
        self.fix_button.setFocus()

    def _fix_words(self) -> str | Callable[[], str]:
        """The window's own "what to do" where the catalogue's is written for the command line."""
        if self._fix is Fix.RECONNECT:
            return lambda: self.tr(
                "Press “Connect again” below: the wizard opens amoCRM's consent page with everything "
                "filled in, and you press Allow there."
            )
        return ""

    def _show_fix_button(self) -> None:
        self.texts.bind(self.fix_button.setText, self._fix_text)
        self.texts.bind(self.fix_button.setAccessibleDescription, self._fix_description)

    def _fix_text(self) -> str:
        return {
            Fix.DETAILS: self.tr("Go back to the integration details"),
            Fix.CONSENT: self.tr("Go back to the consent page"),
            Fix.WELCOME: self.tr("Go back to the start"),
            Fix.RECONNECT: self.tr("Connect again (everything prefilled)"),
            Fix.RETRY: self.tr("Try again"),
        }[self._fix]

    def _fix_description(self) -> str:
        if self._error is None:
            return self.tr("Starts the work of this page again.")
        from wizard.core.catalogue import describe

        return describe(self._error).fix

    def _show_compare(self, sent: str) -> None:
        if self.compare is None:
            from wizard.ui.diagnosis import RedirectCompare

            self.compare = RedirectCompare(self)
            self.compare.use_registered.connect(self._on_use_registered)
            self.layout_.insertWidget(self._compare_index, self.compare)
            QWidget.setTabOrder(self.fix_button, self.compare.registered)
        self.compare.set_sent(sent)
        self.compare.show()

    def _show(self, result: Result) -> None:
        info = result.account_info
        tokens = result.connection.tokens
        assert tokens is not None
        claims = tokens.claims
        self.account_name.setText(str(info.get("name", "?")))
        self.account_id.setText(str(info.get("id", claims.account_id if claims else "?")))
        user = info.get("current_user_id") or (claims.user_id if claims else None)
        self.user.setText(self.tr("user {id}").format(id=user) if user else self.tr("unknown"))
        scopes = (
            ", ".join(self.scope_words(scope) for scope in claims.scopes)
            if claims and claims.scopes
            else self.tr("not stated in the token")
        )
        self.scopes.setText(scopes)
        self.access_expiry.setText(local_time(tokens.expires_at))
        end = tokens.refresh_expires_at
        self.refresh_expiry.setText(
            local_time(end) if end else self.tr("no refresh token: a long-lived token cannot be renewed")
        )
        self.details.show()

    def scope_words(self, scope: str) -> str:
        """What an OAuth scope lets the integration do, in plain words (unknown ones as they are)."""
        words = {
            "crm": self.tr("CRM data (deals, contacts, companies, tasks)"),
            "files": self.tr("files"),
            "files_delete": self.tr("deleting files"),
            "notifications": self.tr("notifications"),
            "push_notifications": self.tr("push notifications"),
        }
        return words.get(scope, scope)

    # --- slots ----------------------------------------------------------------------

    def _on_use_registered(self, uri: str) -> None:
        wizard = self.wizard()
        self._go_back_to(Step.DETAILS)
        details = getattr(wizard, "details", None)
        if details is not None and wizard.currentId() == Step.DETAILS.value:
            details.redirect.setText(uri)
            details.redirect.setFocus()

    def _on_fix_clicked(self) -> None:
        if self._fix is Fix.RETRY:
            self._start()
            return
        if self._fix is Fix.RECONNECT:
            reconnect = getattr(self.wizard(), "reconnect", None)
            if reconnect is not None:
                reconnect()
            return
        goal = {Fix.DETAILS: Step.DETAILS, Fix.CONSENT: Step.CONSENT, Fix.WELCOME: Step.WELCOME}[self._fix]
        self._go_back_to(goal)

    def _go_back_to(self, goal: Step) -> None:
        wizard = self.wizard()
        while wizard.currentId() > goal.value and goal.value in wizard.visitedIds():
            wizard.back()
