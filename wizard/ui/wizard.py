"""The QWizard: six pages, one session, one worker."""

from __future__ import annotations

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QWidget, QWizard

from wizard.ui.consent import ConsentPage
from wizard.ui.details import DetailsPage
from wizard.ui.done import DonePage
from wizard.ui.exchange import ExchangePage
from wizard.ui.model import Prefill, Session, Step, TargetChoice
from wizard.ui.save import SavePage
from wizard.ui.welcome import WelcomePage
from wizard.ui.worker import Worker

DEFAULT_SIZE = QSize(860, 640)  # fits 1366×768 with the taskbar and window frame


class SetupWizard(QWizard):
    def __init__(self, prefill: Prefill, target: TargetChoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = Session(prefill=prefill, target=target)
        self.worker = Worker(self)
        title = self.tr("amoCRM connection wizard")
        if prefill.is_demo:
            title = self.tr("amoCRM connection wizard — demo with the built-in sandbox")
        self.setWindowTitle(title)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.resize(DEFAULT_SIZE)
        self.setMinimumSize(QSize(640, 480))

        self.welcome = WelcomePage(self.session, self.worker, self)
        self.details = DetailsPage(self.session, self.worker, self)
        self.consent = ConsentPage(self.session, self.worker, self)
        self.exchange = ExchangePage(self.session, self.worker, self)
        self.save = SavePage(self.session, self.worker, self)
        self.done_page = DonePage(self.session, self.worker, self)
        for step, page in (
            (Step.WELCOME, self.welcome),
            (Step.DETAILS, self.details),
            (Step.CONSENT, self.consent),
            (Step.EXCHANGE, self.exchange),
            (Step.SAVE, self.save),
            (Step.DONE, self.done_page),
        ):
            self.setPage(step.value, page)
        self.setStartId(Step.WELCOME.value)
        self._previous_id = -1
        self._preloaded = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.currentIdChanged.connect(self._on_current_id_changed)

    def _on_current_id_changed(self, page_id: int) -> None:
        # Back onto the consent page (after a spent or refused code): a fresh state and page.
        if page_id == Step.CONSENT.value and self._previous_id > page_id and self.consent.browser:
            self.consent.start_over()
        self._previous_id = page_id

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._preloaded:
            # Once the window is up, import the HTTP stack off the UI thread, so the consent
            # and exchange pages do not wait for it. (QtWebEngine stays lazy: Qt modules are
            # imported on the UI thread, on entering the consent page.)
            self._preloaded = True
            QTimer.singleShot(0, self._on_preload_timeout)

    def _on_preload_timeout(self) -> None:
        self.worker.submit(_preload, _ignore, _ignore)

    def done(self, result: int) -> None:
        """Finish, Cancel or the window closed: whatever still runs no longer counts."""
        self.worker.cancel_all()
        if self.consent.browser is not None:
            self.consent.browser.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.worker.cancel_all()
        super().closeEvent(event)


def _preload() -> None:
    import wizard.core.oauth
    import wizard.core.tokens  # noqa: F401  (PyJWT)


def _ignore(_result: object) -> None:
    pass
