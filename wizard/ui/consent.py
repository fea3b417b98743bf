"""Page 3: amoCRM's own consent page inside the wizard, and the ways around it.

The web view (QtWebEngine) is imported when this page is built: once the first window has
been painted (the wizard warms it up then) or on entering the page, never before. The
redirect amoCRM sends after "Allow" is captured and cancelled before it is loaded;
``consent.parse_callback`` checks the state and the account and takes the code.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QTimer, QUrl
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

from wizard.core import consent
from wizard.core.errors import InvalidCallbackError, WizardError
from wizard.ui import links
from wizard.ui.base import WizardPage
from wizard.ui.model import Session, Step
from wizard.ui.navigation import NavigationRequest, Verdict, decide
from wizard.ui.texts import current_language, ui_text
from wizard.ui.widgets import Notice, announce, row
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.account import Account
    from wizard.ui.webview import ConsentBrowser

#: A consent page loaded ahead of time is used only while it is this fresh (seconds).
PREFETCH_FRESH_FOR = 300.0


def _blank_only(request: NavigationRequest) -> Verdict:
    return Verdict.FOLLOW if request.url == "about:blank" else Verdict.BLOCK


class ConsentPage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.layout_ = QVBoxLayout(self)
        self.notice = Notice(self)
        self.layout_.addWidget(self.notice)
        status_row = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        status_row.addWidget(self.status, 1)
        self.retry = QPushButton(self)
        self.retry.setAutoDefault(False)
        self.retry.hide()
        status_row.addWidget(self.retry)
        self.open_external = QPushButton(self)
        self.open_external.setAutoDefault(False)
        self.open_external.hide()
        status_row.addWidget(self.open_external)
        self.layout_.addLayout(status_row)
        # The browser goes here when the page is built.
        self.browser_slot = QVBoxLayout()
        self.layout_.addLayout(self.browser_slot, 1)

        self.fallback = QGroupBox(self)
        form = QFormLayout(self.fallback)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.own_browser = QPushButton(self.fallback)
        self.own_browser.setAutoDefault(False)
        form.addRow(row(self.own_browser))
        self.code_label = QLabel(self.fallback)
        self.code_edit = QLineEdit(self.fallback)
        self.code_edit.setPlaceholderText("def50200…")
        self.code_label.setBuddy(self.code_edit)
        form.addRow(self.code_label, self.code_edit)
        self.address_label = QLabel(self.fallback)
        self.address_edit = QLineEdit(self.fallback)
        self.address_edit.setPlaceholderText("https://…?code=…&state=…")
        self.address_label.setBuddy(self.address_edit)
        form.addRow(self.address_label, self.address_edit)
        self.layout_.addWidget(self.fallback)
        self.add_help(self.layout_)

        self.browser: ConsentBrowser | None = None
        self.state = ""
        self.webengine_import_seconds = 0.0
        self._captured = False
        self._external_url = ""
        #: (account, client id, redirect URI, language) the page was loaded for.
        self._loaded_for: tuple[str, str, str, str] | None = None
        self._loaded_at = 0.0
        self._load_failed = False
        self._consent_url = ""
        self._warming_up = False
        self._queued = ""
        self._http_status = 0
        self.load_started_at = 0.0
        self.load_finished_at = 0.0
        self.loaded_ok = False
        self._bind_texts()
        self._connect_signals()

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("Allow access in amoCRM"))
        t.bind(
            self.setSubTitle,
            lambda: self.tr("Log in if amoCRM asks, choose the account and press “Allow” (Разрешить)."),
        )
        t.bind(self.status.setAccessibleName, lambda: self.tr("Consent page status"))
        t.bind(self.retry.setText, lambda: self.tr("Try loading again"))
        t.bind(self.retry.setAccessibleDescription, lambda: self.tr("Loads the amoCRM page again."))
        t.bind(self.open_external.setText, lambda: self.tr("Open that link in my browser"))
        t.bind(
            self.open_external.setAccessibleDescription,
            lambda: self.tr("Opens the page that is not part of amoCRM in your usual web browser."),
        )
        t.bind(self.fallback.setTitle, lambda: self.tr("Or, without this page"))
        t.bind(self.own_browser.setText, lambda: self.tr("Open the consent page in my own browser"))
        t.bind(
            self.own_browser.setAccessibleDescription,
            lambda: self.tr(
                "Opens the same amoCRM page in your usual web browser. After pressing Allow there, "
                "paste the address the browser went to into the field below."
            ),
        )
        t.bind(self.own_browser.setToolTip, self.own_browser.accessibleDescription)
        t.bind(self.code_label.setText, lambda: self.tr("Paste the 20-minute code from Keys and scopes:"))
        t.bind(self.code_edit.setAccessibleName, lambda: self.tr("Authorization code"))
        t.bind(
            self.code_edit.setAccessibleDescription,
            lambda: self.tr("The 20-minute code from the integration's Keys and scopes tab in amoCRM."),
        )
        t.bind(self.code_edit.setToolTip, self.code_edit.accessibleDescription)
        t.bind(self.address_label.setText, lambda: self.tr("Or paste the address you were redirected to:"))
        t.bind(self.address_edit.setAccessibleName, lambda: self.tr("Redirect address"))
        t.bind(
            self.address_edit.setAccessibleDescription,
            lambda: self.tr(
                "The whole address the browser went to after you pressed Allow; it contains code=."
            ),
        )
        t.bind(self.address_edit.setToolTip, self.address_edit.accessibleDescription)
        self._set_status(lambda: "")

    def help_text(self) -> str:
        return self.tr(
            "This is amoCRM's own page. Log in if it asks, pick the account and press “Allow” "
            "(Разрешить); the wizard catches the answer and moves on by itself.\n\n"
            "If the page does not load: in amoCRM open Settings → Integrations (Настройки → "
            "Интеграции), click your integration, open the Keys and scopes tab (Ключи и доступы) and "
            "copy the authorization code (Код авторизации) into the field below; it works for 20 "
            "minutes. Or open the page in your own browser, press Allow there and paste the address "
            "your browser went to."
        )

    def _connect_signals(self) -> None:
        self.retry.clicked.connect(self._on_retry_clicked)
        self.open_external.clicked.connect(self._on_open_external_clicked)
        self.own_browser.clicked.connect(self._on_own_browser_clicked)
        self.code_edit.textChanged.connect(self._on_fallback_changed)
        self.address_edit.textChanged.connect(self._on_fallback_changed)

    def _set_status(self, make) -> None:  # type: ignore[no-untyped-def]
        self.texts.bind(self.status.setText, make)
        self.texts.bind(self.status.setAccessibleDescription, make)
        announce(self.status)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.notice.clear()
        self.code_edit.clear()
        self.address_edit.clear()
        self.ensure_browser()
        if self._prefetched_for(self._wanted()):
            # Loaded ahead of time for exactly these details: show it as it is.
            self.completeChanged.emit()
            return
        self.start_over()

    def cleanupPage(self) -> None:
        if self.browser is not None:
            self.browser.stop()
        self._captured = False
        self._loaded_for = None
        self.session.code = ""

    def isComplete(self) -> bool:
        return self._captured or bool(self.code_edit.text().strip() or self.address_edit.text().strip())

    def validatePage(self) -> bool:
        if self._captured:
            return True
        address = self.address_edit.text().strip()
        try:
            if address:
                # Pasted by the admin, possibly from a consent page opened in another browser:
                # there may be no state of ours in it (as `connect --redirect-url`). The
                # account check on the referer still applies.
                callback = consent.parse_callback(address, self._account(), expected_state=None)
                self.session.code = callback.code
            else:
                code = self.code_edit.text().strip()
                if not code or any(ch.isspace() for ch in code):
                    raise InvalidCallbackError(
                        ui_text(QT_TRANSLATE_NOOP("Messages", "The code has spaces in it or is empty.")),
                        ui_text(
                            QT_TRANSLATE_NOOP("Messages", "Copy the code again, whole, from Keys and scopes.")
                        ),
                    )
                self.session.code = code
        except WizardError as error:
            self.notice.show_error(error)
            return False
        return True

    def nextId(self) -> int:
        return Step.EXCHANGE.value

    # --- the browser ----------------------------------------------------------------

    def _account(self) -> Account:
        assert self.session.account is not None
        return self.session.account

    def _wanted(self) -> tuple[str, str, str, str]:
        session = self.session
        return (self._account().base_url, session.client_id, session.redirect_uri, current_language())

    def _prefetched_for(self, wanted: tuple[str, str, str, str]) -> bool:
        return (
            self._loaded_for == wanted
            and not self._captured
            and not self._load_failed
            and time.monotonic() - self._loaded_at < PREFETCH_FRESH_FOR
        )

    def ensure_browser(self) -> None:
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
        page.loadingChanged.connect(self._on_loading_changed)

    def warm_up(self) -> None:
        """Start QtWebEngine and its renderer with an empty page, before anything is known."""
        self.ensure_browser()
        assert self.browser is not None
        if not self._loaded_for:
            self.browser.page.set_decider(_blank_only)
            self._warming_up = True
            self.browser.load("about:blank")

    def prefetch(self, account: Account, client_id: str, redirect_uri: str) -> None:
        """Load the consent page before the admin gets here (details known from the flags
        or the stored connection); entering the page with the same details shows it at once."""
        self.ensure_browser()
        self._load(account, client_id, redirect_uri)

    def start_over(self) -> None:
        """A fresh state and the consent page loaded anew (entering, Back to here, after a refusal)."""
        self.ensure_browser()
        self._load(self._account(), self.session.client_id, self.session.redirect_uri)
        self.completeChanged.emit()

    def come_back(self) -> None:
        """Back here after the exchange refused: the code used is spent or expired."""
        self.code_edit.clear()
        self.address_edit.clear()
        self.start_over()

    def _load(self, account: Account, client_id: str, redirect_uri: str) -> None:
        assert self.browser is not None
        self._captured = False
        self.session.code = ""
        self.state = consent.new_state()
        self.browser.page.set_decider(functools.partial(decide, account=account, redirect_uri=redirect_uri))
        self.retry.hide()
        self.open_external.hide()
        self.loaded_ok = False
        self._load_failed = False
        self._http_status = 0
        self._loaded_for = (account.base_url, client_id, redirect_uri, current_language())
        self._loaded_at = time.monotonic()
        self._consent_url = consent.consent_url(account, client_id, self.state)
        self.browser.set_language(current_language())
        if self._warming_up:
            self._queued = self._consent_url
        else:
            self.browser.load(self._consent_url)

    def view(self):  # type: ignore[no-untyped-def]
        """The QWebEngineView (for tests and screenshots)."""
        assert self.browser is not None
        return self.browser.view

    # --- slots ----------------------------------------------------------------------

    def _on_navigation_requested(self, request: NavigationRequest, verdict: Verdict) -> None:
        if verdict is Verdict.CAPTURE:
            # Called from inside acceptNavigationRequest: act once it has returned.
            QTimer.singleShot(0, self, functools.partial(self._take_callback, request.url))
        elif verdict is Verdict.EXTERNAL:
            self._external_url = request.url
            host = QUrl(request.url).host()
            self._set_status(
                lambda: self.tr("This link leads outside amoCRM ({url}); it is not opened here.").format(
                    url=host
                )
            )
            self.open_external.show()

    def _take_callback(self, url: str) -> None:
        if self._captured or self.session.account is None:
            return
        try:
            callback = consent.parse_callback(url, self._account(), self.state)
        except WizardError as error:
            # Denied, forged or for another account: say so and offer the page again.
            self.notice.show_error(error, lambda: self.tr("The consent page has been loaded again."))
            self.start_over()
            return
        self._captured = True
        self.session.code = callback.code
        self.notice.show_message(Notice.Kind.SUCCESS, lambda: self.tr("Access allowed. Getting the tokens…"))
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()

    def _on_loading_changed(self, info) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtWebEngineCore import QWebEngineLoadingInfo

        if info.errorDomain() == QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain:
            self._http_status = int(info.errorCode())

    def _on_load_started(self) -> None:
        if self._warming_up:
            return  # the empty page that starts the web engine, not amoCRM's
        self.load_started_at = time.perf_counter()
        self._set_status(lambda: self.tr("Loading the amoCRM page…"))
        self.retry.hide()

    def _on_load_finished(self, ok: bool) -> None:
        if self._warming_up:
            # The engine is up. A load asked for meanwhile goes now: started during the
            # empty page's load, Chromium would report one of the two only.
            self._warming_up = False
            queued, self._queued = self._queued, ""
            if queued and self.browser is not None:
                self.browser.load(queued)
            return
        self.load_finished_at = time.perf_counter()
        if self._captured:
            return
        if ok:
            self.loaded_ok = True
            self._set_status(lambda: self.tr("Press “Allow” on the page below."))
            return
        if self.loaded_ok:
            return  # a navigation we cancelled (redirect captured, link kept out): the page stays
        self._load_failed = True
        # Qt reports the HTTP status (loadingChanged) just after loadFinished: say it then.
        QTimer.singleShot(0, self, self._on_load_failed)

    def _on_load_failed(self) -> None:
        if self.loaded_ok or self._captured or not self._load_failed:
            return
        host = self._loaded_for[0] if self._loaded_for else ""
        status = self._http_status
        if 400 <= status < 500:
            # amoCRM answered, with its own error page (shown below): the integration is
            # unknown or switched off, or the address names another account.
            self._set_status(
                lambda: self.tr(
                    "amoCRM did not show the consent page (error {status}): it does not know this "
                    "Client ID for {host}, or the integration is switched off. Press Back to check "
                    "the integration details, or use the code below."
                ).format(status=status, host=host.split("://")[-1])
            )
        else:
            self._set_status(
                lambda: self.tr(
                    "The amoCRM page could not be loaded. Check the internet connection and the "
                    "account address ({host}), then try again, or use the code below."
                ).format(host=host.split("://")[-1])
            )
        self.retry.show()

    def _on_retry_clicked(self) -> None:
        self.start_over()

    def _on_open_external_clicked(self) -> None:
        if self._external_url:
            links.open_url(self._external_url)

    def _on_own_browser_clicked(self) -> None:
        if self.session.account is None:
            return
        if not self._loaded_for or self._loaded_for != self._wanted():
            self.start_over()
        links.open_url(self._consent_url)
        self.notice.show_message(
            Notice.Kind.INFO,
            lambda: self.tr("The amoCRM page is open in your browser."),
            lambda: self.tr(
                "Press “Allow” (Разрешить) there. Then copy the whole address from your browser's "
                "address bar and paste it into “Or paste the address you were redirected to”."
            ),
        )
        self.address_edit.setFocus()

    def _on_fallback_changed(self, _text: str) -> None:
        self.completeChanged.emit()
