"""The QWizard: six pages, one session, one worker.

Only the Welcome page is built before the window shows. The others are built when the
wizard is about to go to them, and the consent page (QtWebEngine) right after the first
window has been painted, so that it is warm by the time the admin gets there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, QTimer
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QDialog, QMessageBox, QWidget, QWizard

from wizard.ui.base import WizardPage
from wizard.ui.model import Mode, Prefill, Session, Step, TargetChoice
from wizard.ui.texts import set_app_icon
from wizard.ui.welcome import WelcomePage
from wizard.ui.widgets import StepIndicator
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.account import Account

DEFAULT_SIZE = QSize(860, 660)  # fits 1366×768 with the taskbar and window frame

#: QWizard's own button texts, translated by qtbase's catalogue (context "QWizard").
#: Kept in variables so that lupdate does not copy them into our catalogue.
_QT_CONTEXT = "QWizard"
_QT_BUTTONS = {
    QWizard.WizardButton.BackButton: ("< &Back", "Go Back"),
    QWizard.WizardButton.NextButton: ("&Next >", "Continue"),
    QWizard.WizardButton.CommitButton: ("Commit", "Commit"),
    QWizard.WizardButton.FinishButton: ("&Finish", "Done"),
    QWizard.WizardButton.CancelButton: ("Cancel", "Cancel"),
}


class _FirstPaint(QObject):
    """Calls back once, when the wizard window has been painted for the first time."""

    def __init__(self, wizard: SetupWizard) -> None:
        super().__init__(wizard)
        self._wizard = wizard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._wizard, self._wizard._on_first_paint)
        return False


class SetupWizard(QWizard):
    #: Build the consent page (QtWebEngine) as soon as the first window is painted.
    prewarm_consent = True

    def __init__(self, prefill: Prefill, target: TargetChoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = Session(prefill=prefill, target=target)
        self.worker = Worker(self)
        options = QWizard.WizardOption  # one call: each setOption lays the buttons out again
        self.setOptions(
            self.options()
            | options.NoBackButtonOnStartPage
            | options.NoCancelButtonOnLastPage
            | options.HaveHelpButton
        )
        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(640, 480))
        self._pages: dict[Step, WizardPage] = {}
        self._painted = False
        self._after_paint: list[Callable[[], None]] = []
        self._previous_id = -1
        self._consent_settled_once = False
        #: The question asked before closing throws something away (None: not asked now).
        self.close_question: QMessageBox | None = None
        self.steps = StepIndicator(self)
        self.setSideWidget(self.steps)
        self.page_for(Step.WELCOME)
        self.setStartId(Step.WELCOME.value)
        self.retranslate()
        self.installEventFilter(_FirstPaint(self))
        self._connect_signals()
        self.refresh_steps()

    def _connect_signals(self) -> None:
        self.currentIdChanged.connect(self._on_current_id_changed)
        self.helpRequested.connect(self._on_help_requested)
        # Cancel asks first when closing would throw away what cannot be got back.
        cancel = self.button(QWizard.WizardButton.CancelButton)
        cancel.clicked.disconnect()
        cancel.clicked.connect(self._on_cancel_clicked)
        # Escape as a window shortcut: inside the web view the key press itself never
        # reaches the dialog (Chromium keeps it), but the shortcut still fires.
        self._escape = QShortcut(QKeySequence(QKeySequence.StandardKey.Cancel), self)
        self._escape.activated.connect(self._on_escape)

    # --- pages, built when needed ---------------------------------------------------

    def page_for(self, step: Step) -> WizardPage:
        page = self._pages.get(step)
        if page is None:
            page = self._build(step)
            self._pages[step] = page
            self.setPage(step.value, page)
        return page

    def _build(self, step: Step) -> WizardPage:
        if step is Step.WELCOME:
            return WelcomePage(self.session, self.worker, self)
        if step is Step.DETAILS:
            from wizard.ui.details import DetailsPage

            return DetailsPage(self.session, self.worker, self)
        if step is Step.CONSENT:
            from wizard.ui.consent import ConsentPage

            return ConsentPage(self.session, self.worker, self)
        if step is Step.EXCHANGE:
            from wizard.ui.exchange import ExchangePage

            return ExchangePage(self.session, self.worker, self)
        if step is Step.SAVE:
            from wizard.ui.save import SavePage

            return SavePage(self.session, self.worker, self)
        from wizard.ui.done import DonePage

        return DonePage(self.session, self.worker, self)

    def build_all_pages(self) -> None:
        """Every page now (tests that look at all of them)."""
        for step in Step:
            self.page_for(step)

    @property
    def welcome(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.WELCOME)

    @property
    def details(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.DETAILS)

    @property
    def consent(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.CONSENT)

    @property
    def exchange(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.EXCHANGE)

    @property
    def save(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.SAVE)

    @property
    def done_page(self):  # type: ignore[no-untyped-def]
        return self.page_for(Step.DONE)

    def validateCurrentPage(self) -> bool:
        if not super().validateCurrentPage():
            return False
        page = self.currentPage()
        following = page.nextId() if page is not None else -1
        if following >= 0:
            self.page_for(Step(following))
        return True

    # --- after the first paint ------------------------------------------------------

    def after_first_paint(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the window has been painted (at once if it has)."""
        if self._painted:
            callback()
        else:
            self._after_paint.append(callback)

    def _on_first_paint(self) -> None:
        if self._painted:
            return
        self._painted = True
        # QtWebEngine first: it is most of the way to the consent page. Reading the target
        # comes after it has been asked to load; the details page once it has loaded.
        if self.prewarm_consent and self.isVisible():
            self._prewarm()
        callbacks, self._after_paint = self._after_paint, []
        for callback in callbacks:
            callback()
        if Step.CONSENT not in self._pages:
            set_app_icon()  # nothing is loading; otherwise it waits for the consent page

    def _prewarm(self) -> None:
        """QtWebEngine takes a while to start: start it while the admin reads the first page.

        When the flags (or --demo) already name the account and the integration, the
        consent page itself is loaded; entering the page with the same details shows it at
        once. Otherwise an empty page starts the engine and its renderer.
        """
        if not self.isVisible() or Step.CONSENT in self._pages:
            return
        consent = self.consent
        prefilled = self._prefilled_details()
        if prefilled is not None and self.session.mode is Mode.CONNECT:
            consent.prefetch(*prefilled)
        else:
            consent.warm_up()
        consent.settled.connect(self._on_consent_settled)

    def _on_consent_settled(self) -> None:
        """The consent page is up (or failed), or the engine has warmed up: now the window
        icon, the details page, which comes before it, and the rest of the HTTP stack, which
        the exchange needs, without competing with Chromium for the main thread and the
        interpreter."""
        if self._consent_settled_once:
            return
        self._consent_settled_once = True
        set_app_icon()  # QIcon's first use builds its enums: ~10 ms of the main thread
        self.page_for(Step.DETAILS)
        self.worker.submit(_preload_http, _ignore, _ignore)

    def _prefilled_details(self) -> tuple[Account, str, str] | None:
        from wizard.core import validate
        from wizard.core.account import parse_account
        from wizard.core.errors import WizardError

        prefill = self.session.prefill
        try:
            account = parse_account(prefill.account)
            return account, validate.client_id(prefill.client_id), validate.redirect_uri(prefill.redirect_uri)
        except WizardError:
            return None

    # --- what every page may ask ------------------------------------------------------

    def account_url(self) -> str:
        """The account's base URL as far as the admin has told us ("" when not yet)."""
        from wizard.core.account import parse_account
        from wizard.core.errors import WizardError

        candidates = []
        if Step.DETAILS in self._pages:
            candidates.append(self.details.account.text())
        session = self.session
        if session.account is not None:
            candidates.append(session.account.base_url)
        if session.stored is not None:
            candidates.append(session.stored.base_url)
        candidates.append(session.prefill.account)
        for text in candidates:
            if not text.strip():
                continue
            try:
                return parse_account(text).base_url
            except WizardError:
                continue
        return ""

    def reconnect(self) -> None:
        """The stored refresh token is dead: back to the start, "Connect again", and on to
        the consent page with every detail prefilled (the details page is passed through,
        so Back still leads there)."""
        while self.currentId() > Step.WELCOME.value:
            self.back()
        welcome = self.welcome
        welcome.again_radio.setChecked(True)
        self.session.mode = Mode.CONNECT
        self.next()
        if self.currentId() == Step.DETAILS.value and self.details.isComplete():
            self.next()

    # --- the step indicator and focus ------------------------------------------------

    def path(self) -> list[Step]:
        """The pages this run goes through, as far as the admin's choices say now."""
        session = self.session
        if session.mode is not Mode.CONNECT:
            return [Step.WELCOME, Step.EXCHANGE, Step.DONE]
        if session.use_long_lived:
            return [Step.WELCOME, Step.DETAILS, Step.EXCHANGE, Step.SAVE, Step.DONE]
        return list(Step)

    def account_label(self) -> str:
        """The account's name once amoCRM told it, its address before that ("" when unknown)."""
        session = self.session
        if session.result is not None:
            name = str(session.result.account_info.get("name") or "")
            host = session.result.connection.base_url.split("://")[-1]
            return f"{name}\n{host}" if name else host
        if session.account is not None:
            return session.account.host
        if session.stored is not None:
            return session.stored.base_url.split("://")[-1]
        return ""

    def refresh_steps(self) -> None:
        path = self.path()
        current = Step(self.currentId()) if self.currentId() >= 0 else Step.WELCOME
        index = path.index(current) if current in path else 0
        self.steps.set_steps([self._step_name_maker(step) for step in path], index, self.account_label())

    def _step_name_maker(self, step: Step) -> Callable[[], str]:
        return lambda: self.step_name(step)

    def step_name(self, step: Step) -> str:
        mode = self.session.mode
        names = {
            Step.WELCOME: self.tr("Start"),
            Step.DETAILS: self.tr("Integration details"),
            Step.CONSENT: self.tr("Allow access"),
            Step.EXCHANGE: {
                Mode.CONNECT: self.tr("Get the tokens"),
                Mode.TEST: self.tr("Test the connection"),
                Mode.RENEW: self.tr("Renew the tokens"),
            }[mode],
            Step.SAVE: self.tr("Save"),
            Step.DONE: self.tr("Done"),
        }
        return names[step]

    def forward_button(self) -> QAbstractButton:
        """Next, Commit or Finish: whichever this page shows."""
        for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.FinishButton):
            button = self.button(which)
            if button.isVisible():
                return button
        return self.button(QWizard.WizardButton.NextButton)

    def focus_forward(self) -> None:
        """The admin's next act is to go on: focus the forward button (Enter presses it)."""
        button = self.forward_button()
        if button.isEnabled():
            button.setFocus()

    def _focus_page(self) -> None:
        page = self.currentPage()
        if not isinstance(page, WizardPage):
            return
        finder = getattr(page, "focus_target", None)
        target = finder() if finder is not None else None
        if target is not None and target.isVisible() and target.isEnabled():
            target.setFocus()
        else:
            self.focus_forward()

    # --- closing --------------------------------------------------------------------

    def unsaved_pair(self) -> bool:
        """New tokens exist that nothing has saved (a renewal saves itself at once)."""
        session = self.session
        return session.mode is Mode.CONNECT and session.result is not None and session.saved is None

    def _on_cancel_clicked(self) -> None:
        if not self.unsaved_pair() or self.confirm_close():
            self.reject()

    def _on_escape(self) -> None:
        # Escape never closes silently: on the last page there is nothing left to lose.
        if self.currentId() == Step.DONE.value or self.confirm_close():
            self.reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Cancel):
            event.accept()
            self._on_escape()
            return
        super().keyPressEvent(event)

    def confirm_close(self) -> bool:
        """Ask whether to close; True when the admin says close."""
        box = QMessageBox(self)
        box.setObjectName("closeQuestion")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Close the wizard?"))
        if self.unsaved_pair():
            box.setText(self.tr("The new tokens are not saved yet."))
            box.setInformativeText(
                self.tr(
                    "If you close the wizard now, they are lost, and you have to press Allow in "
                    "amoCRM again to get new ones. Press Save first to keep them."
                )
            )
        else:
            box.setText(self.tr("Close the wizard?"))
            box.setInformativeText(self.tr("What you have entered so far is not kept."))
        close = box.addButton(self.tr("Close the wizard"), QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton(self.tr("Keep it open"), QMessageBox.ButtonRole.RejectRole)
        close.setAccessibleDescription(self.tr("Closes the wizard; nothing more is saved."))
        stay.setAccessibleDescription(self.tr("Goes back to the wizard where you were."))
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        self.close_question = box
        try:
            box.exec()
            return box.clickedButton() is close
        finally:
            self.close_question = None
            box.deleteLater()

    # --- language -------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        if hasattr(self, "steps"):
            self.refresh_steps()
        title = self.tr("amoCRM connection wizard")
        if self.session.prefill.is_demo:
            title = self.tr("amoCRM connection wizard — demo with the built-in sandbox")
        self.setWindowTitle(title)
        mac = self.wizardStyle() == QWizard.WizardStyle.MacStyle
        translate = QCoreApplication.translate
        for which, (classic, mac_text) in _QT_BUTTONS.items():
            self.setButtonText(which, translate(_QT_CONTEXT, mac_text if mac else classic))
        self.setButtonText(QWizard.WizardButton.HelpButton, self.tr("? &Help"))
        descriptions = {
            QWizard.WizardButton.BackButton: self.tr("Goes back to the previous page."),
            QWizard.WizardButton.NextButton: self.tr("Goes on; the work of this page starts here."),
            QWizard.WizardButton.CommitButton: self.tr("Writes the tokens where you chose, then goes on."),
            QWizard.WizardButton.FinishButton: self.tr("Closes the wizard (and sets up what you ticked)."),
            QWizard.WizardButton.CancelButton: self.tr("Closes the wizard without saving anything more."),
            QWizard.WizardButton.HelpButton: self.tr(
                "Shows where to find what this page asks for in amoCRM, and a button that opens "
                "the account's integration settings."
            ),
        }
        for which, description in descriptions.items():
            self.button(which).setAccessibleDescription(description)
        self.button(QWizard.WizardButton.HelpButton).setAccessibleName(self.tr("Help"))

    # --- slots ----------------------------------------------------------------------

    def _on_help_requested(self) -> None:
        page = self.currentPage()
        if isinstance(page, WizardPage):
            page.toggle_help()

    def _on_current_id_changed(self, page_id: int) -> None:
        # Back onto the consent page (after a spent or refused code): a fresh state and page.
        if page_id == Step.CONSENT.value and self._previous_id > page_id and self.consent.browser:
            self.consent.come_back()
        self._previous_id = page_id
        entered = getattr(self.currentPage(), "entered", None)
        if entered is not None:
            entered()
        self.refresh_steps()
        # The consent page puts the focus into its web view itself, once the page is there.
        if page_id != Step.CONSENT.value:
            QTimer.singleShot(0, self, self._focus_page)

    def done(self, result: int) -> None:
        """Finish, Cancel or the window closed: whatever still runs no longer counts.

        Finish asks the last page first: it may start its work (the scheduled renewal)
        and finish the wizard itself once that is done.
        """
        if result == QDialog.DialogCode.Accepted and not self.validateCurrentPage():
            return
        self.worker.cancel_all()
        if Step.CONSENT in self._pages and self.consent.browser is not None:
            self.consent.browser.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        # The window's own close button asks like Cancel does; close() from code does not.
        if event.spontaneous() and self.isVisible() and self.unsaved_pair() and not self.confirm_close():
            event.ignore()
            return
        self.worker.cancel_all()
        super().closeEvent(event)


def _preload_http() -> None:
    """What the exchange needs (the HTTP stack, PyJWT), before the admin gets there."""
    import jwt  # noqa: F401
    import requests  # noqa: F401


def _ignore(_result: object) -> None:
    pass
