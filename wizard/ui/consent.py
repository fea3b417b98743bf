"""Page 3: amoCRM's own consent page inside the wizard, and two ways around it.

The web view (QtWebEngine) is imported here, on entering the page, never before. The
redirect amoCRM sends after "Allow" is captured and cancelled before it is loaded;
``oauth.parse_callback`` checks the state and the account and takes the code.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.errors import InvalidCallbackError, WizardError
from wizard.ui.base import WizardPage
from wizard.ui.model import Session, Step
from wizard.ui.navigation import NavigationRequest, Verdict, decide
from wizard.ui.qtcompat import emit
from wizard.ui.widgets import Notice
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.ui.webview import ConsentBrowser


class ConsentPage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("Allow access in amoCRM"))
        self.setSubTitle(self.tr("Log in if amoCRM asks, choose the account and press “Allow” (Разрешить)."))
        self.layout_ = QVBoxLayout(self)
        self.notice = Notice(self)
        self.layout_.addWidget(self.notice)
        status_row = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Consent page status"))
        status_row.addWidget(self.status, 1)
        self.retry = QPushButton(self.tr("Try loading again"), self)
        self.retry.hide()
        status_row.addWidget(self.retry)
        self.open_external = QPushButton(self.tr("Open in my browser"), self)
        self.open_external.setAccessibleDescription(
            self.tr("Opens the page that is not part of amoCRM in your usual web browser.")
        )
        self.open_external.hide()
        status_row.addWidget(self.open_external)
        self.layout_.addLayout(status_row)
        # The browser goes here when the page is first entered.
        self.browser_slot = QVBoxLayout()
        self.layout_.addLayout(self.browser_slot, 1)

        self.fallback = QGroupBox(self.tr("Or, without this page"), self)
        form = QFormLayout(self.fallback)
        self.code_edit = QLineEdit(self.fallback)
        self.code_edit.setAccessibleName(self.tr("Authorization code"))
        self.code_edit.setAccessibleDescription(
            self.tr("The 20-minute code from the integration's Keys and scopes tab in amoCRM.")
        )
        self.code_edit.setPlaceholderText(self.tr("def50200…"))
        form.addRow(self.tr("Paste the 20-minute code from Keys and scopes:"), self.code_edit)
        self.address_edit = QLineEdit(self.fallback)
        self.address_edit.setAccessibleName(self.tr("Redirect address"))
        self.address_edit.setAccessibleDescription(
            self.tr("The whole address the browser went to after you pressed Allow; it contains code=.")
        )
        self.address_edit.setPlaceholderText("https://…?code=…&state=…")
        form.addRow(self.tr("Or paste the address you were redirected to:"), self.address_edit)
        self.layout_.addWidget(self.fallback)

        self.browser: ConsentBrowser | None = None
        self.state = ""
        self._captured = False
        self._external_url = ""
        self.load_started_at = 0.0
        self.load_finished_at = 0.0
        self.loaded_ok = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.retry.clicked.connect(self._on_retry_clicked)
        self.open_external.clicked.connect(self._on_open_external_clicked)
        self.code_edit.textChanged.connect(self._on_fallback_changed)
        self.address_edit.textChanged.connect(self._on_fallback_changed)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.notice.clear()
        self.code_edit.clear()
        self.address_edit.clear()
        self._ensure_browser()
        self.start_over()

    def cleanupPage(self) -> None:
        if self.browser is not None:
            self.browser.stop()
        self._captured = False
        self.session.code = ""

    def isComplete(self) -> bool:
        return self._captured or bool(self.code_edit.text().strip() or self.address_edit.text().strip())

    def validatePage(self) -> bool:
        from wizard.core import oauth

        if self._captured:
            return True
        address = self.address_edit.text().strip()
        try:
            if address:
                # Pasted by the admin, possibly from a consent page opened in another browser:
                # there may be no state of ours in it (as `connect --redirect-url`). The
                # account check on the referer still applies.
                callback = oauth.parse_callback(address, self._account(), expected_state=None)
                self.session.code = callback.code
            else:
                code = self.code_edit.text().strip()
                if not code or any(ch.isspace() for ch in code):
                    raise InvalidCallbackError(
                        self.tr("The code has spaces in it or is empty."),
                        self.tr("Copy the code again, whole, from Keys and scopes."),
                    )
                self.session.code = code
        except WizardError as error:
            self.notice.show_error(error)
            return False
        return True

    def nextId(self) -> int:
        return Step.EXCHANGE.value

    # --- the browser ----------------------------------------------------------------

    def _account(self):  # type: ignore[no-untyped-def]
        assert self.session.account is not None
        return self.session.account

    def _ensure_browser(self) -> None:
        if self.browser is not None:
            return
        started = time.perf_counter()
        from wizard.ui.webview import ConsentBrowser  # QtWebEngine loads here, not earlier

        self.browser = ConsentBrowser(self)
        self.browser.setMinimumHeight(self.fontMetrics().height() * 12)
        self.browser_slot.addWidget(self.browser)
        self.webengine_import_seconds = time.perf_counter() - started
        page = self.browser.page
        page.navigation_requested.connect(self._on_navigation_requested)
        page.loadStarted.connect(self._on_load_started)
        page.loadFinished.connect(self._on_load_finished)

    def start_over(self, message_kept: bool = False) -> None:
        """A fresh state and the consent page loaded anew (entering, Back to here, after a refusal)."""
        from wizard.core import oauth

        assert self.browser is not None
        self._captured = False
        self.session.code = ""
        self.state = oauth.new_state()
        account = self._account()
        self.browser.page.set_decider(
            functools.partial(decide, account=account, redirect_uri=self.session.redirect_uri)
        )
        self.retry.hide()
        self.open_external.hide()
        self.loaded_ok = False
        self.browser.load(oauth.consent_url(account, self.session.client_id, self.state))
        emit(self.completeChanged)

    def view(self):  # type: ignore[no-untyped-def]
        """The QWebEngineView (for tests and screenshots)."""
        assert self.browser is not None
        return self.browser.view

    # --- slots ----------------------------------------------------------------------

    def _on_navigation_requested(self, request: NavigationRequest, verdict: Verdict) -> None:
        if verdict is Verdict.CAPTURE:
            # Called from inside acceptNavigationRequest: act once it has returned.
            QTimer.singleShot(0, functools.partial(self._take_callback, request.url))
        elif verdict is Verdict.EXTERNAL:
            self._external_url = request.url
            self.status.setText(
                self.tr("This link leads outside amoCRM ({url}); it is not opened here.").format(
                    url=QUrl(request.url).host()
                )
            )
            self.open_external.show()

    def _take_callback(self, url: str) -> None:
        from wizard.core import oauth

        if self._captured:
            return
        try:
            callback = oauth.parse_callback(url, self._account(), self.state)
        except WizardError as error:
            # Denied, forged or for another account: say so and offer the page again.
            self.notice.show_error(error, self.tr("The consent page has been loaded again."))
            self.start_over()
            return
        self._captured = True
        self.session.code = callback.code
        self.notice.show_message(Notice.Kind.SUCCESS, self.tr("Access allowed. Getting the tokens…"))
        emit(self.completeChanged)
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()

    def _on_load_started(self) -> None:
        self.load_started_at = time.perf_counter()
        self.status.setText(self.tr("Loading the amoCRM page…"))
        self.retry.hide()

    def _on_load_finished(self, ok: bool) -> None:
        self.load_finished_at = time.perf_counter()
        if self._captured:
            return
        if ok:
            self.loaded_ok = True
            self.status.setText(self.tr("Press “Allow” on the page below."))
            return
        if self.loaded_ok:
            return  # a navigation we cancelled (redirect captured, link kept out): the page stays
        self.status.setText(
            self.tr(
                "The amoCRM page could not be loaded. Check the internet connection and the "
                "account address ({host}), then try again, or use the code below."
            ).format(host=self._account().host)
        )
        self.retry.show()

    def _on_retry_clicked(self) -> None:
        self.start_over()

    def _on_open_external_clicked(self) -> None:
        if self._external_url:
            QDesktopServices.openUrl(QUrl(self._external_url))

    def _on_fallback_changed(self, _text: str) -> None:
        emit(self.completeChanged)
