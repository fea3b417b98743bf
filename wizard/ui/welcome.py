"""Page 1: the language, what is stored already, and what Next will do about it."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.errors import WizardError
from wizard.ui import texts as ui_texts
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session, Step, StoredSummary, default_mode, summarize
from wizard.ui.widgets import BusyIndicator, Notice, TargetChooser, local_time
from wizard.ui.worker import Worker


class WelcomePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        layout = QVBoxLayout(self)
        language_row = QHBoxLayout()
        self.language_label = QLabel(self)
        self.language = QComboBox(self)
        for code, name in ui_texts.LANGUAGE_NAMES.items():
            self.language.addItem(name, code)
        self.language_label.setBuddy(self.language)
        language_row.addStretch(1)
        language_row.addWidget(self.language_label)
        language_row.addWidget(self.language)
        layout.addLayout(language_row)

        self.demo_note = paragraph("", self)
        self.demo_note.setObjectName("demoNote")
        self.demo_note.hide()
        layout.addWidget(self.demo_note)

        self.where_label = paragraph("", self)
        layout.addWidget(self.where_label)
        self.target = TargetChooser(self)
        layout.addWidget(self.target)

        # What the reading of the target says goes here. Built once the window is painted:
        # the first window shows only what it needs (see _build_rest).
        self._rest_layout = QVBoxLayout()
        layout.addLayout(self._rest_layout)
        self._rest_built = False
        layout.addStretch(1)
        self.add_help(layout)

        self._read_job: int | None = None
        self._waiting = False
        #: Next gets the focus when the first reading is done (not while the admin types a path).
        self._focus_after_read = False
        self._summary: StoredSummary | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._bind_texts()
        self._sync_language_switch()
        self._connect_signals()

    def _build_rest(self) -> None:
        """The busy line, the notice and the stored connection's box with its choices."""
        if self._rest_built:
            return
        self._rest_built = True
        self._busy = BusyIndicator(self)
        self._rest_layout.addWidget(self._busy)
        self._notice = Notice(self)
        self._rest_layout.addWidget(self._notice)
        self._summary_box = QGroupBox(self)
        box = QVBoxLayout(self._summary_box)
        self._summary_label = QLabel(self._summary_box)
        self._summary_label.setWordWrap(True)
        box.addWidget(self._summary_label)
        self._choice_label = paragraph("", self._summary_box)
        box.addWidget(self._choice_label)
        self._test_radio = QRadioButton(self)
        self._renew_radio = QRadioButton(self)
        self._again_radio = QRadioButton(self)
        self._choices = QButtonGroup(self)
        for mode, radio in (
            (Mode.TEST, self._test_radio),
            (Mode.RENEW, self._renew_radio),
            (Mode.CONNECT, self._again_radio),
        ):
            self._choices.addButton(radio)
            radio.setProperty("mode", mode.value)
            box.addWidget(radio)
        self._rest_layout.addWidget(self._summary_box)
        self._summary_box.hide()
        # Tab order: the choices follow the target chooser, whatever was built in between.
        QWidget.setTabOrder(self.target.last_input(), self._test_radio)
        QWidget.setTabOrder(self._test_radio, self._renew_radio)
        QWidget.setTabOrder(self._renew_radio, self._again_radio)
        self._bind_rest_texts()
        self._choices.buttonToggled.connect(self._on_choice_toggled)

    @property
    def busy(self) -> BusyIndicator:
        self._build_rest()
        return self._busy

    @property
    def notice(self) -> Notice:
        self._build_rest()
        return self._notice

    @property
    def summary_box(self) -> QGroupBox:
        self._build_rest()
        return self._summary_box

    @property
    def summary(self) -> QLabel:
        self._build_rest()
        return self._summary_label

    @property
    def choice_label(self) -> QLabel:
        self._build_rest()
        return self._choice_label

    @property
    def test_radio(self) -> QRadioButton:
        self._build_rest()
        return self._test_radio

    @property
    def renew_radio(self) -> QRadioButton:
        self._build_rest()
        return self._renew_radio

    @property
    def again_radio(self) -> QRadioButton:
        self._build_rest()
        return self._again_radio

    @property
    def choices(self) -> QButtonGroup:
        self._build_rest()
        return self._choices

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("Connect amoCRM to your backend"))
        t.bind(
            self.setSubTitle,
            lambda: self.tr(
                "This wizard gets the tokens your backend needs to work with amoCRM or Kommo, "
                "and writes them where the backend reads them."
            ),
        )
        t.bind(self.language_label.setText, lambda: self.tr("Language:"))
        t.bind(self.language.setAccessibleName, lambda: self.tr("Language"))
        t.bind(
            self.language.setAccessibleDescription,
            lambda: self.tr("The language of the wizard; it changes at once."),
        )
        t.bind(self.language.setToolTip, self.language.accessibleDescription)
        t.bind(self.where_label.setText, lambda: self.tr("Where the connection is kept:"))

    def _bind_rest_texts(self) -> None:
        t = self.texts
        t.bind(self.summary_box.setTitle, lambda: self.tr("The connection stored there"))
        t.bind(self.summary.setAccessibleName, lambda: self.tr("Stored connection"))
        t.bind(self.choice_label.setText, lambda: self.tr("What should Next do?"))
        t.bind(self.test_radio.setText, lambda: self.tr("Test it: call amoCRM with the stored tokens"))
        t.bind(
            self.test_radio.setAccessibleDescription,
            lambda: self.tr("Next calls amoCRM with the stored tokens; nothing changes unless they expired."),
        )
        t.bind(
            self.renew_radio.setText,
            lambda: self.tr("Renew now: get a fresh pair of tokens (the 3 months start again)"),
        )
        t.bind(
            self.renew_radio.setAccessibleDescription,
            lambda: self.tr("Next spends the stored refresh token and saves the new pair at once."),
        )
        t.bind(
            self.again_radio.setText,
            lambda: self.tr("Connect again: go through the amoCRM consent page (details prefilled)"),
        )
        t.bind(
            self.again_radio.setAccessibleDescription,
            lambda: self.tr("Next leads to the integration details and amoCRM's consent page."),
        )

    def help_text(self) -> str:
        return self.tr(
            "Choose where your backend reads its amoCRM settings: its .env file, or its database. If a "
            "connection is stored there, the wizard shows it "
            "and can test it, renew it or connect again.\n\n"
            "For a new connection you need an integration in amoCRM: Settings → Integrations "
            "(Настройки → Интеграции), then your integration. The next page asks for the values "
            "from its Keys and scopes tab (Ключи и доступы)."
        )

    def _connect_signals(self) -> None:
        self.target.changed.connect(self._on_target_changed)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self.language.currentIndexChanged.connect(self._on_language_changed)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        prefill = self.session.prefill
        if prefill.is_demo:
            self.texts.bind(
                self.demo_note.setText,
                lambda: self.tr(
                    "Demo mode: the built-in sandbox (a pretend amoCRM) runs at {url}. "
                    "Nothing here talks to the real amoCRM. The tokens go to a .env file in "
                    "the temporary folder {folder}."
                ).format(url=prefill.demo_base_url, folder=prefill.demo_folder),
            )
            self.demo_note.show()
        self.target.set_choice(self.session.target)
        self._debounce.stop()
        # The reading starts once the window is painted, so the first window waits neither
        # for the target's imports nor for the widgets that report on it.
        self._focus_after_read = True
        after_paint = getattr(self.wizard(), "after_first_paint", None)
        if after_paint is not None:
            self._waiting = True
            after_paint(self._read)
        else:
            self._read()

    def isComplete(self) -> bool:
        return not (self._waiting or self.worker.is_running(self._read_job) or self._debounce.isActive())

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

    def retranslate(self) -> None:
        super().retranslate()
        self._sync_language_switch()
        if self._summary is not None:
            self._render_stored(self._summary)

    # --- reading the target ---------------------------------------------------------

    def _read(self) -> None:
        self._waiting = False
        choice = self.target.choice()
        self.worker.cancel(self._read_job)
        self.session.stored = None
        self._summary = None
        self.notice.clear()
        self.summary_box.hide()
        if not choice.value:
            self.busy.stop()
            self._read_job = None
            self.notice.show_message(
                Notice.Kind.INFO, lambda: self.tr("Choose a .env file or a database to continue.")
            )
            self.completeChanged.emit()
            return
        self.busy.start(lambda: self.tr("Reading {target}…").format(target=choice.value))
        from wizard.ui.jobs import read_job

        known = self.session.known_values()
        self._read_job = self.worker.submit(
            lambda: read_job(choice, known), self._on_read_done, self._on_read_failed
        )
        self.completeChanged.emit()

    def _on_read_done(self, stored: object) -> None:
        self.busy.stop()
        from wizard.core.connection import Connection

        assert stored is None or isinstance(stored, Connection)
        self.session.stored = stored
        self.session.target = self.target.choice()
        if stored is None:
            self.notice.show_message(
                Notice.Kind.INFO,
                lambda: self.tr("No amoCRM connection is stored there yet."),
                lambda: self.tr("Press Next to connect an account."),
            )
            self.session.mode = Mode.CONNECT
        else:
            self._show_stored(summarize(stored))
        self.completeChanged.emit()
        self._read_finished()

    def _read_finished(self) -> None:
        wizard = self.wizard()
        refresh_steps = getattr(wizard, "refresh_steps", None)
        if refresh_steps is not None:
            refresh_steps()
        if self._focus_after_read and wizard is not None and wizard.currentPage() is self:
            self._focus_after_read = False
            focus = getattr(wizard, "focus_forward", None)
            if focus is not None:
                focus()

    def _on_read_failed(self, error: WizardError) -> None:
        from wizard.ui.sshlogin import handled_by_asking

        if handled_by_asking(self, error, self._read):  # an ssh:// host key or password question
            return
        self.busy.stop()
        self.notice.show_error(
            error, lambda: self.tr("Press Next to connect anyway, or choose another place.")
        )
        self.session.mode = Mode.CONNECT
        self.completeChanged.emit()
        self._read_finished()

    def _show_stored(self, summary: StoredSummary) -> None:
        self._summary = summary
        self._render_stored(summary)
        self.test_radio.setEnabled(summary.can_test)
        self.renew_radio.setEnabled(summary.can_renew)
        mode = default_mode(summary)
        {Mode.TEST: self.test_radio, Mode.RENEW: self.renew_radio, Mode.CONNECT: self.again_radio}[
            mode
        ].setChecked(True)
        self.session.mode = mode
        self.summary_box.show()

    def _render_stored(self, summary: StoredSummary) -> None:
        lines = [self.tr("Account: {url}").format(url=summary.base_url)]
        if not summary.has_tokens:
            lines.append(self.tr("No tokens are stored: the connection was never finished."))
        else:
            assert summary.access_expires_at is not None
            when = local_time(summary.access_expires_at)
            if summary.long_lived:
                lines.append(
                    self.tr("Long-lived token: ended {when}").format(when=when)
                    if summary.access_expired
                    else self.tr("Long-lived token: valid until {when}").format(when=when)
                )
                lines.append(self.tr("It cannot be renewed: create a new one in amoCRM before it ends."))
            else:
                lines.append(
                    self.tr("Access token: expired {when}").format(when=when)
                    if summary.access_expired
                    else self.tr("Access token: valid until {when}").format(when=when)
                )
                if summary.refresh_dead:
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
        self.summary.setAccessibleDescription(self.summary.text())

    # --- slots ----------------------------------------------------------------------

    def _sync_language_switch(self) -> None:
        index = self.language.findData(ui_texts.current_language())
        if index >= 0 and index != self.language.currentIndex():
            self.language.blockSignals(True)
            self.language.setCurrentIndex(index)
            self.language.blockSignals(False)

    def _on_language_changed(self, index: int) -> None:
        code = self.language.itemData(index)
        if code and code != ui_texts.current_language():
            ui_texts.switch_language(str(code))
            ui_texts.remember_language(str(code))

    def _on_target_changed(self) -> None:
        self._debounce.start()
        self.completeChanged.emit()

    def _on_debounce_timeout(self) -> None:
        self._read()

    def _on_choice_toggled(self, button: QRadioButton, checked: bool) -> None:
        if checked:
            self.session.mode = Mode(button.property("mode"))
            refresh_steps = getattr(self.wizard(), "refresh_steps", None)
            if refresh_steps is not None:
                refresh_steps()  # Test and Renew skip the details, consent and save steps
