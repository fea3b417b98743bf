"""Shared helpers for the GUI suites: build the real wizard, drive it with its own buttons.

Imported by the test_gui*.py modules (not a conftest, so other suites never load Qt).
The environment is set at import time, before pytest-qt creates the QApplication.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# The keyring stays out of the developer's own (headless Linux has none anyway).
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt

# QtWebEngine is imported lazily, after the QApplication exists: it needs this set first.
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
# QSettings (the remembered .env path) goes to a throwaway folder, not the developer's home.
QSettings.setPath(
    QSettings.Format.NativeFormat,
    QSettings.Scope.UserScope,
    tempfile.mkdtemp(prefix="amocrm-wizard-gui-config-"),
)

from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QWizard  # noqa: E402

from wizard.sandbox import Sandbox  # noqa: E402
from wizard.ui.model import Prefill, Step, TargetChoice, TargetKind  # noqa: E402
from wizard.ui.wizard import SetupWizard  # noqa: E402

WAIT_MS = 20_000


class RequestLog(QWebEngineUrlRequestInterceptor):
    """Every request the consent view really sends (Chromium asks before it leaves)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        self.urls.append(info.requestUrl().toString())


def sandbox_prefill(sb: Sandbox, **changes: str) -> Prefill:
    it = sb.integration
    values = {
        "account": sb.base_url,
        "client_id": it.client_id,
        "client_secret": it.client_secret,
        "redirect_uri": it.redirect_uri,
    }
    values.update(changes)
    return Prefill(**values)


@pytest.fixture
def make_wizard(qtbot: object) -> Iterator[Callable[..., SetupWizard]]:
    made: list[SetupWizard] = []
    trues = sys.getrefcount(True)

    def make(prefill: Prefill, env: Path) -> SetupWizard:
        wizard = SetupWizard(prefill, TargetChoice(TargetKind.ENV, str(env)))
        qtbot.addWidget(wizard)  # type: ignore[attr-defined]
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:
        wizard.worker.cancel_all()
        wizard.worker.wait_for_threads(10_000)
        wizard.close()
        wizard.deleteLater()
    # Delete now, while the QApplication lives: web pages must go before their profiles.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # PySide6 6.12 drops a reference to True on every Signal.emit (see wizard/ui/qtcompat.py);
    # a large loss here means some emission bypasses the workaround and will abort CPython.
    assert sys.getrefcount(True) - trues > -200, "references to True are leaking away"


def forward_button(wizard: QWizard) -> QAbstractButton:
    """The wizard's own Next, Commit or Finish button, whichever is showing."""
    for which in (QWizard.WizardButton.CommitButton, QWizard.WizardButton.FinishButton):
        button = wizard.button(which)
        if button.isVisible():
            return button
    return wizard.button(QWizard.WizardButton.NextButton)


def press_forward(qtbot: object, wizard: QWizard) -> None:
    button = forward_button(wizard)
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)  # type: ignore[attr-defined]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]


def wait_for_step(qtbot: object, wizard: SetupWizard, step: Step) -> None:
    qtbot.waitUntil(lambda: wizard.currentId() == step.value, timeout=WAIT_MS)  # type: ignore[attr-defined]


def wait_for_consent_loaded(qtbot: object, wizard: SetupWizard) -> None:
    qtbot.waitUntil(lambda: wizard.consent.loaded_ok, timeout=WAIT_MS)  # type: ignore[attr-defined]


def click_in_consent(wizard: SetupWizard, element_id: str) -> None:
    assert wizard.consent.browser is not None
    wizard.consent.browser.page.runJavaScript(f"document.getElementById('{element_id}').click()", 0)


def log_requests(wizard: SetupWizard) -> RequestLog:
    assert wizard.consent.browser is not None
    log = RequestLog()
    wizard.consent.browser.profile.setUrlRequestInterceptor(log)
    wizard._request_log = log  # type: ignore[attr-defined]  (kept alive as long as the profile)
    return log
