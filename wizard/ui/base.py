"""What every page shares: the session it reads and writes, and the worker it runs jobs on."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget, QWizardPage

from wizard.ui.model import Session
from wizard.ui.worker import Worker


class WizardPage(QWizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.worker = worker


def paragraph(text: str, parent: QWidget | None = None, *, rich: bool = False) -> QLabel:
    from PySide6.QtCore import Qt

    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if rich:
        label.setOpenExternalLinks(True)
    return label
