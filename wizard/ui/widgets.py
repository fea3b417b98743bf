"""Small widgets the pages share: a busy indicator with text, a notice that says its kind in
words, the target chooser and the help panel. Every text they show follows the language."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRectF, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.errors import WizardError
from wizard.ui.model import TargetChoice, TargetKind
from wizard.ui.texts import Maker, Texts, text_of

if TYPE_CHECKING:
    from PySide6.QtGui import QAccessible, QColor, QPaintEvent, QPalette

# Some Qt classes cost milliseconds the first time they are touched (QAccessible, QPainter,
# QFileDialog): they are imported where they are used, after the first window is up.

SETTINGS_ENV_PATH = "save/env_path"
SETTINGS_KIND = "save/kind"


def local_time(moment: datetime) -> str:
    """A moment in the admin's own time zone, minutes precision, with the zone named."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def settings() -> QSettings:
    return QSettings("amocrm-wizard", "amocrm-wizard")


def announce(widget: QWidget, event: QAccessible.Event | None = None) -> None:
    """Tell screen readers that ``widget`` says something new (cheap when none listens).

    A widget nobody can see has nothing to announce: a page built ahead of time sets its
    texts while hidden, and QAccessible's first use (~10 ms) then waits until it shows."""
    if not widget.isVisible():
        return
    from PySide6.QtGui import QAccessible, QAccessibleEvent

    if QAccessible.isActive():
        QAccessible.updateAccessibility(QAccessibleEvent(widget, event or QAccessible.Event.NameChanged))


def describe_widget(widget: QWidget, name: str, description: str) -> None:
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)


def wrapped(parent: QWidget | None = None, *, selectable: bool = False) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def relative_luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio (1 to 21; 4.5 is enough for body text)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def is_dark(palette: QPalette) -> bool:
    from PySide6.QtGui import QPalette

    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def _blend(base: QColor, tint: QColor, amount: float) -> QColor:
    from PySide6.QtGui import QColor

    return QColor.fromRgbF(
        base.redF() + (tint.redF() - base.redF()) * amount,
        base.greenF() + (tint.greenF() - base.greenF()) * amount,
        base.blueF() + (tint.blueF() - base.blueF()) * amount,
    )


