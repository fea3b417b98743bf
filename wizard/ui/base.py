"""What every page shares: the session it reads and writes, the worker it runs jobs on, its
texts (re-rendered when the language changes) and its help panel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QWidget, QWizardPage

from wizard.ui import links
from wizard.ui.model import Session
from wizard.ui.texts import Texts
from wizard.ui.widgets import HelpPanel
from wizard.ui.worker import Worker


class WizardPage(QWizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.worker = worker
        self.texts = Texts()
        self.help_panel: HelpPanel | None = None

    # --- language -------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Every text on the page again, in the current language (static and dynamic)."""
        self.texts.refresh()

    # --- help -----------------------------------------------------------------------

    def add_help(self, layout: object) -> HelpPanel:
        """The page's help panel (hidden until the wizard's Help button is pressed)."""
        panel = HelpPanel(self)
        panel.set_content(self.help_text, self.account_url)
        panel.open_settings.connect(self._on_open_settings)
        layout.addWidget(panel)  # type: ignore[attr-defined]
        self.help_panel = panel
        return panel

    def help_text(self) -> str:
        return ""

    def account_url(self) -> str:
        """The account's base URL as far as the admin has told us ("" when not yet)."""
        wizard = self.wizard()
        finder = getattr(wizard, "account_url", None)
        return str(finder()) if finder is not None else ""

    def toggle_help(self) -> None:
        if self.help_panel is not None:
            self.help_panel.toggle()

    def _on_open_settings(self) -> None:
        base = self.account_url()
        if base:
            links.open_url(links.settings_url(base))


def paragraph(text: str = "", parent: QWidget | None = None, *, rich: bool = False) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if rich:
        label.setOpenExternalLinks(True)
    return label
