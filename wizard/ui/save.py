"""Page 5: where the tokens go, exactly which keys, written on Commit, read back, confirmed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget, QWizard

from wizard.core.errors import WizardError
from wizard.core.i18n import render
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.jobs import Saved, open_choice, plan_job, save_job
from wizard.ui.model import Session, Step, TargetKind
from wizard.ui.restarting import outcome_note, remember_command, restart_command
from wizard.ui.widgets import SETTINGS_ENV_PATH, BusyIndicator, Notice, TargetChooser, settings
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.connection import Connection
    from wizard.targets.base import SaveReport


class SavePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setCommitPage(True)
        layout = QVBoxLayout(self)
        # Where was asked on the Welcome page: shown here once, changed only on request.
        self.where = paragraph("", self)
        layout.addWidget(self.where)
        destination_row = QHBoxLayout()
        self.destination = QLabel(self)
        self.destination.setWordWrap(True)
        self.destination.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = self.destination.font()
        bold.setBold(True)
        self.destination.setFont(bold)
        destination_row.addWidget(self.destination, 1)
        self.change = QPushButton(self)
        self.change.setAutoDefault(False)
        self.change.setCheckable(True)
        destination_row.addWidget(self.change, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(destination_row)
        #: The place to choose another target, and the place for what a target needs
        #: besides its address (the SSH connection's fields go here too).
        self.chooser_box = QWidget(self)
        chooser_layout = QVBoxLayout(self.chooser_box)
        chooser_layout.setContentsMargins(0, 0, 0, 0)
        self.target = TargetChooser(self.chooser_box, with_test_button=True)
        chooser_layout.addWidget(self.target)
        layout.addWidget(self.chooser_box)
        self.chooser_box.hide()
        self.plan = QLabel(self)
        self.plan.setWordWrap(True)
        layout.addWidget(self.plan)
        self.restart_label = QLabel(self)
        self.restart = QLineEdit(self)  # the backend's restart command, remembered per target
        self.restart_label.setBuddy(self.restart)
        layout.addWidget(self.restart_label)
        layout.addWidget(self.restart)
        self.busy = BusyIndicator(self)
        layout.addWidget(self.busy)
        self.notice = Notice(self)
        layout.addWidget(self.notice)
        layout.addStretch(1)
        self.add_help(layout)
        self._job: int | None = None
        self._saved: Saved | None = None
        self._report: SaveReport | None = None
        self._bind_texts()
        self._connect_signals()

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("Save the connection"))
        t.bind(self.setSubTitle, lambda: self.tr("Nothing has been written yet. Press Save to write it."))
        t.bind(self.setButtonText, lambda: self.tr("Save"), QWizard.WizardButton.CommitButton)
        t.bind(
            self.where.setText,
            lambda: self.tr("The tokens will be written to the place chosen at the start:"),
        )
        t.bind(self.destination.setAccessibleName, lambda: self.tr("Where the tokens go"))
        t.bind(self.change.setText, lambda: self.tr("Choose another place…"))
        t.bind(
            self.change.setAccessibleDescription,
            lambda: self.tr("Shows the choice of a .env file or a database, to write somewhere else."),
        )
        t.bind(self.plan.setAccessibleName, lambda: self.tr("What will be written"))
        t.bind(self.restart_label.setText, lambda: self.tr("Then restart the backend with (optional):"))
        t.bind(self.restart.setAccessibleName, lambda: self.tr("Restart command"))
        t.bind(self.restart.setPlaceholderText, lambda: self.tr("e.g. pm2 restart backend"))
        for setter in (self.restart.setToolTip, self.restart.setAccessibleDescription):
            t.bind(
                setter,
                lambda: self.tr(
                    "Runs right after the tokens are saved: on the server for an ssh:// target, "
                    "through a login shell; on this computer otherwise."
                ),
            )

    def help_text(self) -> str:
        return self.tr(
            "The tokens go where you chose on the first page: the file or database your backend "
            "reads its amoCRM settings from. In a .env file the wizard changes only its own amoCRM lines "
            "and keeps everything else; in a database, only its own amoCRM settings. “Choose another "
            "place…” changes it here. "
            "Nothing is written until you press Save.\n\n"
            "The integration these tokens belong to is in amoCRM under Settings → Integrations "
            "(Настройки → Интеграции)."
        )

    def _connect_signals(self) -> None:
        self.target.changed.connect(self._on_target_changed)
        self.target.test_requested.connect(self._on_test_requested)
        self.change.toggled.connect(self._on_change_toggled)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self._saved = None
        self.notice.clear()
        self.target.set_choice(self.session.target)  # Welcome's choice (remembered default or flags)
        self._show_chooser(not self.session.target.value)
        self._show_destination()
        self.restart.setText(restart_command(self.session))
        self._show_plan()

    def focus_target(self) -> QWidget | None:
        return None  # Save is what the admin does here

    def _show_chooser(self, shown: bool) -> None:
        self.change.blockSignals(True)
        self.change.setChecked(shown)
        self.change.blockSignals(False)
        self.chooser_box.setVisible(shown)

    def _show_destination(self) -> None:
        from wizard.ui.done import masked_url

        choice = self.target.choice()
        if not choice.value:
            self.destination.setText(self.tr("(nothing chosen yet)"))
        elif choice.kind is TargetKind.DB:
            self.destination.setText(self.tr("the database {url}").format(url=masked_url(choice.value)))
        else:
            self.destination.setText(self.tr("the file {path}").format(path=choice.value))
        self.destination.setAccessibleDescription(self.destination.text())

    def isComplete(self) -> bool:
        return bool(self.target.choice().value) and not self.worker.is_running(self._job)

    def validatePage(self) -> bool:
        if self._saved is not None:
            return True
        if self.worker.is_running(self._job):
            return False
        choice = self.target.choice()
        connection = self._connection()
        restart_cmd = self.session.restart_cmd = self.restart.text().strip()
        self.notice.clear()
        self.busy.start(
            lambda: self.tr("Writing to {target} and reading it back…").format(target=choice.value)
        )
        self._job = self.worker.submit(
            lambda: save_job(choice, connection, restart_cmd), self._on_saved, self._on_failed
        )
        self.target.set_busy(True)
        self.completeChanged.emit()
        return False  # Next is pressed again, by _on_saved, once the write is confirmed

    def nextId(self) -> int:
        return Step.DONE.value

    def retranslate(self) -> None:
        super().retranslate()
        self._show_destination()
        self._render_plan()

    # --- plan -----------------------------------------------------------------------

    def _connection(self) -> Connection:
        assert self.session.result is not None
        return self.session.result.connection

    def _show_plan(self) -> None:
        self._report = None
        self._plan_error: WizardError | None = None
        choice = self.target.choice()
        if choice.value and choice.kind is TargetKind.ENV:
            try:
                self._report = open_choice(choice).plan(self._connection())
            except WizardError as error:
                self._plan_error = error
        self._render_plan()

    def _render_plan(self) -> None:
        choice = self.target.choice()
        report = self._report
        if report is None:
            error = getattr(self, "_plan_error", None)
            if not choice.value:
                text = self.tr("Choose a file or enter a database URL.")
            elif error is not None:
                text = f"{render(error.message)} {render(error.hint)}".strip()
            elif choice.kind is TargetKind.DB:
                text = self.tr("Press “Test database” to check the database and see which values go where.")
            else:
                text = ""
            self.plan.setText(text)
            return
        lines = [self.tr("These keys will be written to {target}:").format(target=report.target)]
        lines += [f"  • {key}" for key in report.written]
        if report.elsewhere:
            lines.append(self.tr("Kept elsewhere:"))
            lines += [f"  • {key}: {render(where)}" for key, where in report.elsewhere.items()]
        if choice.kind is TargetKind.ENV:
            lines.append(self.tr("Other lines in the file are kept as they are."))
        self.plan.setText("\n".join(lines))
        self.plan.setAccessibleDescription(self.plan.text())

    # --- slots ----------------------------------------------------------------------

    def _on_target_changed(self) -> None:
        self.notice.clear()
        if not self.change.isChecked():
            self._show_chooser(True)
        self._show_destination()
        self._show_plan()
        self.completeChanged.emit()

    def _on_change_toggled(self, shown: bool) -> None:
        self.chooser_box.setVisible(shown)
        if shown:
            self.target.first_input().setFocus()

    def _on_test_requested(self) -> None:
        choice = self.target.choice()
        if not choice.value:
            return
        connection = self._connection()
        self.worker.cancel(self._job)
        self.notice.clear()
        self.busy.start(lambda: self.tr("Connecting to the database…"))
        self.target.set_busy(True)
        self._job = self.worker.submit(
            lambda: plan_job(choice, connection, check=True), self._on_tested, self._on_failed
        )
        self.completeChanged.emit()

    def _on_tested(self, report: Any) -> None:
        from wizard.targets.base import SaveReport

        assert isinstance(report, SaveReport)
        self._job = None
        self.busy.stop()
        self.target.set_busy(False)
        self._report = report
        self._render_plan()
        self.notice.show_message(Notice.Kind.SUCCESS, lambda: self.tr("The database can be written to."))
        self.completeChanged.emit()
        focus = getattr(self.wizard(), "focus_forward", None)
        if focus is not None:
            focus()  # the database is fine: Save is next

    def _on_saved(self, saved: Any) -> None:
        assert isinstance(saved, Saved)
        self._job = None
        self.busy.stop()
        self.target.set_busy(False)
        self._saved = saved
        choice = self.target.choice()
        self.session.target = choice
        self.session.saved = saved.report
        self.session.notes = [saved.keyring_note] if saved.keyring_note else []
        if saved.restart is not None:
            self.session.notes.append(outcome_note(saved.restart))
        if choice.kind is TargetKind.ENV and not self.session.prefill.is_demo:
            settings().setValue(SETTINGS_ENV_PATH, choice.value)
        if not self.session.prefill.is_demo:
            remember_command(choice.value, self.session.restart_cmd)
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()

    def _on_failed(self, error: WizardError) -> None:
        self._job = None
        self.busy.stop()
        self.target.set_busy(False)
        self.notice.show_error(
            error, lambda: self.tr("Nothing was written. Fix it, or choose another place.")
        )
        self._show_chooser(True)
        self.completeChanged.emit()
        self.target.value_input().setFocus()  # what to change: the path or the database URL
