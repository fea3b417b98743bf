"""Shared helpers for the GUI suites: build the real wizard, drive it with its own buttons.

Imported by the test_gui*.py modules (not a conftest, so other suites never load Qt).
The environment is set at import time, before pytest-qt creates the QApplication.
"""

from __future__ import annotations

import gc
import os
import re
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
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QTextEdit,
    QWidget,
    QWizard,
)

from wizard.sandbox import Sandbox  # noqa: E402
from wizard.ui import links  # noqa: E402
from wizard.ui.model import Prefill, Step, TargetChoice, TargetKind  # noqa: E402
from wizard.ui.texts import switch_language  # noqa: E402
from wizard.ui.wizard import SetupWizard  # noqa: E402

WAIT_MS = 20_000
ROOT = Path(__file__).resolve().parents[2]
TS_FILE = ROOT / "resources" / "translations" / "amocrm_wizard_ru.ts"


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
def make_wizard(qtbot: object, no_browser: list[str]) -> Iterator[Callable[..., SetupWizard]]:
    made: list[SetupWizard] = []

    def make(prefill: Prefill, env: Path) -> SetupWizard:
        wizard = SetupWizard(prefill, TargetChoice(TargetKind.ENV, str(env)))
        qtbot.addWidget(wizard)  # type: ignore[attr-defined]
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    switch_language("en")  # the next test starts in English whatever this one did
    close_wizards(made)


def close_wizards(made: list[SetupWizard]) -> None:
    """Stop the wizards' jobs, close them and delete them."""
    for wizard in made:
        wizard.worker.cancel_all()
        wizard.worker.wait_for_threads(10_000)
        wizard.close()
        wizard.deleteLater()
    # Delete now, while the QApplication lives: web pages must go before their profiles.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


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


def page_value(qtbot: object, wizard: SetupWizard, script: str) -> object:
    """What ``script`` evaluates to in the consent page (runJavaScript answers asynchronously)."""
    found: list[object] = []
    wizard.consent.view().page().runJavaScript(script, 0, found.append)
    qtbot.waitUntil(lambda: bool(found), timeout=WAIT_MS)  # type: ignore[attr-defined]
    return found[0]


def wait_for_page_keyboard(qtbot: object, wizard: SetupWizard) -> None:
    """Wait until the page's own document has the keyboard, as its focus ring shows an admin.

    Qt's focus widget being the view says only that Qt hands keys to Chromium; the renderer
    is told of the focus asynchronously. On a loaded CI machine a Tab sent in that gap never
    reached the page, where a person would have seen no focus ring yet and waited for it."""
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: page_value(qtbot, wizard, "document.hasFocus()") is True, timeout=WAIT_MS
    )


def click_in_consent(wizard: SetupWizard, element_id: str) -> None:
    assert wizard.consent.browser is not None
    wizard.consent.browser.page.runJavaScript(f"document.getElementById('{element_id}').click()", 0)


def log_requests(wizard: SetupWizard) -> RequestLog:
    assert wizard.consent.browser is not None
    log = RequestLog()
    wizard.consent.browser.profile.setUrlRequestInterceptor(log)
    wizard._request_log = log  # type: ignore[attr-defined]  (kept alive as long as the profile)
    return log


@pytest.fixture
def no_browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No test ever opens the system browser: every URL the wizard would open is kept here."""
    opened: list[str] = []
    monkeypatch.setattr(links, "opener", opened.append)
    return opened


def set_language(wizard: SetupWizard, language: str) -> None:
    """Flip the Welcome page's language switch, as the admin would (pages need not be visible)."""
    combo = wizard.welcome.language
    combo.setCurrentIndex(combo.findData(language))


def to_consent(qtbot: object, wizard: SetupWizard) -> None:
    press_forward(qtbot, wizard)  # Welcome → Details (nothing stored yet)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    press_forward(qtbot, wizard)  # Details → Consent
    wait_for_step(qtbot, wizard, Step.CONSENT)


