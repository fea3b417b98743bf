"""What every page shares: the session it reads and writes, the worker it runs jobs on, its
texts (re-rendered when the language changes) and its help panel."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget, QWizard, QWizardPage

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
        self._help_layout: QBoxLayout | None = None

    # --- language -------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Every text on the page again, in the current language (static and dynamic)."""
        self.texts.refresh()

    # --- help -----------------------------------------------------------------------

    def add_help(self, layout: QBoxLayout) -> None:
        """Where the page's help panel goes (built when the Help button is first pressed,
        last in the page: after everything else in reading and tab order)."""
        self._help_layout = layout

    def _build_help(self) -> HelpPanel:
        last = self._last_in_tab_order()
        panel = HelpPanel(self)
        panel.set_content(self.help_text, self.account_url)
        panel.open_settings.connect(self._on_open_settings)
        assert self._help_layout is not None
        self._help_layout.addWidget(panel)
        self.help_panel = panel
        if last is not None:  # built late, but read (and tabbed to) right after the page's content
            QWidget.setTabOrder(last, panel.body)
            QWidget.setTabOrder(panel.body, panel.open_button)
            QWidget.setTabOrder(panel.open_button, panel.hide_button)
        return panel

    def _last_in_tab_order(self) -> QWidget | None:
        last, widget, seen = None, self.nextInFocusChain(), set()
        while widget is not None and widget is not self and id(widget) not in seen:
            seen.add(id(widget))
            if self.isAncestorOf(widget) and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                last = widget
            widget = widget.nextInFocusChain()
        return last

    def focus_forward(self) -> None:
        """The focus on the wizard's Next (Commit, Finish): this page's work is done."""
        wizard = self.wizard()
        if wizard is None or wizard.currentPage() is not self:
            return
        for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.FinishButton):
            if wizard.button(which).isVisible():
                wizard.button(which).setFocus()
                return
        wizard.button(QWizard.WizardButton.NextButton).setFocus()

    def help_text(self) -> str:
        return ""

    def account_url(self) -> str:
        """The account's base URL as far as the admin has told us ("" when not yet)."""
        wizard = self.wizard()
        finder = getattr(wizard, "account_url", None)
        return str(finder()) if finder is not None else ""

    def toggle_help(self) -> None:
        panel = self.help_panel or self._build_help()
        panel.toggle()

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