class BusyIndicator(QWidget):
    """An indeterminate bar with a sentence saying what is happening (read by screen readers)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        from PySide6.QtWidgets import QProgressBar

        super().__init__(parent)
        self._label = wrapped(self)
        self._bar = QProgressBar(self)
        self._bar.setRange(0, 0)
        self._bar.setTextVisible(False)
        self._bar.setMaximumHeight(self.fontMetrics().height() // 2 + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._label)
        layout.addWidget(self._bar)
        self._make: Maker | None = None
        self._render()
        self.hide()

    def start(self, text: str | Maker) -> None:
        self._make = text if callable(text) else (lambda: text)
        self._render()
        self.show()
        announce(self._label)

    def stop(self) -> None:
        self.hide()

    def text(self) -> str:
        return self._label.text() if self.isVisible() else ""

    def _render(self) -> None:
        text = self._make() if self._make else ""
        self._label.setText(text)
        self.setAccessibleName(self.tr("Busy: {what}").format(what=text) if text else self.tr("Progress"))
        self.setAccessibleDescription(text)
        self._bar.setAccessibleName(self.tr("Working…"))
        self._bar.setAccessibleDescription(text)
        self._label.setAccessibleName(text)
        self._label.setAccessibleDescription(self.tr("What the wizard is doing now."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)


class Notice(QFrame):
    """A message whose kind is spelled out in words ("Error:", "OK:"), never by colour alone.

    An error shows the failure catalogue's three parts in the current language (title,
    what happened, what to do), the server's own words small, and re-renders them when
    the language changes.
    """

    class Kind(enum.Enum):
        INFO = "info"
        ERROR = "error"
        SUCCESS = "success"
        WARNING = "warning"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice")
        self.kind_label = QLabel(self)
        self.title_label = wrapped(self, selectable=True)
        bold = self.title_label.font()
        bold.setBold(True)
        self.kind_label.setFont(bold)
        self.title_label.setFont(bold)
        self.explanation_label = wrapped(self, selectable=True)
        self.fix_caption = QLabel(self)
        self.fix_caption.setFont(bold)
        self.fix_label = wrapped(self, selectable=True)
        self.extra_label = wrapped(self, selectable=True)
        self.detail_label = wrapped(self, selectable=True)
        small = self.detail_label.font()
        if small.pointSizeF() > 0:
            small.setPointSizeF(small.pointSizeF() * 0.9)
        self.detail_label.setFont(small)
        top = QHBoxLayout()
        top.addWidget(self.kind_label, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title_label, 1)
        fix_row = QHBoxLayout()
        fix_row.addWidget(self.fix_caption, 0, Qt.AlignmentFlag.AlignTop)
        fix_row.addWidget(self.fix_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.explanation_label)
        layout.addLayout(fix_row)
        layout.addWidget(self.extra_label)
        layout.addWidget(self.detail_label)
        from PySide6.QtWidgets import QSizePolicy

        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.kind = Notice.Kind.INFO
        self.error: WizardError | None = None
        self._title: str | Maker = ""
        self._body: str | Maker = ""
        self._extra: str | Maker = ""
        self._fix: str | Maker = ""
        self.hide()

    # --- showing --------------------------------------------------------------------

    def show_message(self, kind: Notice.Kind, title: str | Maker, body: str | Maker = "") -> None:
        self.kind, self.error = kind, None
        self._title, self._body, self._extra, self._fix = title, body, "", ""
        self._show()

    def show_error(self, error: WizardError, extra: str | Maker = "", *, fix: str | Maker = "") -> None:
        """The catalogue's title, explanation and fix for ``error``, then ``extra``.

        ``fix``: what to do in this window's own words, instead of the catalogue's (which
        is written for the command line: "run amocrm-wizard again…" above the very button).
        """
        self.kind, self.error = Notice.Kind.ERROR, error
        self._title, self._body, self._extra = "", "", extra
        self._fix = fix
        self._show()

    def clear(self) -> None:
        self.error = None
        self._title = self._body = self._extra = self._fix = ""
        for label in self._labels():
            label.clear()
        self.hide()

    def _show(self) -> None:
        from PySide6.QtGui import QAccessible

        self._render()
        self.show()
        announce(
            self, QAccessible.Event.Alert if self.kind is Notice.Kind.ERROR else QAccessible.Event.NameChanged
        )

    def _labels(self) -> tuple[QLabel, ...]:
        return (
            self.kind_label,
            self.title_label,
            self.explanation_label,
            self.fix_caption,
            self.fix_label,
            self.extra_label,
            self.detail_label,
        )

    def _render(self) -> None:
        prefix = {
            Notice.Kind.INFO: self.tr("Note:"),
            Notice.Kind.ERROR: self.tr("Error:"),
            Notice.Kind.SUCCESS: self.tr("OK:"),
            Notice.Kind.WARNING: self.tr("Warning:"),
        }[self.kind]
        detail = ""
        if self.error is not None:
            from wizard.core.catalogue import describe

            failure = describe(self.error)
            title, explanation, fix, detail = failure.title, failure.explanation, failure.fix, failure.detail
            fix = text_of(self._fix) or fix
        else:
            title, explanation, fix = text_of(self._title), text_of(self._body), ""
        extra = text_of(self._extra)
        self.kind_label.setText(prefix)
        self.title_label.setText(title)
        self.explanation_label.setText(explanation)
        self.fix_caption.setText(self.tr("What to do:"))
        self.fix_label.setText(fix)
        self.extra_label.setText(extra)
        self.detail_label.setText(
            self.tr("Technical details: {detail}").format(detail=detail) if detail else ""
        )
        self.explanation_label.setVisible(bool(explanation))
        self.fix_caption.setVisible(bool(fix))
        self.fix_label.setVisible(bool(fix))
        self.extra_label.setVisible(bool(extra))
        self.detail_label.setVisible(bool(detail))
        self.setProperty("kind", self.kind.value)
        self.setAccessibleName(f"{prefix} {title}")
        self.setAccessibleDescription(" ".join(x for x in (explanation, fix, extra) if x))
        self.update()

    # --- reading (tests, the clipboard) ----------------------------------------------

    def title(self) -> str:
        return self.title_label.text() if self.isVisible() else ""

    def text(self) -> str:
        """Everything shown, in reading order."""
        if not self.isVisible():
            return ""
        parts = [f"{self.kind_label.text()} {self.title_label.text()}"]
        parts += [self.explanation_label.text()]
        if self.fix_label.text():
            parts.append(f"{self.fix_caption.text()} {self.fix_label.text()}")
        parts += [self.extra_label.text(), self.detail_label.text()]
        return "\n".join(p for p in parts if p).strip()

    # --- colours from the palette, so dark mode keeps its contrast ----------------------

    def colors(self) -> tuple[QColor, QColor, QColor]:
        """(text, fill, border) for the current palette and kind."""
        from PySide6.QtGui import QColor, QPalette

        palette = self.palette()
        dark = is_dark(palette)
        accents = {
            Notice.Kind.ERROR: "#ef9a9a" if dark else "#c62828",
            Notice.Kind.SUCCESS: "#a5d6a7" if dark else "#2e7d32",
            Notice.Kind.WARNING: "#ffe082" if dark else "#9a6700",
        }
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.WindowText)
        accent = QColor(accents[self.kind]) if self.kind in accents else palette.color(QPalette.ColorRole.Mid)
        fill = _blend(window, accent, 0.12 if self.kind in accents else 0.0)
        return text, fill, accent

    def paintEvent(self, event: QPaintEvent) -> None:
        from PySide6.QtGui import QPainter, QPen

        _text, fill, border = self.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(QPen(border, 1.5))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 4, 4)
        # A thick bar on the left: the kind is also in words, this is only a cue.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(border)
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), 5, rect.height()), 2, 2)
        painter.end()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange and self.isVisible():
            self._render()
        super().changeEvent(event)


class HelpPanel(QFrame):
    """What to do on this page, where amoCRM keeps it, and a way to open amoCRM's settings."""

    open_settings = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.texts = Texts()
        self.heading = QLabel(self)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.body = wrapped(self, selectable=True)
        # Reachable with Tab, so a screen reader reads it when the help opens.
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.body.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.open_button = QPushButton(self)
        self.open_button.setAutoDefault(False)
        self.hide_button = QPushButton(self)
        self.hide_button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.hide_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        self._body: Maker = lambda: ""
        self._account: Callable[[], str] = lambda: ""
        self.texts.bind(self.heading.setText, lambda: self.tr("Help for this page"))
        self.texts.bind(self.hide_button.setText, lambda: self.tr("Hide help"))
        self.texts.bind(self.hide_button.setAccessibleDescription, lambda: self.tr("Closes this help."))
        self.texts.bind(self.open_button.setText, lambda: self.tr("Open the integrations in amoCRM"))
        self.open_button.clicked.connect(self._on_open_clicked)
        self.hide_button.clicked.connect(self._on_hide_clicked)
        self.hide()

    def set_content(self, body: Maker, account: Callable[[], str]) -> None:
        """``account``: the base URL the admin entered so far ("" when none yet)."""
        self._body, self._account = body, account
        self.refresh()

    def refresh(self) -> None:
        self.body.setText(self._body())
        self.body.setAccessibleName(self.heading.text())
        self.body.setAccessibleDescription(self.body.text())
        base = self._account()
        self.open_button.setEnabled(bool(base))
        self.open_button.setAccessibleDescription(
            self.tr("Opens Settings → Integrations of {account} in your web browser.").format(account=base)
            if base
            else self.tr("Enter the account address first (on the Integration details page).")
        )
        self.open_button.setToolTip(self.open_button.accessibleDescription())

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.refresh()
        self.show()
        self.body.setFocus()
        announce(self.body)

    def _on_open_clicked(self) -> None:
        self.open_settings.emit()

    def _on_hide_clicked(self) -> None:
        self.hide()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.refresh()
            self.refresh()
        super().changeEvent(event)


