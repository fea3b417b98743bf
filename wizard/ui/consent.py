"""Page 3: amoCRM's own consent page inside the wizard, and the ways around it.

The page's state is a :class:`wizard.core.consent_flow.ConsentFlow`, which decides what the
web view may load and takes amoCRM's answer; this page only feeds it what the view saw and
shows what it holds (qutebrowser's way: Qt at the edge).

The web view (QtWebEngine) is imported when this page is built: once the first window has
been painted (the wizard warms it up then) or on entering the page, never before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QApplication,
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
from wizard.core.consent_flow import ConsentFlow, Details, LoadEvent, Phase
from wizard.core.errors import InvalidCallbackError, WizardError
from wizard.core.navigation import NavigationRequest, Verdict
from wizard.ui import links
from wizard.ui.base import WizardPage
from wizard.ui.model import Session, Step
from wizard.ui.texts import Maker, current_language, ui_text
from wizard.ui.widgets import Notice, announce, row
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from PySide6.QtWebEngineWidgets import QWebEngineView

    from wizard.core.account import Account
    from wizard.ui.diagnosis import RedirectCompare
    from wizard.ui.webview import ConsentBrowser


#: Scrolls the page's last buttons (Allow, Deny) into view.
_SHOW_BUTTONS = (
    "(function(){var b=document.querySelectorAll('button,input[type=submit]');"
    "if(b.length){b[b.length-1].scrollIntoView({block:'nearest'});}})()"
)


def _host(base_url: str) -> str:
    return base_url.split("://")[-1]


class ConsentPage(WizardPage):
    #: amoCRM's page is up, or did not load, or the empty warm-up page is: the wizard may
    #: do more now without competing with Chromium for the main thread and the interpreter
    #: (emitted after every load of amoCRM's pages and once the engine has warmed up).
    settled = Signal()

    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.flow = ConsentFlow()
        #: The notice shows a failed load (cleared once the page loads again).
        self._failure_shown = False
        self.layout_ = QVBoxLayout(self)
        self.notice = Notice(self)
        self.layout_.addWidget(self.notice)
        self.compare: RedirectCompare | None = None  # built when amoCRM answers elsewhere
        self._compare_index = self.layout_.count()
        status_row = QHBoxLayout()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        status_row.addWidget(self.status, 1)
        # The buttons that fix what the status says; the one that fits is the default.
        self.use_registered = self._fix_button()
        self.back_to_details = self._fix_button()
        self.retry = self._fix_button()
        self.open_external = self._fix_button()
        for button in (self.use_registered, self.back_to_details, self.retry, self.open_external):
            status_row.addWidget(button)
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
        self._bind_texts()
        self._connect_signals()

    def _fix_button(self) -> QPushButton:
        button = QPushButton(self)
        button.setAutoDefault(True)  # Enter presses it when it has the focus
        button.hide()
        return button

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
        t.bind(self.back_to_details.setText, lambda: self.tr("Go back to the integration details"))
        t.bind(
            self.back_to_details.setAccessibleDescription,
            lambda: self.tr("Returns to the page with the Client ID and the Redirect URI to check them."),
        )
        t.bind(self.use_registered.setText, lambda: self.tr("Use the registered address and connect"))
        t.bind(
            self.use_registered.setAccessibleDescription,
            lambda: self.tr(
                "Takes the address registered in amoCRM as the Redirect URI, then gets the tokens "
                "with the code amoCRM just gave."
            ),
        )
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
                "The whole address from the browser's address bar after you pressed Allow: a long address "
                "with the word “code” in it."
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
        self.back_to_details.clicked.connect(self._on_back_to_details_clicked)
        self.use_registered.clicked.connect(self._on_use_registered_clicked)
        self.open_external.clicked.connect(self._on_open_external_clicked)
        self.own_browser.clicked.connect(self._on_own_browser_clicked)
        self.code_edit.textChanged.connect(self._on_fallback_changed)
        self.address_edit.textChanged.connect(self._on_fallback_changed)

    def _set_status(self, make: Maker) -> None:
        self.texts.bind(self.status.setText, make)
        self.texts.bind(self.status.setAccessibleDescription, make)
        announce(self.status)

    # --- what tests and the wizard read ---------------------------------------------

    @property
    def state(self) -> str:
        return self.flow.state

    @property
    def loaded_ok(self) -> bool:
        return self.flow.phase is Phase.SHOWN

    def view(self) -> QWebEngineView:
        """The QWebEngineView (for tests and screenshots)."""
        assert self.browser is not None
        return self.browser.view

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.notice.clear()
        self.code_edit.clear()
        self.address_edit.clear()
        self.ensure_browser()
        if self.flow.is_fresh_for(self._wanted()):
            self._render()  # loaded ahead of time for exactly these details: shown as it is
            if self.flow.phase is Phase.SHOWN:
                self._focus_web_page()
        else:
            self.start_over()

    def cleanupPage(self) -> None:
        if self.browser is not None:
            self.browser.stop()
        self.flow.leave()
        self.session.code = ""
        self._render()

    def isComplete(self) -> bool:
        if self.flow.phase is Phase.ALLOWED:
            return True
        return bool(self.code_edit.text().strip() or self.address_edit.text().strip())

    def validatePage(self) -> bool:
        if self.flow.phase is Phase.ALLOWED:
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

    def _wanted(self) -> Details:
        session = self.session
        return Details(self._account(), session.client_id, session.redirect_uri, current_language())

    def ensure_browser(self) -> None:
        if self.browser is not None:
            return
        from wizard.ui.webview import ConsentBrowser  # QtWebEngine loads here, not earlier

        self.browser = ConsentBrowser(self)
        self.browser.setMinimumHeight(self.fontMetrics().height() * 12)
        self.browser_slot.addWidget(self.browser)
        page = self.browser.page
        page.set_decider(self.flow.navigate)
        # Queued: emitted from inside acceptNavigationRequest, and what follows from it
        # (loading again, the next page) must wait until Chromium is out of it. The flow
        # has taken the answer by then, so the load events in between change nothing.
        page.navigation_requested.connect(self._on_navigation_requested, Qt.ConnectionType.QueuedConnection)
        page.load_changed.connect(self._on_load_changed)

    def warm_up(self) -> None:
        """Start QtWebEngine and its renderer with an empty page, before anything is known."""
        self.ensure_browser()
        self._load(self.flow.warm_up())

    def prefetch(self, account: Account, client_id: str, redirect_uri: str) -> None:
        """Load the consent page before the admin gets here (details known from the flags
        or the stored connection); entering the page with the same details shows it at once."""
        self.ensure_browser()
        self._open(Details(account, client_id, redirect_uri, current_language()))

    def start_over(self) -> None:
        """A fresh state and the consent page loaded anew (entering, Back to here, after a refusal)."""
        self.ensure_browser()
        self._open(self._wanted())

    def come_back(self) -> None:
        """Back here from a later page: whatever was caught before is spent or no longer wanted."""
        self.notice.clear()
        self.code_edit.clear()
        self.address_edit.clear()
        self.start_over()

    def _open(self, details: Details) -> None:
        assert self.browser is not None
        self.session.code = ""
        self.browser.set_language(details.language)
        self._load(self.flow.open(details))
        self._render()

    def _load(self, url: str | None) -> None:
        if url and self.browser is not None:
            self.browser.load(url)

    # --- showing the flow's state ----------------------------------------------------

    def _render(self) -> None:
        flow, phase = self.flow, self.flow.phase
        host = _host(flow.details.account.base_url) if flow.details else ""
        if phase is Phase.LOADING:
            self._set_status(lambda: self.tr("Loading the amoCRM page…"))
        elif phase is Phase.SHOWN and flow.kept_out:
            outside = QUrl(flow.kept_out).host()
            self._set_status(
                lambda: self.tr("This link leads outside amoCRM ({url}); it is not opened here.").format(
                    url=outside
                )
            )
        elif phase is Phase.SHOWN:
            self._set_status(lambda: self.tr("Press “Allow” on the page below."))
        elif phase is Phase.FAILED and 400 <= flow.http_status < 500:
            # amoCRM answered, with its own error page (shown below): the integration is
            # unknown or switched off, or the address names another account.
            status = flow.http_status
            self._show_failure(
                lambda: self.tr(
                    "amoCRM did not show the consent page (error {status}): it does not know this "
                    "Client ID for {host}, or the integration is switched off. Press Back to check "
                    "the integration details, or use the code below."
                ).format(status=status, host=host)
            )
        elif phase is Phase.FAILED:
            self._show_failure(
                lambda: self.tr(
                    "The amoCRM page could not be loaded. Check the internet connection and the "
                    "account address ({host}), then try again, or use the code below."
                ).format(host=host)
            )
        else:
            self._set_status(lambda: "")
        self._show_page(phase)
        # First: QWizard makes its (hidden) Finish the default whenever Next cannot go on.
        self.completeChanged.emit()
        self._show_fixes()

    def _show_failure(self, make: Maker) -> None:
        """A failed load as an error panel (the kind in words), not a grey line; a message
        that stands already (a refusal just said) keeps the panel, the failure the line."""
        if self.notice.isVisible() and not self._failure_shown:
            self._set_status(make)
            return
        self._set_status(lambda: "")
        self.notice.show_message(Notice.Kind.ERROR, make)
        self._failure_shown = True

    def _show_page(self, phase: Phase) -> None:
        """Chromium's own error page says nothing more than the panel: hidden when the
        network failed (amoCRM's own error page, a 4xx, stays), and while the addresses are
        compared. A failure's panel goes once the page loads again."""
        if phase is not Phase.FAILED and self._failure_shown:
            self._failure_shown = False
            self.notice.clear()
        if self.browser is None:
            return
        network_failed = phase is Phase.FAILED and not 400 <= self.flow.http_status < 500
        # Misdirected, the page has done its part (Allow was pressed): the comparison gets its room.
        self.browser.setVisible(not network_failed and phase is not Phase.MISDIRECTED)
        if phase is Phase.SHOWN and self.notice.isVisible():
            # A message above (after Deny) leaves the view shorter: keep the page's
            # buttons (Allow, Deny) in sight.
            self.browser.page.runJavaScript(_SHOW_BUTTONS, 0)

    def _show_fixes(self) -> None:
        """The buttons that fit the state; the first of them is the default and has the focus."""
        flow, phase = self.flow, self.flow.phase
        amocrm_refused = phase is Phase.FAILED and 400 <= flow.http_status < 500
        shown = {
            self.use_registered: phase is Phase.MISDIRECTED,
            self.back_to_details: amocrm_refused,
            self.retry: phase is Phase.FAILED,
            self.open_external: phase is Phase.SHOWN and bool(flow.kept_out),
        }
        fix = next((b for b, wanted in shown.items() if wanted and b is not self.open_external), None)
        for button, wanted in shown.items():
            button.setVisible(wanted)
            button.setDefault(button is fix)
        if self.compare is not None:
            self.compare.setVisible(phase is Phase.MISDIRECTED)
        if fix is not None and self._is_current() and not self._typing():
            fix.setFocus()

    def _show_misdirected(self) -> None:
        flow = self.flow
        assert flow.details is not None
        if self.compare is None:
            # Imported here: the comparison is the rescue of a typo, and its module is ~5 ms
            # on the way to the consent page, which bench_gui holds to 1.3× a bare load.
            from wizard.ui.diagnosis import RedirectCompare

            self.compare = RedirectCompare(self, before_sending=True)
            self.layout_.insertWidget(self._compare_index, self.compare)
        self.compare.set_sent(flow.details.redirect_uri)
        self.compare.set_registered(flow.registered)
        registered = flow.registered
        self.notice.show_message(
            Notice.Kind.WARNING,
            lambda: self.tr(
                "amoCRM sent its answer to {address}, not to the Redirect URI you entered."
            ).format(address=registered),
            lambda: self.tr(
                "That is the address registered for this integration in amoCRM. Nothing has been sent "
                "yet: use the registered address to get the tokens, or go back and correct it."
            ),
        )
        self._render()

    def _is_current(self) -> bool:
        wizard = self.wizard()
        return wizard is not None and wizard.currentPage() is self

    def _typing(self) -> bool:
        """Is the admin typing in one of this page's fields (the focus stays there)?"""
        focused = QApplication.focusWidget()
        return isinstance(focused, QLineEdit) and self.isAncestorOf(focused)

    def _focus_web_page(self) -> None:
        """The page itself takes the focus once it is up, so that Tab reaches its buttons first."""
        if self.browser is not None and self._is_current() and not self._typing():
            self.browser.view.setFocus()

    # --- slots ----------------------------------------------------------------------

    def _on_navigation_requested(self, _request: NavigationRequest, verdict: Verdict) -> None:
        if verdict is Verdict.CAPTURE:
            self._on_answer()
        elif verdict is Verdict.EXTERNAL:
            self._render()

    def _on_answer(self) -> None:
        flow = self.flow
        if flow.phase is Phase.REFUSED:
            # Denied, forged or for another account: say so and offer the page again.
            assert flow.error is not None
            self.notice.show_error(flow.error, lambda: self.tr("The consent page has been loaded again."))
            self.start_over()
        elif flow.phase is Phase.MISDIRECTED:
            self._show_misdirected()
        elif flow.phase is Phase.ALLOWED:
            self._take_code()

    def _take_code(self) -> None:
        assert self.flow.callback is not None
        self.session.code = self.flow.callback.code
        self.notice.show_message(Notice.Kind.SUCCESS, lambda: self.tr("Access allowed. Getting the tokens…"))
        self._render()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()

    def _on_load_changed(self, event: LoadEvent) -> None:
        before = self.flow.phase
        self._load(self.flow.loaded(event))
        after = self.flow.phase
        if after is before and after is not Phase.SHOWN:
            return
        self._render()
        if after is Phase.SHOWN:
            self._focus_web_page()
        if (after in (Phase.SHOWN, Phase.FAILED) and before is Phase.LOADING) or (
            before is Phase.WARMING_UP and after is Phase.IDLE
        ):
            self.settled.emit()

    def _on_retry_clicked(self) -> None:
        self.start_over()

    def _on_back_to_details_clicked(self) -> None:
        wizard = self.wizard()
        if wizard is not None and self._is_current():
            wizard.back()

    def _on_use_registered_clicked(self) -> None:
        if self.flow.phase is not Phase.MISDIRECTED:
            return
        self.flow.agree()
        details = self.flow.details
        assert details is not None
        self.session.redirect_uri = details.redirect_uri
        wizard = self.wizard()
        details_page = getattr(wizard, "details", None) if wizard is not None else None
        if details_page is not None:
            details_page.redirect.setText(details.redirect_uri)
        self.notice.clear()
        self._take_code()

    def _on_open_external_clicked(self) -> None:
        if self.flow.kept_out:
            links.open_url(self.flow.kept_out)

    def _on_own_browser_clicked(self) -> None:
        if self.session.account is None:
            return
        if not self.flow.is_fresh_for(self._wanted()):
            self.start_over()
        if not links.open_url(self.flow.url):
            self.notice.show_message(
                Notice.Kind.WARNING,
                lambda: self.tr("No web browser could be started on this computer."),
                lambda: self.tr(
                    "Use the page above, or paste the 20-minute code from the integration's "
                    "Keys and scopes tab into the field below."
                ),
            )
            self.code_edit.setFocus()
            return
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
