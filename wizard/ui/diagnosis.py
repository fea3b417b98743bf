"""The redirect URI mismatch, side by side: what the wizard sent, what amoCRM has registered
(pasted by the admin), the differences in words and the first differing character marked
(bold, underlined, a caret under it and a sentence, never colour alone)."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from wizard.core.catalogue import first_difference, redirect_uri_differences
from wizard.core.errors import WizardError
from wizard.core.i18n import render
from wizard.ui.texts import Texts
from wizard.ui.widgets import announce, row, wrapped


def marked_line(text: str, index: int, style: str) -> str:
    """``text`` as HTML with the character at ``index`` (or the end) marked."""
    if index < 0:
        return html.escape(text)
    mark = html.escape(text[index]) if index < len(text) else "&nbsp;"
    return (
        f'{html.escape(text[:index])}<b><u><span style="{style}">{mark}</span></u></b>'
        f"{html.escape(text[index + 1 :])}"
    )


def describe_char(text: str, index: int) -> str:
    if index >= len(text):
        return ""
    return text[index]


class RedirectCompare(QGroupBox):
    """Shown under a redirect URI mismatch on the Exchange page, and on the consent page when
    amoCRM sent its answer to another address (``before_sending``: nothing was sent yet)."""

    #: The registered URI the admin pasted, to be used instead of the one entered.
    use_registered = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, before_sending: bool = False) -> None:
        super().__init__(parent)
        self.texts = Texts()
        self._before_sending = before_sending
        self.sent_label = QLabel(self)
        self.sent = QLineEdit(self)
        self.sent.setReadOnly(True)
        self.sent_label.setBuddy(self.sent)
        self.registered_label = QLabel(self)
        self.registered = QLineEdit(self)
        self.registered.setPlaceholderText("https://example.com/amocrm/callback")
        self.registered_label.setBuddy(self.registered)
        self.differences = wrapped(self, selectable=True)
        self.first = wrapped(self, selectable=True)
        self.comparison = QTextEdit(self)
        self.comparison.setReadOnly(True)
        self.comparison.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
        self.comparison.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.comparison.setFixedHeight(self.comparison.fontMetrics().height() * 4 + 16)
        self.use_button = QPushButton(self)
        self.use_button.setAutoDefault(False)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.sent_label, self.sent)
        form.addRow(self.registered_label, self.registered)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.differences)
        layout.addWidget(self.first)
        layout.addWidget(self.comparison)
        layout.addLayout(row(self.use_button))
        self._bind_texts()
        self.registered.textChanged.connect(self._on_registered_changed)
        self.use_button.clicked.connect(self._on_use_clicked)
        self._update()

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("Compare the Redirect URIs"))
        if self._before_sending:
            t.bind(self.sent_label.setText, lambda: self.tr("You entered:"))
        else:
            t.bind(self.sent_label.setText, lambda: self.tr("The wizard sent:"))
        t.bind(self.sent.setAccessibleName, lambda: self.tr("Redirect URI the wizard sent"))
        t.bind(
            self.sent.setAccessibleDescription,
            lambda: self.tr("The Redirect URI entered on the integration details page, as it was sent."),
        )
        t.bind(self.registered_label.setText, lambda: self.tr("Registered in amoCRM:"))
        t.bind(self.registered.setAccessibleName, lambda: self.tr("Redirect URI registered in amoCRM"))
        t.bind(
            self.registered.setAccessibleDescription,
            lambda: self.tr(
                "Paste the redirect address (Ссылка для перенаправления) from the integration's settings "
                "in amoCRM to see how it differs."
            ),
        )
        t.bind(self.registered.setToolTip, self.registered.accessibleDescription)
        t.bind(
            self.comparison.setAccessibleName, lambda: self.tr("Both addresses, the first difference marked")
        )
        t.bind(self.use_button.setText, lambda: self.tr("Use the registered one and go back to the details"))
        t.bind(
            self.use_button.setAccessibleDescription,
            lambda: self.tr(
                "Puts the pasted address into the Redirect URI field of the integration details."
            ),
        )

    # --- value ----------------------------------------------------------------------

    def set_sent(self, uri: str) -> None:
        self.sent.setText(uri)
        self._update()

    def set_registered(self, uri: str) -> None:
        """The registered side, known (from where amoCRM sent the admin): shown, not asked for."""
        self.registered.setText(uri)
        self.registered.setReadOnly(True)
        self.use_button.hide()  # the page that knows it offers its own way on

    def _update(self) -> None:
        sent, registered = self.sent.text(), self.registered.text().strip()
        if not registered:
            self.differences.setText(
                self.tr(
                    "Paste the redirect address registered in amoCRM above (Settings → Integrations → "
                    "your integration) to see the difference."
                )
            )
            self.first.setText("")
            self.comparison.clear()
            self.use_button.setEnabled(False)
            self._describe()
            return
        found = redirect_uri_differences(sent, registered)
        if not found:
            self.differences.setText(
                self.tr(
                    "They are the same. Check that it is the same integration, and that its settings "
                    "were saved in amoCRM."
                )
            )
            self.first.setText("")
        else:
            lines = [self.tr("How they differ:")] + [f"• {render(text)}" for text in found]
            self.differences.setText("\n".join(lines))
            self.first.setText(self._first_words(sent, registered))
        self.comparison.setHtml(self._comparison_html(sent, registered))
        self.use_button.setEnabled(self._usable(registered) and sent != registered)
        self._describe()
        announce(self.differences)

    def _first_words(self, sent: str, registered: str) -> str:
        index = first_difference(sent, registered)
        if index < 0:
            return ""
        a, b = describe_char(sent, index), describe_char(registered, index)
        if self._before_sending:
            return self._first_words_entered(a, b).format(n=index + 1, a=a, b=b)
        if a and b:
            text = self.tr("The first difference is character {n}: “{a}” in the one sent, “{b}” in amoCRM.")
        elif a:
            text = self.tr(
                "The first difference is character {n}: the one sent has “{a}” there, "
                "the one in amoCRM ends before it."
            )
        else:
            text = self.tr(
                "The first difference is character {n}: the one in amoCRM has “{b}” there, "
                "the one sent ends before it."
            )
        return text.format(n=index + 1, a=a, b=b)

    def _first_words_entered(self, a: str, b: str) -> str:
        if a and b:
            return self.tr(
                "The first difference is character {n}: “{a}” in the one you entered, “{b}” in amoCRM."
            )
        if a:
            return self.tr(
                "The first difference is character {n}: the one you entered has “{a}” there, "
                "the one in amoCRM ends before it."
            )
        return self.tr(
            "The first difference is character {n}: the one in amoCRM has “{b}” there, "
            "the one you entered ends before it."
        )

    def _comparison_html(self, sent: str, registered: str) -> str:
        index = first_difference(sent, registered)
        palette = self.palette()
        style = (
            f"background-color: {palette.color(QPalette.ColorRole.Highlight).name()}; "
            f"color: {palette.color(QPalette.ColorRole.HighlightedText).name()}"
        )
        captions = [self.tr("entered:") if self._before_sending else self.tr("sent:"), self.tr("amoCRM:")]
        width = max(len(c) for c in captions) + 1
        lines = [
            html.escape(captions[0].ljust(width)) + marked_line(sent, index, style),
            html.escape(captions[1].ljust(width)) + marked_line(registered, index, style),
        ]
        if index >= 0:
            lines.append(" " * (width + index) + "^")
        return "<pre>" + "\n".join(lines) + "</pre>"

    def _describe(self) -> None:
        words = " ".join(x for x in (self.differences.text(), self.first.text()) if x)
        self.comparison.setAccessibleDescription(words)
        self.differences.setAccessibleName(self.tr("How the addresses differ"))
        self.differences.setAccessibleDescription(words)

    @staticmethod
    def _usable(uri: str) -> bool:
        from wizard.core import validate

        try:
            validate.redirect_uri(uri)
        except WizardError:
            return False
        return True

    # --- slots ----------------------------------------------------------------------

    def _on_registered_changed(self, _text: str) -> None:
        self._update()

    def _on_use_clicked(self) -> None:
        self.use_registered.emit(self.registered.text().strip())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.PaletteChange):
            self.texts.refresh()
            self._update()
        super().changeEvent(event)
