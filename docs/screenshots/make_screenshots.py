"""Screenshots of every wizard page and of three error states, in English and Russian, in
the light theme, against the built-in sandbox.

    python docs/screenshots/make_screenshots.py            # re-runs itself under xvfb-run
    python docs/screenshots/make_screenshots.py --here     # use the current display
    python docs/screenshots/make_screenshots.py --lang ru  # one language only

Needs Xvfb (Debian: apt-get install xvfb xauth libxcb-cursor0 …, see the README). The
PNGs are written next to this script; each is the wizard window as QWidget.grab() sees it.
English pages keep their old names (``1-welcome.png`` …), Russian ones end in ``-ru``;
the error states are ``error-<what>-<lang>.png``.
"""

from __future__ import annotations

import argparse
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--here", action="store_true")
    parser.add_argument("--lang", choices=("en", "ru", "all"), default="all")
    options = parser.parse_args()
    if not options.here:
        if shutil.which("xvfb-run") is None:
            print("xvfb-run is missing: apt-get install xvfb xauth", file=sys.stderr)
            return 1
        env = dict(os.environ, QT_QPA_PLATFORM="xcb")
        command = ["xvfb-run", "-a", "-s", SCREEN, sys.executable, __file__, "--here", "--lang", options.lang]
        return subprocess.call(command, env=env)
    return shoot(["en", "ru"] if options.lang == "all" else [options.lang])


def shoot(languages: list[str]) -> int:
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="amocrm-wizard-shots-")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QStyleFactory

    from wizard.app import _prepare_environment, application
    from wizard.sandbox import Sandbox
    from wizard.targets.envfile import EnvFileTarget
    from wizard.ui.model import Prefill, Step, TargetChoice, TargetKind
    from wizard.ui.texts import switch_language
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
    windows: list[SetupWizard] = []

    def grab(wizard: SetupWizard, name: str) -> None:
        settle()
        path = HERE / f"{name}.png"
        wizard.grab().save(str(path))
        written.append(path.name)

    def forward(wizard: SetupWizard, step: Step) -> None:
        wait(lambda: wizard.button(wizard.WizardButton.NextButton).isEnabled() or wizard.currentId() == 4)
        wizard.next()
        wait(lambda: wizard.currentId() == step.value)

    def start(prefill: Prefill, env: Path) -> SetupWizard:
        wizard = SetupWizard(prefill, TargetChoice(TargetKind.ENV, str(env)))
        windows.append(wizard)
        wizard.show()
        wait(lambda: wizard.welcome.isComplete())
        return wizard

    for lang in languages:
        switch_language(lang)
        suffix = "" if lang == "en" else f"-{lang}"
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
            wizard = start(prefill, env)
            wait(lambda wizard=wizard: "." in wizard.welcome.notice.text())
            grab(wizard, f"1-welcome{suffix}")
            forward(wizard, Step.DETAILS)
            grab(wizard, f"2-details{suffix}")
            forward(wizard, Step.CONSENT)
            wait(lambda wizard=wizard: wizard.consent.loaded_ok)
            settle(1.0)
            grab(wizard, f"3-consent{suffix}")
            assert wizard.consent.browser is not None
            wizard.consent.browser.page.runJavaScript("document.getElementById('allow').click()", 0)
            wait(lambda wizard=wizard: wizard.session.result is not None)
            grab(wizard, f"4-exchange{suffix}")
            forward(wizard, Step.SAVE)
            grab(wizard, f"5-save{suffix}")
            wizard.next()  # commit: saves, then moves on by itself
            wait(lambda wizard=wizard: wizard.currentId() == Step.DONE.value)
            wait(lambda wizard=wizard: not wizard.done_page.schedule_busy.isVisible())
            grab(wizard, f"6-done{suffix}")
            wizard.close()

            # A second run: the connection is found; the help panel is open.
            again = start(prefill, env)
            wait(lambda again=again: again.welcome.summary_box.isVisible())
            again.welcome.toggle_help()
            grab(again, f"7-welcome-existing{suffix}")
            again.close()

            plain = Prefill(
                account=sandbox.base_url,
                client_id=it.client_id,
                client_secret=it.client_secret,
                redirect_uri=it.redirect_uri,
            )
            # Error: a wrong secret (the page the README's list mentions).
            wrong = Prefill(**{**plain.__dict__, "client_secret": "x" * 64})
            refused = start(wrong, folder / "wrong.env")
            forward(refused, Step.DETAILS)
            forward(refused, Step.CONSENT)
            refused.consent.code_edit.setText(sandbox.issue_code())
            forward(refused, Step.EXCHANGE)
            wait(lambda refused=refused: refused.exchange.fix_button.isVisible())
            grab(refused, f"8-exchange-error{suffix}")
            refused.close()

            # Error: the Redirect URI has a trailing slash amoCRM does not have.
            slash = Prefill(**{**plain.__dict__, "redirect_uri": it.redirect_uri + "/"})
            failing = start(slash, folder / "other.env")
            forward(failing, Step.DETAILS)
            forward(failing, Step.CONSENT)
            wait(lambda failing=failing: failing.consent.loaded_ok)
            failing.consent.browser.page.runJavaScript("document.getElementById('allow').click()", 0)
            wait(lambda failing=failing: failing.exchange.fix_button.isVisible())
            assert failing.exchange.compare is not None
            failing.exchange.compare.registered.setText(it.redirect_uri)
            grab(failing, f"error-redirect-uri-{lang}")
            failing.close()

            # The Redirect URI typo rescued: amoCRM answers at the registered address.
            typo = Prefill(
                **{**plain.__dict__, "redirect_uri": it.redirect_uri.replace("callback", "callbak")}
            )
            rescued = start(typo, folder / "typo.env")
            forward(rescued, Step.DETAILS)
            forward(rescued, Step.CONSENT)
            wait(lambda rescued=rescued: rescued.consent.loaded_ok)
            rescued.consent.view().page().runJavaScript("document.getElementById('allow').click()", 0)
            wait(
                lambda rescued=rescued: (
                    rescued.consent.compare is not None and rescued.consent.compare.isVisible()
                )
            )
            grab(rescued, f"error-redirect-typo-{lang}")
            rescued.close()

            # Error: the 20-minute code pasted after it expired.
            late = start(plain, folder / "late.env")
            forward(late, Step.DETAILS)
            forward(late, Step.CONSENT)
            code = sandbox.issue_code()
            sandbox.advance(21 * 60)
            late.consent.code_edit.setText(code)
            forward(late, Step.EXCHANGE)
            wait(lambda late=late: late.exchange.fix_button.isVisible())
            grab(late, f"error-code-expired-{lang}")
            late.close()

            # Error: the stored refresh token is dead (revoked): Test it fails, Connect again offered.
            dead_env = folder / "dead.env"
            from tests.helpers import connect_sandbox

            EnvFileTarget(dead_env).save(connect_sandbox(sandbox))
            sandbox.revoke_refresh_tokens()
            sandbox.expire_access_tokens()
            dead = start(plain, dead_env)
            wait(lambda dead=dead: dead.welcome.summary_box.isVisible())
            forward(dead, Step.EXCHANGE)
            wait(lambda dead=dead: dead.exchange.fix_button.isVisible())
            grab(dead, f"error-refresh-dead-{lang}")
            dead.close()
        shutil.rmtree(folder, ignore_errors=True)
    for window in windows:
        window.worker.wait_for_threads(10_000)
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    print("\n".join(written))
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    sys.exit(main())
