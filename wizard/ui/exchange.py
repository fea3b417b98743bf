"""Page 4: the code becomes tokens, and the tokens are tried on /api/v4/account.

Also where Welcome's "Test it" and "Renew now" do their work. Everything runs on the
worker; leaving the page or closing the window drops the result, and nothing is saved
here (a renewal saves itself: the old refresh token is spent the moment amoCRM answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core import errors as e
from wizard.ui.base import WizardPage
from wizard.ui.model import Fix, Mode, Result, Session, Step, TargetChoice, fix_for
from wizard.ui.qtcompat import emit
from wizard.ui.widgets import BusyIndicator, Notice, local_time, row
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.connection import Connection


def exchange_job(connection: Connection, code: str) -> Result:
    from wizard.core import oauth

    account = connection.account
    tokens = oauth.exchange_code(
        account, connection.client_id, connection.client_secret, connection.redirect_uri, code
    )
    info = oauth.fetch_account(account, tokens.access_token)
    return Result(connection.with_tokens(tokens), info)


def test_job(target: TargetChoice) -> Result:
    from wizard.runtime.client import AmoCRMClient

    with AmoCRMClient(target.open()) as client:
        info = client.account()
        return Result(client.source.connection, info, renewed=client.source.refresh_count > 0)


def renew_job(target: TargetChoice) -> Result:
    from wizard.core import oauth
    from wizard.runtime.source import TokenSource

    connection = TokenSource(target.open()).refresh()
    assert connection.tokens is not None
    info = oauth.fetch_account(connection.account, connection.tokens.access_token)
    return Result(connection, info, renewed=True)


class ExchangePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("Getting the tokens"))
        self.setSubTitle(self.tr("The wizard talks to amoCRM; this takes a few seconds."))
        layout = QVBoxLayout(self)
        self.busy = BusyIndicator(self)
        layout.addWidget(self.busy)
        self.notice = Notice(self)
        layout.addWidget(self.notice)
        self.fix_button = QPushButton(self.tr("Try again"), self)
        self.fix_button.hide()
        layout.addLayout(row(self.fix_button))

        self.details = QWidget(self)
        form = QFormLayout(self.details)
        self.account_name = QLabel(self.details)
        self.account_name.setAccessibleName(self.tr("Account name"))
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
        for label, widget in (
            (self.tr("Account:"), self.account_name),
            (self.tr("Account ID:"), self.account_id),
            (self.tr("Connected as user:"), self.user),
            (self.tr("Access granted to:"), self.scopes),
            (self.tr("Access token valid until:"), self.access_expiry),
            (self.tr("Refresh token dies if unused:"), self.refresh_expiry),
        ):
            title = QLabel(label, self.details)
            form.addRow(title, widget)
            if widget is not self.account_name:
                widget.setAccessibleName(label.rstrip(":"))
        layout.addWidget(self.details)
        self.details.hide()
        layout.addStretch(1)
        self._job: int | None = None
        self._fix = Fix.RETRY
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.fix_button.clicked.connect(self._on_fix_clicked)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.session.result = None
        self.setTitle(
            {
                Mode.CONNECT: self.tr("Getting the tokens"),
                Mode.TEST: self.tr("Testing the stored connection"),
                Mode.RENEW: self.tr("Renewing the tokens"),
            }[self.session.mode]
        )
        self.setSubTitle(
            self.tr("Nothing is saved until the next page.")
            if self.session.mode is Mode.CONNECT
            else self.tr("The wizard talks to amoCRM with what is stored.")
        )
        self._start()

    def cleanupPage(self) -> None:
        self.worker.cancel(self._job)
        self._job = None
        self.busy.stop()

    def isComplete(self) -> bool:
        return self.session.result is not None

    def nextId(self) -> int:
        return Step.SAVE.value if self.session.mode is Mode.CONNECT else Step.DONE.value

    # --- the job --------------------------------------------------------------------

    def _start(self) -> None:
        session = self.session
        self.notice.clear()
        self.fix_button.hide()
        self.details.hide()
        self.worker.cancel(self._job)
        if session.mode is Mode.CONNECT:
            connection, code = session.details_connection(), session.code
            self.busy.start(
                self.tr("Exchanging the code for tokens at {host}, then reading the account…").format(
                    host=connection.account.host
                )
            )
            self._job = self.worker.submit(
                lambda: exchange_job(connection, code), self._on_done, self._on_failed
            )
        else:
            target = session.target
            job = test_job if session.mode is Mode.TEST else renew_job
            self.busy.start(
                self.tr("Calling amoCRM with the stored tokens…")
                if session.mode is Mode.TEST
                else self.tr("Renewing the tokens and saving the new pair…")
            )
            self._job = self.worker.submit(lambda: job(target), self._on_done, self._on_failed)
        emit(self.completeChanged)

    def _on_done(self, result: Any) -> None:
        assert isinstance(result, Result)
        self._job = None
        self.busy.stop()
        self.session.result = result
        self._show(result)
        if self.session.mode is Mode.RENEW:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                self.tr("The tokens were renewed and saved to {target}.").format(
                    target=self.session.target.value
                ),
            )
        elif result.renewed:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                self.tr("The connection works. The tokens had expired and were renewed and saved."),
            )
        elif self.session.mode is Mode.TEST:
            self.notice.show_message(Notice.Kind.SUCCESS, self.tr("The connection works."))
        else:
            self.notice.show_message(
                Notice.Kind.SUCCESS,
                self.tr("Connected. Nothing is saved yet: press Next to choose where the tokens go."),
            )
        emit(self.completeChanged)

    def _on_failed(self, error: e.WizardError) -> None:
        self._job = None
        self.busy.stop()
        self._fix = fix_for(error, self.session.mode)
        extra = ""
        if isinstance(error, e.RedirectUriMismatchError) and error.sent:
            extra = self.tr("The wizard sent: {sent}").format(sent=error.sent)
        nothing = self.tr("Nothing was saved.") if self.session.mode is Mode.CONNECT else ""
        self.notice.show_error(error, " ".join(x for x in (extra, nothing) if x))
        self.fix_button.setText(
            {
                Fix.DETAILS: self.tr("Go back to the integration details"),
                Fix.CONSENT: self.tr("Go back to the consent page"),
                Fix.WELCOME: self.tr("Go back to the start"),
                Fix.RETRY: self.tr("Try again"),
            }[self._fix]
        )
        self.fix_button.setAccessibleDescription(error.hint)
        self.fix_button.show()
        self.fix_button.setFocus()
        emit(self.completeChanged)

    def _show(self, result: Result) -> None:
        info = result.account_info
        tokens = result.connection.tokens
        assert tokens is not None
        claims = tokens.claims
        self.account_name.setText(str(info.get("name", "?")))
        self.account_id.setText(str(info.get("id", claims.account_id if claims else "?")))
        user = info.get("current_user_id") or (claims.user_id if claims else None)
        self.user.setText(self.tr("user {id}").format(id=user) if user else self.tr("unknown"))
        scopes = ", ".join(claims.scopes) if claims and claims.scopes else self.tr("not stated in the token")
        self.scopes.setText(scopes)
        self.access_expiry.setText(local_time(tokens.expires_at))
        end = tokens.refresh_expires_at
        self.refresh_expiry.setText(
            local_time(end) if end else self.tr("no refresh token (long-lived token)")
        )
        self.details.show()

    # --- slots ----------------------------------------------------------------------

    def _on_fix_clicked(self) -> None:
        wizard = self.wizard()
        if self._fix is Fix.RETRY:
            self._start()
            return
        goal = {Fix.DETAILS: Step.DETAILS, Fix.CONSENT: Step.CONSENT, Fix.WELCOME: Step.WELCOME}[self._fix]
        while wizard.currentId() > goal.value:
            wizard.back()
