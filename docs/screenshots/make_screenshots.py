"""Screenshots of every wizard page, in the light theme, against the built-in sandbox.

    python docs/screenshots/make_screenshots.py          # re-runs itself under xvfb-run
    python docs/screenshots/make_screenshots.py --here   # use the current display

Needs Xvfb (Debian: apt-get install xvfb xauth libxcb-cursor0 …, see the README). The
PNGs are written next to this script; each is the wizard window as QWidget.grab() sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCREEN = "-screen 0 1366x768x24"


def main() -> int:
    if "--here" not in sys.argv:
        if shutil.which("xvfb-run") is None:
            print("xvfb-run is missing: apt-get install xvfb xauth", file=sys.stderr)
            return 1
        env = dict(os.environ, QT_QPA_PLATFORM="xcb")
        command = ["xvfb-run", "-a", "-s", SCREEN, sys.executable, __file__, "--here"]
        return subprocess.call(command, env=env)
    return shoot()


def shoot() -> int:
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="amocrm-wizard-shots-")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QStyleFactory

    from wizard.app import _prepare_environment, application
    from wizard.sandbox import Sandbox
    from wizard.ui.model import Prefill, Step, TargetChoice, TargetKind
    from wizard.ui.wizard import SetupWizard

    _prepare_environment(headless=False)
    app = application()
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(app.style().standardPalette())  # the light palette, whatever the desktop says
    QGuiApplication.styleHints().setColorScheme(QGuiApplication.styleHints().colorScheme().Light)

    def wait(condition: Callable[[], bool], seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the wizard did not get there in time")
            app.processEvents()
            time.sleep(0.01)

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    written: list[str] = []

    def grab(wizard: SetupWizard, name: str) -> None:
        settle()
        path = HERE / f"{name}.png"
        wizard.grab().save(str(path))
        written.append(path.name)

    def forward(wizard: SetupWizard, step: Step) -> None:
        wait(lambda: wizard.button(wizard.WizardButton.NextButton).isEnabled() or wizard.currentId() == 4)
        wizard.next()
        wait(lambda: wizard.currentId() == step.value)

    folder = Path(tempfile.mkdtemp(prefix="amocrm-wizard-shots-"))
    env = folder / ".env"
    with Sandbox() as sandbox:
        it = sandbox.integration
        prefill = Prefill(
            account=sandbox.base_url,
            client_id=it.client_id,
            client_secret=it.client_secret,
            redirect_uri=it.redirect_uri,
            demo_base_url=sandbox.base_url,
            demo_folder=str(folder),
        )
        wizard = SetupWizard(prefill, TargetChoice(TargetKind.ENV, str(env)))
        wizard.show()
        wait(lambda: wizard.welcome.isComplete() and "No amoCRM" in wizard.welcome.notice.text())
        grab(wizard, "1-welcome")
        forward(wizard, Step.DETAILS)
        grab(wizard, "2-details")
        forward(wizard, Step.CONSENT)
        wait(lambda: wizard.consent.loaded_ok)
        settle(1.0)
        grab(wizard, "3-consent")
        assert wizard.consent.browser is not None
        wizard.consent.browser.page.runJavaScript("document.getElementById('allow').click()", 0)
        wait(lambda: wizard.session.result is not None)
        grab(wizard, "4-exchange")
        forward(wizard, Step.SAVE)
        grab(wizard, "5-save")
        wizard.next()  # commit: saves, then moves on by itself
        wait(lambda: wizard.currentId() == Step.DONE.value)
        grab(wizard, "6-done")
        wizard.close()

        # A second run: the connection is found, and an error state for the exchange page.
        again = SetupWizard(prefill, TargetChoice(TargetKind.ENV, str(env)))
        again.show()
        wait(lambda: again.welcome.summary_box.isVisible())
        grab(again, "7-welcome-existing")
        again.close()

        wrong = Prefill(
            account=sandbox.base_url,
            client_id=it.client_id,
            client_secret="x" * 64,
            redirect_uri=it.redirect_uri,
        )
        failing = SetupWizard(wrong, TargetChoice(TargetKind.ENV, str(folder / "other.env")))
        failing.show()
        wait(lambda: failing.welcome.isComplete())
        forward(failing, Step.DETAILS)
        forward(failing, Step.CONSENT)
        failing.consent.code_edit.setText(sandbox.issue_code())
        forward(failing, Step.EXCHANGE)
        wait(lambda: failing.exchange.fix_button.isVisible())
        grab(failing, "8-exchange-error")
        failing.close()
        for window in (wizard, again, failing):
            window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(written))
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
