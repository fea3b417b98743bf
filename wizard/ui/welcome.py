"""Page 1: what is stored already, and what Next will do about it."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QLabel, QRadioButton, QVBoxLayout, QWidget

from wizard.core.errors import WizardError
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session, Step, StoredSummary, default_mode, summarize
from wizard.ui.qtcompat import emit
from wizard.ui.widgets import BusyIndicator, Notice, TargetChooser, local_time
from wizard.ui.worker import Worker


class WelcomePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("Connect amoCRM to your backend"))
        self.setSubTitle(
            self.tr(
                "This wizard gets the tokens your backend needs to work with amoCRM or Kommo, "
                "and writes them where the backend reads them."
            )
        )
        layout = QVBoxLayout(self)
        self.demo_note = paragraph("", self)
        self.demo_note.setObjectName("demoNote")
        self.demo_note.hide()
        layout.addWidget(self.demo_note)

        layout.addWidget(paragraph(self.tr("Where the connection is kept:"), self))
        self.target = TargetChooser(self)
        layout.addWidget(self.target)

        self.busy = BusyIndicator(self)
        layout.addWidget(self.busy)
        self.notice = Notice(self)
        layout.addWidget(self.notice)

        self.summary_box = QGroupBox(self.tr("The connection stored there"), self)
        box = QVBoxLayout(self.summary_box)
        self.summary = QLabel(self.summary_box)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(self.tr("Stored connection"))
        box.addWidget(self.summary)
        self.choice_label = paragraph(self.tr("What should Next do?"), self.summary_box)
        box.addWidget(self.choice_label)
        self.test_radio = QRadioButton(self.tr("Test it: call amoCRM with the stored tokens"), self)
        self.renew_radio = QRadioButton(
            self.tr("Renew now: get a fresh pair of tokens (the 3 months start again)"), self
        )
        self.again_radio = QRadioButton(
            self.tr("Connect again: go through the amoCRM consent page (details prefilled)"), self
        )
        self.choices = QButtonGroup(self)
        for mode, radio in (
            (Mode.TEST, self.test_radio),
            (Mode.RENEW, self.renew_radio),
            (Mode.CONNECT, self.again_radio),
        ):
            self.choices.addButton(radio)
            radio.setProperty("mode", mode.value)
            box.addWidget(radio)
        layout.addWidget(self.summary_box)
        self.summary_box.hide()
        layout.addStretch(1)

        self._read_job: int | None = None
        self._loaded_for: object = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.target.changed.connect(self._on_target_changed)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self.choices.buttonToggled.connect(self._on_choice_toggled)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        prefill = self.session.prefill
        if prefill.is_demo:
            self.demo_note.setText(
                self.tr(
                    "Demo mode: the built-in sandbox (a pretend amoCRM) runs at {url}. "
                    "Nothing here talks to the real amoCRM. The tokens go to a .env file in "
                    "the temporary folder {folder}."
                ).format(url=prefill.demo_base_url, folder=prefill.demo_folder)
            )
            self.demo_note.show()
        self.target.set_choice(self.session.target)
        self._debounce.stop()  # set_choice reported a change; it is read right here
        self._read()

    def isComplete(self) -> bool:
        return not self.worker.is_running(self._read_job) and not self._debounce.isActive()

    def validatePage(self) -> bool:
        self.session.target = self.target.choice()
        checked = self.choices.checkedButton()
        if self.session.stored is None or self.session.stored.tokens is None or checked is None:
            self.session.mode = Mode.CONNECT
        else:
            self.session.mode = Mode(checked.property("mode"))
        return True

    def nextId(self) -> int:
        if self.session.mode is Mode.CONNECT or self.session.stored is None:
            return Step.DETAILS.value
        return Step.EXCHANGE.value

    # --- reading the target ---------------------------------------------------------

    def _read(self) -> None:
        choice = self.target.choice()
        self.worker.cancel(self._read_job)
        self.session.stored = None
        self.notice.clear()
        self.summary_box.hide()
        if not choice.value:
            self.notice.show_message(
                Notice.Kind.INFO, self.tr("Choose a .env file or a database to continue.")
            )
            emit(self.completeChanged)
            return
        self.busy.start(self.tr("Reading {target}…").format(target=choice.value))
        self._read_job = self.worker.submit(
            lambda: choice.open().load(), self._on_read_done, self._on_read_failed
        )
        emit(self.completeChanged)

    def _on_read_done(self, stored: object) -> None:
        self.busy.stop()
        from wizard.core.connection import Connection

        assert stored is None or isinstance(stored, Connection)
        self.session.stored = stored
        self.session.target = self.target.choice()
        if stored is None:
            self.notice.show_message(
                Notice.Kind.INFO,
                self.tr("No amoCRM connection is stored there yet."),
                self.tr("Press Next to connect an account."),
            )
            self.session.mode = Mode.CONNECT
        else:
            self._show_stored(summarize(stored))
        emit(self.completeChanged)

    def _on_read_failed(self, error: WizardError) -> None:
        self.busy.stop()
        self.notice.show_error(error, self.tr("Press Next to connect anyway, or choose another place."))
        self.session.mode = Mode.CONNECT
        emit(self.completeChanged)

    def _show_stored(self, summary: StoredSummary) -> None:
        lines = [self.tr("Account: {url}").format(url=summary.base_url)]
        if not summary.has_tokens:
            lines.append(self.tr("No tokens are stored: the connection was never finished."))
        else:
            assert summary.access_expires_at is not None
            when = local_time(summary.access_expires_at)
            lines.append(
                self.tr("Access token: expired {when}").format(when=when)
                if summary.access_expired
                else self.tr("Access token: valid until {when}").format(when=when)
            )
            if summary.long_lived:
                lines.append(self.tr("This is a long-lived token: it cannot be renewed."))
            elif summary.refresh_dead:
                lines.append(
                    self.tr("Refresh token: died {when}. Connect again to continue.").format(
                        when=local_time(summary.refresh_dies_at)  # type: ignore[arg-type]
                    )
                )
            else:
                lines.append(
                    self.tr("Refresh token: {age} days old, {left} days left (until {when}).").format(
                        age=f"{summary.refresh_age_days or 0:.0f}",
                        left=f"{summary.refresh_days_left or 0:.0f}",
                        when=local_time(summary.refresh_dies_at),  # type: ignore[arg-type]
                    )
                )
        self.summary.setText("\n".join(lines))
        self.test_radio.setEnabled(summary.can_test)
        self.renew_radio.setEnabled(summary.can_renew)
        mode = default_mode(summary)
        {Mode.TEST: self.test_radio, Mode.RENEW: self.renew_radio, Mode.CONNECT: self.again_radio}[
            mode
        ].setChecked(True)
        self.session.mode = mode
        self.summary_box.show()

    # --- slots ----------------------------------------------------------------------

    def _on_target_changed(self) -> None:
        self._debounce.start()
        emit(self.completeChanged)

    def _on_debounce_timeout(self) -> None:
        self._read()

    def _on_choice_toggled(self, button: QRadioButton, checked: bool) -> None:
        if checked:
            self.session.mode = Mode(button.property("mode"))
