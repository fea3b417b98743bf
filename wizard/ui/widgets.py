"""Small widgets the pages share: a busy indicator with text, a notice, the target chooser."""

from __future__ import annotations

import enum
from datetime import datetime

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wizard.core.errors import WizardError
from wizard.ui.model import TargetChoice, TargetKind
from wizard.ui.qtcompat import emit

SETTINGS_ENV_PATH = "save/env_path"
SETTINGS_KIND = "save/kind"


def local_time(moment: datetime) -> str:
    """A moment in the admin's own time zone, minutes precision, with the zone named."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def settings() -> QSettings:
    return QSettings("amocrm-wizard", "amocrm-wizard")


class BusyIndicator(QWidget):
    """An indeterminate bar with a sentence saying what is happening (read by screen readers)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._bar = QProgressBar(self)
        self._bar.setRange(0, 0)
        self._bar.setTextVisible(False)
        self._bar.setMaximumHeight(self.fontMetrics().height() // 2 + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._label)
        layout.addWidget(self._bar)
        self.setAccessibleName(self.tr("Progress"))
        self.hide()

    def start(self, text: str) -> None:
        self._label.setText(text)
        self._bar.setAccessibleName(text)
        self.setAccessibleDescription(text)
        self.show()

    def stop(self) -> None:
        self.hide()

    def text(self) -> str:
        return self._label.text() if self.isVisible() else ""


class Notice(QFrame):
    """A message with a kind spelled out in words (never colour alone)."""

    class Kind(enum.Enum):
        INFO = "info"
        ERROR = "error"
        SUCCESS = "success"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("notice")
        self._title = QLabel(self)
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._body = QLabel(self)
        for label in (self._title, self._body):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)  # server words are never markup
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._body)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.kind = Notice.Kind.INFO
        self.hide()

    def show_message(self, kind: Notice.Kind, title: str, body: str = "") -> None:
        self.kind = kind
        prefix = {
            Notice.Kind.INFO: "",
            Notice.Kind.ERROR: self.tr("Problem: "),
            Notice.Kind.SUCCESS: self.tr("OK: "),
        }[kind]
        self._title.setText(prefix + title)
        self._body.setText(body)
        self._body.setVisible(bool(body))
        self.setProperty("kind", kind.value)
        self.setAccessibleName(prefix + title)
        self.setAccessibleDescription(body)
        self.setStyleSheet(_NOTICE_STYLE[kind])
        self.show()

    def show_error(self, error: WizardError, extra: str = "") -> None:
        parts = [error.hint] if error.hint else []
        if extra:
            parts.append(extra)
        if error.detail:
            parts.append(self.tr("(Details: {detail})").format(detail=error.detail))
        self.show_message(Notice.Kind.ERROR, error.message, "\n".join(parts))

    def clear(self) -> None:
        self._title.clear()
        self._body.clear()
        self.hide()

    def title(self) -> str:
        return self._title.text() if self.isVisible() else ""

    def text(self) -> str:
        """Title and body together (for tests and the clipboard)."""
        return f"{self._title.text()}\n{self._body.text()}".strip() if self.isVisible() else ""


# Palette-relative borders keep dark mode readable; the words carry the meaning.
_NOTICE_STYLE = {
    Notice.Kind.INFO: "QFrame#notice { border: 1px solid palette(mid); border-radius: 4px; }",
    Notice.Kind.ERROR: "QFrame#notice { border: 2px solid #c62828; border-radius: 4px; }",
    Notice.Kind.SUCCESS: "QFrame#notice { border: 2px solid #2e7d32; border-radius: 4px; }",
}


class TargetChooser(QWidget):
    """A .env file (with a file dialog) or a database URL; says which one is chosen."""

    changed = Signal()
    test_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, with_test_button: bool = False) -> None:
        super().__init__(parent)
        self._env_radio = QRadioButton(self.tr("A .env file"), self)
        self._env_path = QLineEdit(self)
        self._env_path.setAccessibleName(self.tr(".env file path"))
        self._env_path.setAccessibleDescription(
            self.tr("The backend's .env file; it is created if it does not exist.")
        )
        self._browse = QPushButton(self.tr("Choose…"), self)
        self._browse.setAccessibleName(self.tr("Choose the .env file"))
        self._db_radio = QRadioButton(self.tr("A database"), self)
        self._db_url = QLineEdit(self)
        self._db_url.setAccessibleName(self.tr("Database URL"))
        self._db_url.setAccessibleDescription(
            self.tr("sqlite:///path/file.db, postgresql://user:password@host:5432/db or mysql://…")
        )
        self._db_url.setPlaceholderText("postgresql://user:password@host:5432/db")
        self._test = QPushButton(self.tr("Test database"), self) if with_test_button else None
        if self._test is not None:
            self._test.setAccessibleName(self.tr("Test database"))
            self._test.setAccessibleDescription(
                self.tr("Connects to the database and checks that the wizard may write there.")
            )
        self._group = QButtonGroup(self)
        self._group.addButton(self._env_radio)
        self._group.addButton(self._db_radio)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self._env_radio, 0, 0)
        grid.addWidget(self._env_path, 0, 1)
        grid.addWidget(self._browse, 0, 2)
        grid.addWidget(self._db_radio, 1, 0)
        grid.addWidget(self._db_url, 1, 1)
        if self._test is not None:
            grid.addWidget(self._test, 1, 2)
        grid.setColumnStretch(1, 1)
        self._env_radio.setChecked(True)
        self._sync_enabled()
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._env_radio.toggled.connect(self._on_kind_toggled)
        self._env_path.textChanged.connect(self._on_text_changed)
        self._db_url.textChanged.connect(self._on_text_changed)
        self._browse.clicked.connect(self._on_browse_clicked)
        if self._test is not None:
            self._test.clicked.connect(self.test_requested)

    # --- value ----------------------------------------------------------------------

    def choice(self) -> TargetChoice:
        if self._db_radio.isChecked():
            return TargetChoice(TargetKind.DB, self._db_url.text().strip())
        return TargetChoice(TargetKind.ENV, self._env_path.text().strip())

    def set_choice(self, choice: TargetChoice) -> None:
        if choice.kind is TargetKind.DB:
            self._db_url.setText(choice.value)
            self._db_radio.setChecked(True)
        else:
            self._env_path.setText(choice.value)
            self._env_radio.setChecked(True)
        self._sync_enabled()

    def set_env_path(self, path: str) -> None:
        self._env_path.setText(path)
        self._env_radio.setChecked(True)

    def set_db_url(self, url: str) -> None:
        self._db_url.setText(url)
        self._db_radio.setChecked(True)

    def set_busy(self, busy: bool) -> None:
        if self._test is not None:
            self._test.setEnabled(not busy and self._db_radio.isChecked())

    # --- slots ----------------------------------------------------------------------

    def _sync_enabled(self) -> None:
        env = self._env_radio.isChecked()
        self._env_path.setEnabled(env)
        self._browse.setEnabled(env)
        self._db_url.setEnabled(not env)
        if self._test is not None:
            self._test.setEnabled(not env)

    def _on_kind_toggled(self, _checked: bool) -> None:
        self._sync_enabled()
        emit(self.changed)

    def _on_text_changed(self, _text: str) -> None:
        emit(self.changed)

    def _on_browse_clicked(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Where should the tokens be written?"),
            self._env_path.text() or ".env",
            self.tr(".env files (*.env .env);;All files (*)"),
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self._env_path.setText(path)


def row(*widgets: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    return layout