class TargetChooser(QWidget):
    """A .env file (with a file dialog) or a database URL; says which one is chosen."""

    changed = Signal()
    test_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, with_test_button: bool = False) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self._env_radio = QRadioButton(self)
        self._env_path = QLineEdit(self)
        self._browse = QPushButton(self)
        self._browse.setAutoDefault(False)
        self._db_radio = QRadioButton(self)
        self._db_url = QLineEdit(self)
        self._db_url.setPlaceholderText("postgresql://user:password@host:5432/db")
        self._test = QPushButton(self) if with_test_button else None
        self._group = QButtonGroup(self)
        self._group.addButton(self._env_radio)
        self._group.addButton(self._db_radio)
        self._quiet = False

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self._env_radio, 0, 0)
        grid.addWidget(self._env_path, 0, 1)
        grid.addWidget(self._browse, 0, 2)
        grid.addWidget(self._db_radio, 1, 0)
        grid.addWidget(self._db_url, 1, 1)
        if self._test is not None:
            self._test.setAutoDefault(False)
            grid.addWidget(self._test, 1, 2)
        grid.setColumnStretch(1, 1)
        self._env_radio.setChecked(True)
        self._retranslate()
        self._sync_enabled()
        self._connect_signals()

    def _retranslate(self) -> None:
        t = self.texts
        t.bind(self._env_radio.setText, lambda: self.tr("A .env file"))
        t.bind(self._env_radio.setAccessibleDescription, lambda: self.tr("Write the tokens to a .env file."))
        t.bind(self._env_path.setAccessibleName, lambda: self.tr(".env file path"))
        t.bind(
            self._env_path.setAccessibleDescription,
            lambda: self.tr("The backend's .env file; it is created if it does not exist."),
        )
        t.bind(self._env_path.setToolTip, self._env_path.accessibleDescription)
        t.bind(self._browse.setText, lambda: self.tr("Choose…"))
        t.bind(self._browse.setAccessibleName, lambda: self.tr("Choose the .env file"))
        t.bind(
            self._browse.setAccessibleDescription,
            lambda: self.tr("Opens a file dialog to pick where the .env file is."),
        )
        t.bind(self._db_radio.setText, lambda: self.tr("A database"))
        t.bind(
            self._db_radio.setAccessibleDescription,
            lambda: self.tr("Write the tokens to the database your backend reads its settings from."),
        )
        t.bind(self._db_url.setAccessibleName, lambda: self.tr("Database URL"))
        t.bind(
            self._db_url.setAccessibleDescription,
            lambda: self.tr("sqlite:///path/file.db, postgresql://user:password@host:5432/db or mysql://…"),
        )
        t.bind(self._db_url.setToolTip, self._db_url.accessibleDescription)
        if self._test is not None:
            t.bind(self._test.setText, lambda: self.tr("Test database"))
            t.bind(self._test.setAccessibleName, lambda: self.tr("Test database"))
            t.bind(
                self._test.setAccessibleDescription,
                lambda: self.tr("Connects to the database and checks that the wizard may write there."),
            )

    def _connect_signals(self) -> None:
        self._env_radio.toggled.connect(self._on_kind_toggled)
        self._env_path.textChanged.connect(self._on_text_changed)
        self._db_url.textChanged.connect(self._on_text_changed)
        self._browse.clicked.connect(self._on_browse_clicked)
        if self._test is not None:
            self._test.clicked.connect(self._on_test_clicked)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.refresh()
        super().changeEvent(event)

    # --- value ----------------------------------------------------------------------

    def choice(self) -> TargetChoice:
        if self._db_radio.isChecked():
            return TargetChoice(TargetKind.DB, self._db_url.text().strip())
        return TargetChoice(TargetKind.ENV, self._env_path.text().strip())

    def set_choice(self, choice: TargetChoice) -> None:
        """Show ``choice`` without reporting it as a change (the caller knows)."""
        self._quiet = True
        try:
            if choice.kind is TargetKind.DB:
                self._db_url.setText(choice.value)
                self._db_radio.setChecked(True)
            else:
                self._env_path.setText(choice.value)
                self._env_radio.setChecked(True)
        finally:
            self._quiet = False
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

    def first_input(self) -> QWidget:
        return self._env_radio

    def value_input(self) -> QWidget:
        """The field of the kind chosen (the .env path or the database URL)."""
        return self._db_url if self._db_radio.isChecked() else self._env_path

    def last_input(self) -> QWidget:
        return self._test if self._test is not None else self._db_url

    def test_button(self) -> QPushButton | None:
        return self._test

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
        if not self._quiet:
            self.changed.emit()

    def _on_text_changed(self, _text: str) -> None:
        if not self._quiet:
            self.changed.emit()

    def _on_test_clicked(self) -> None:
        self.test_requested.emit()

    def _on_browse_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog

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


