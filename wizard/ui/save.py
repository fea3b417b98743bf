"""Page 5: where the tokens go, exactly which keys, written on Commit, read back, confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget, QWizard

from wizard.core.errors import VerificationError, WizardError
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Session, Step, TargetChoice, TargetKind
from wizard.ui.qtcompat import emit
from wizard.ui.widgets import SETTINGS_ENV_PATH, BusyIndicator, Notice, TargetChooser, settings
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.connection import Connection
    from wizard.targets.base import SaveReport


@dataclass(frozen=True)
class Saved:
    report: SaveReport
    keyring_note: str


def plan_job(choice: TargetChoice, connection: Connection, check: bool) -> SaveReport:
    target = choice.open()
    try:
        if check:
            target.check_writable()
        return target.plan(connection)
    finally:
        target.close()


def save_job(choice: TargetChoice, connection: Connection) -> Saved:
    """Write, read back, compare: the admin is told "saved" only when it really is."""
    target = choice.open()
    try:
        target.check_writable()
        report = target.save(connection)
        stored = target.load()
        wanted = connection.to_values()
        got = stored.to_values() if stored is not None else {}
        wrong = [key for key in report.written if got.get(key) != wanted.get(key)]
        if wrong:
            raise VerificationError(
                f"After saving, {target.description} does not hold what was written ({', '.join(wrong)}).",
                "Check that nothing else is writing there at the same moment, then save again.",
            )
    finally:
        target.close()
    return Saved(report, _remember_secret(connection))


def _remember_secret(connection: Connection) -> str:
    """The secret goes to the OS keyring too, so a later run can prefill it; optional."""
    try:
        from wizard.targets.keyring_store import save_secret
    except ImportError:
        return ""
    try:
        saved = save_secret(connection.base_url, connection.client_id, connection.client_secret)
    except WizardError as error:
        return error.message
    return "" if saved is None or saved else "The OS keyring is not available; the secret was not kept there."


class SavePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("Save the connection"))
        self.setSubTitle(self.tr("Nothing has been written yet. Press Save to write it."))
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("Save"))
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(self.tr("Write the tokens to:"), self))
        self.target = TargetChooser(self, with_test_button=True)
        layout.addWidget(self.target)
        self.plan = QLabel(self)
        self.plan.setWordWrap(True)
        self.plan.setAccessibleName(self.tr("What will be written"))
        layout.addWidget(self.plan)
        self.busy = BusyIndicator(self)
        layout.addWidget(self.busy)
        self.notice = Notice(self)
        layout.addWidget(self.notice)
        layout.addStretch(1)
        self._job: int | None = None
        self._saved: Saved | None = None
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.target.changed.connect(self._on_target_changed)
        self.target.test_requested.connect(self._on_test_requested)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self._saved = None
        self.target.set_choice(self.session.target)  # Welcome's choice (remembered default or flags)
        self._show_plan()

    def isComplete(self) -> bool:
        return bool(self.target.choice().value) and not self.worker.is_running(self._job)

    def validatePage(self) -> bool:
        if self._saved is not None:
            return True
        if self.worker.is_running(self._job):
            return False
        choice = self.target.choice()
        connection = self._connection()
        self.notice.clear()
        self.busy.start(self.tr("Writing to {target} and reading it back…").format(target=choice.value))
        self._job = self.worker.submit(lambda: save_job(choice, connection), self._on_saved, self._on_failed)
        self.target.set_busy(True)
        emit(self.completeChanged)
        return False  # Next is pressed again, by _on_saved, once the write is confirmed

    def nextId(self) -> int:
        return Step.DONE.value

    # --- plan -----------------------------------------------------------------------

    def _connection(self) -> Connection:
        assert self.session.result is not None
        return self.session.result.connection

    def _show_plan(self) -> None:
        choice = self.target.choice()
        if not choice.value:
            self.plan.setText(self.tr("Choose a file or enter a database URL."))
            return
        if choice.kind is TargetKind.DB:
            self.plan.setText(
                self.tr("Press “Test database” to check the database and see which values go where.")
            )
            return
        try:
            report = choice.open().plan(self._connection())
        except WizardError as error:
            self.plan.setText(f"{error.message} {error.hint}")
            return
        self._render_plan(report)

    def _render_plan(self, report: SaveReport) -> None:
        lines = [self.tr("These keys will be written to {target}:").format(target=report.target)]
        lines += [f"  • {key}" for key in report.written]
        if report.elsewhere:
            lines.append(self.tr("Kept elsewhere:"))
            lines += [f"  • {key}: {where}" for key, where in report.elsewhere.items()]
        if self.target.choice().kind is TargetKind.ENV:
            lines.append(self.tr("Other lines in the file are kept as they are."))
        self.plan.setText("\n".join(lines))

    # --- slots ----------------------------------------------------------------------

    def _on_target_changed(self) -> None:
        self.notice.clear()
        self._show_plan()
        emit(self.completeChanged)

    def _on_test_requested(self) -> None:
        choice = self.target.choice()
        if not choice.value:
            return
        connection = self._connection()
        self.worker.cancel(self._job)
        self.busy.start(self.tr("Connecting to the database…"))
        self.target.set_busy(True)
        self._job = self.worker.submit(
            lambda: plan_job(choice, connection, check=True), self._on_tested, self._on_failed
        )
        emit(self.completeChanged)

    def _on_tested(self, report: Any) -> None:
        from wizard.targets.base import SaveReport

        assert isinstance(report, SaveReport)
        self._job = None
        self.busy.stop()
        self.target.set_busy(False)
        self._render_plan(report)
        self.notice.show_message(Notice.Kind.SUCCESS, self.tr("The database can be written to."))
        emit(self.completeChanged)

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
        if choice.kind is TargetKind.ENV and not self.session.prefill.is_demo:
            settings().setValue(SETTINGS_ENV_PATH, choice.value)
        emit(self.completeChanged)
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()

    def _on_failed(self, error: WizardError) -> None:
        self._job = None
        self.busy.stop()
        self.target.set_busy(False)
        self.notice.show_error(error, self.tr("Nothing was written. Fix it, or choose another place."))
        emit(self.completeChanged)