# --- what the admin sees --------------------------------------------------------------


def visible_texts(root: QWidget) -> list[str]:
    """Every text a visible widget shows or says: labels, buttons, group boxes, placeholders,
    tooltips, combo items, the window title (QWizard's own header and buttons included)."""
    found: list[str] = []
    if root.isWindow():
        found.append(root.windowTitle())
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QAbstractButton):
            found.append(widget.text())
        elif isinstance(widget, QGroupBox):
            found.append(widget.title())
        elif isinstance(widget, QLineEdit):
            found.append(widget.placeholderText())
        elif isinstance(widget, QComboBox):
            found += [widget.itemText(i) for i in range(widget.count())]
        elif isinstance(widget, QTextEdit):
            found.append(widget.toPlainText())
        found.append(widget.toolTip())
    return [text for text in found if text]


QT_OWN_ENGLISH = ("< &Back", "&Next >", "Cancel", "&Finish", "Commit", "&Help", "Help")


def _pattern(source: str) -> re.Pattern[str] | None:
    pieces = re.split(r"\{[^}]*\}", source)
    if not any(ch.isalpha() for piece in pieces for ch in piece):
        return None  # only placeholders and punctuation: nothing to translate
    return re.compile(".+?".join(re.escape(piece) for piece in pieces), re.DOTALL)


def english_sources() -> list[tuple[str, re.Pattern[str]]]:
    """The English source strings the Russian UI must not show: our Linguist catalogue,
    QWizard's own buttons, and every core message that has a Russian translation."""
    import xml.etree.ElementTree as ET

    from wizard.core.i18n import translations

    sources = [m.findtext("source") or "" for m in ET.parse(TS_FILE).getroot().iter("message")]
    sources += QT_OWN_ENGLISH
    try:
        from babel.messages.pofile import read_po
    except ImportError:  # babel is a test dependency; without it the core is not checked
        pass
    else:
        ru = translations("ru")
        with (ROOT / "wizard" / "locale" / "amocrm_wizard.pot").open("rb") as pot:
            for message in read_po(pot):
                if isinstance(message.id, str) and message.id and ru.gettext(message.id) != message.id:
                    sources.append(message.id)
    patterns = []
    for source in sources:
        for part in {source, *source.split("\n")}:
            pattern = _pattern(part.strip())
            if pattern is not None:
                patterns.append((part.strip(), pattern))
    return patterns


#: English words that stay English in the Russian UI: names of products, keys, examples.
ALLOWED_ENGLISH = frozenset({"amoCRM", "Kommo", "English", "Русский", "OK", "Redirect URI"})


def untranslated(texts: list[str], sources: list[tuple[str, re.Pattern[str]]]) -> list[tuple[str, str]]:
    """(shown text, English source) for every shown text or line that is still English."""
    left: list[tuple[str, str]] = []
    for text in texts:
        for line in {text, *text.split("\n")}:
            line = line.strip()
            if not line or line in ALLOWED_ENGLISH:
                continue
            for source, pattern in sources:
                if pattern.fullmatch(line):
                    left.append((line, source))
                    break
    return left


def allow_and_exchange(qtbot: object, wizard: SetupWizard) -> None:
    """Press Allow once the consent page is loaded; wait for the exchange to succeed."""
    wait_for_consent_loaded(qtbot, wizard)
    click_in_consent(wizard, "allow")
    wait_for_step(qtbot, wizard, Step.EXCHANGE)
    qtbot.waitUntil(lambda: wizard.session.result is not None, timeout=WAIT_MS)  # type: ignore[attr-defined]


def allow_and_finish(qtbot: object, wizard: SetupWizard) -> None:
    """Press Allow on the loaded consent page, then go through Exchange and Save to Done."""
    allow_and_exchange(qtbot, wizard)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.SAVE)
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DONE)