def error_color(palette: QPalette) -> QColor:
    """The colour of an error's words: the Notice's red, readable on this palette's window."""
    from PySide6.QtGui import QColor

    return QColor("#ef9a9a" if is_dark(palette) else "#b71c1c")


class FieldStatus(QLabel):
    """The line under a field: "✓ Looks right" or "✗ Not right yet: …" (in words, the error in
    the error colour). Two lines are kept for it from the start, so the form does not jump
    when a check fails."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * 2)
        self.is_error = False
        self._painting = False

    def show_ok(self, text: str) -> None:
        self.is_error = False
        self.setText(text)
        self._paint()

    def show_error(self, text: str) -> None:
        self.is_error = True
        self.setText(text)
        self._paint()

    def _paint(self) -> None:
        from PySide6.QtGui import QPalette

        parent = self.parentWidget()
        palette = QPalette(parent.palette() if parent is not None else self.palette())
        if self.is_error:
            palette.setColor(QPalette.ColorRole.WindowText, error_color(palette))
        self._painting = True  # setPalette sends a PaletteChange of its own
        try:
            self.setPalette(palette)
        finally:
            self._painting = False
        self.setProperty("error", self.is_error)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and not self._painting:
            self._paint()
        super().changeEvent(event)


class CommandBox(QWidget):
    """A command shown whole: monospace, never wrapped mid-flag, selectable, with a copy button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        from PySide6.QtGui import QFontDatabase
        from PySide6.QtWidgets import QPlainTextEdit

        super().__init__(parent)
        self.texts = Texts()
        self.edit = QPlainTextEdit(self)
        self.edit.setReadOnly(True)
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.edit.setTabChangesFocus(True)
        self.edit.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.edit.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.copy_button = QPushButton(self)
        self.copy_button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        self.texts.bind(self.copy_button.setText, lambda: self.tr("Copy"))
        self.texts.bind(self.copy_button.setAccessibleName, lambda: self.tr("Copy the command"))
        self.texts.bind(
            self.copy_button.setAccessibleDescription,
            lambda: self.tr("Copies the command above to the clipboard."),
        )
        self.texts.bind(self.edit.setAccessibleName, lambda: self.tr("Command"))
        self.copy_button.clicked.connect(self._on_copy_clicked)

    def set_text(self, text: str, description: str = "") -> None:
        self.edit.setPlainText(text)
        self.edit.setAccessibleDescription(description or text)
        lines = max(1, text.count("\n") + 1)
        metrics = self.edit.fontMetrics()
        # Room for the lines, the document's margins and a horizontal scroll bar under them.
        scroll = self.edit.horizontalScrollBar().sizeHint().height()
        margins = 2 * (self.edit.frameWidth() + int(self.edit.document().documentMargin())) + 4
        self.edit.setFixedHeight(metrics.lineSpacing() * lines + scroll + margins)

    def text(self) -> str:
        return self.edit.toPlainText()

    def _on_copy_clicked(self) -> None:
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.clipboard().setText(self.text())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.texts.refresh()
        super().changeEvent(event)


class StepIndicator(QFrame):
    """Where the admin is: this run's steps, the current one marked by a sign and bold type
    (never by colour alone), the steps behind ticked; under them the account once known."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("steps")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 8, 12, 8)
        self._labels: list[QLabel] = []
        self._names: list[Maker] = []
        self._current = 0
        self._account = ""
        self.account_caption = QLabel(self)
        bold = self.account_caption.font()
        bold.setBold(True)
        self.account_caption.setFont(bold)
        self.account_label = wrapped(self)
        self.account_label.setMaximumWidth(200)
        self._tail = QVBoxLayout()
        self._tail.addSpacing(16)
        self._tail.addWidget(self.account_caption)
        self._tail.addWidget(self.account_label)
        self._steps_layout = QVBoxLayout()
        self._layout.addLayout(self._steps_layout)
        self._layout.addLayout(self._tail)
        self._layout.addStretch(1)
        self.setMinimumWidth(150)

    def set_steps(self, names: list[Maker], current: int, account: str) -> None:
        self._names, self._current, self._account = names, current, account
        while len(self._labels) < len(names):
            label = QLabel(self)
            self._steps_layout.addWidget(label)
            self._labels.append(label)
        self._render()

    def current_text(self) -> str:
        return self.accessibleDescription()

    def account(self) -> str:
        return self._account

    def _render(self) -> None:
        for index, label in enumerate(self._labels):
            if index >= len(self._names):
                label.hide()
                continue
            name = self._names[index]()
            font = label.font()
            font.setBold(index == self._current)
            label.setFont(font)
            sign = "▶" if index == self._current else ("✓" if index < self._current else "  ")
            label.setText(f"{sign} {index + 1}. {name}")
            label.setEnabled(index <= self._current)
            label.show()
        self._fit_width()
        total = len(self._names)
        if total:
            now = self._names[self._current]() if self._current < total else ""
            description = self.tr("Step {n} of {total}: {name}").format(
                n=self._current + 1, total=total, name=now
            )
        else:
            description = ""
        self.setAccessibleName(self.tr("Steps"))
        self.setAccessibleDescription(description)
        self.account_caption.setText(self.tr("Account:") if self._account else "")
        self.account_caption.setVisible(bool(self._account))
        self.account_label.setText(self._account)
        self.account_label.setVisible(bool(self._account))

    def _fit_width(self) -> None:
        """Wide enough for the longest step in bold: the side column never clips a name."""
        from PySide6.QtGui import QFontMetrics

        bold = self.font()
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        widest = max((metrics.horizontalAdvance(label.text()) for label in self._labels), default=0)
        margins = self._layout.contentsMargins()
        self.setMinimumWidth(max(150, widest + margins.left() + margins.right() + 8))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)
