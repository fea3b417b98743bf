"""The GUI entry point: ``wizard.app.main(argv) -> int`` (contract, "Embedding").

The command line is read by the one parser of :mod:`wizard.cli`. QtWebEngine is imported
only when the consent page is built (after the first window is painted) or by ``--self-test``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, Qt, QTimer, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog

from wizard.cli import build_parser
from wizard.core.i18n import current_language
from wizard.ui.model import Prefill, TargetChoice, TargetKind
from wizard.ui.texts import startup_language, switch_language
from wizard.ui.widgets import SETTINGS_ENV_PATH, settings
from wizard.ui.wizard import SetupWizard

SELF_TEST_TIMEOUT_MS = 30_000
#: Seconds a worker thread may keep the interpreter once the UI thread wants it.
UI_SWITCH_INTERVAL = 0.001


def main(argv: list[str]) -> int:
    """The wizard, for a program that embeds it: ``argv`` as on the command line."""
    return run(build_parser().parse_args(argv))


def run(options: argparse.Namespace) -> int:
    """The wizard for a command line already read (``amocrm-wizard`` without a command)."""
    _prepare_environment(headless=bool(options.self_test))
    app = application()
    if options.self_test:
        return self_test(app)

    sandbox = None
    if options.demo:
        from wizard.sandbox import Sandbox  # only the demo runs it, and it is not small

        sandbox = Sandbox().start()
    prefill = None
    try:
        if not _read_setup_file(options):
            return 2
        prefill, target = _prefill(options, sandbox)
        return _run(prefill, target)
    finally:
        if sandbox is not None:
            sandbox.stop()
        if prefill is not None and prefill.demo_folder:
            import shutil

            # The demo's tokens point at a sandbox that is gone now: nothing to keep.
            shutil.rmtree(prefill.demo_folder, ignore_errors=True)


def _prepare_environment(*, headless: bool) -> None:
    """Before any QApplication exists: what Chromium and Qt need to start here."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to run its sandbox as root (containers, CI); the consent page
        # is amoCRM's own or the local sandbox's, never arbitrary sites.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    if headless and QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")


def application() -> QApplication:
    """The QApplication that exists already, or a new one set up for QtWebEngine."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # QtWebEngine is imported after the QApplication exists (lazily): it needs shared contexts.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    QCoreApplication.setOrganizationName("amocrm-wizard")
    QCoreApplication.setApplicationName("amocrm-wizard")
    app = QApplication([sys.argv[0] if sys.argv else "amocrm-wizard"])
    # Wayland docks match the window to the installed amocrm-wizard.desktop by this name.
    # The icon itself is set once the first window is painted (wizard.ui.texts.set_app_icon).
    QGuiApplication.setDesktopFileName("amocrm-wizard")
    # Worker jobs run Python (imports, parsing) while this thread draws the window and runs
    # Chromium's browser side. Python lets a thread that holds the interpreter keep it for
    # up to 5 ms after the UI thread asks for it; 1 ms keeps the window and the page
    # loading in it from stalling behind a job. Only in a QApplication of our own: a
    # program that embeds the wizard with its own QApplication keeps its setting (one that
    # calls main() without one hands the process's GUI to the wizard, and this with it).
    sys.setswitchinterval(UI_SWITCH_INTERVAL)
    return app


def _read_setup_file(options: argparse.Namespace) -> bool:
    """``--setup FILE`` becomes the same prefill as the flags; a bad file is shown, not opened."""
    if not getattr(options, "setup", None):
        return True  # setupfile brings the SSH library (paramiko): only a setup file needs it
    from wizard.core.errors import WizardError
    from wizard.setupfile import apply_setup

    try:
        apply_setup(options)
    except WizardError as error:
        from PySide6.QtWidgets import QMessageBox

        from wizard.core.catalogue import describe

        failure = describe(error)
        QMessageBox.critical(None, failure.title, f"{failure.explanation}\n\n{failure.fix}")
        return False
    return True


def _prefill(options: argparse.Namespace, sandbox: object | None) -> tuple[Prefill, TargetChoice]:
    prefill = Prefill(
        account=options.account or "",
        client_id=options.client_id or "",
        redirect_uri=options.redirect_uri or "",
        restart_cmd=getattr(options, "restart_cmd", None) or "",
    )
    if sandbox is not None:
        from wizard.sandbox import Sandbox

        assert isinstance(sandbox, Sandbox)
        it = sandbox.integration
        folder = tempfile.mkdtemp(prefix="amocrm-wizard-demo-")
        prefill.account = prefill.account or sandbox.base_url
        prefill.client_id = prefill.client_id or it.client_id
        prefill.client_secret = it.client_secret
        prefill.redirect_uri = prefill.redirect_uri or it.redirect_uri
        prefill.demo_base_url = sandbox.base_url
        prefill.demo_folder = folder
        default_env = str(Path(folder) / ".env")
    elif options.env or options.db:
        default_env = ""  # the flags say where; the remembered path is not needed
    else:
        remembered = str(settings().value(SETTINGS_ENV_PATH, "") or "")
        default_env = remembered or str(Path.cwd() / ".env")
    if options.db:
        target = TargetChoice(TargetKind.DB, options.db)
    else:
        target = TargetChoice(TargetKind.ENV, options.env or default_env)
    return prefill, target


def _run(prefill: Prefill, target: TargetChoice) -> int:
    # AMOCRM_WIZARD_LANG, else the admin's last choice, else the system's.
    language = startup_language()
    if language != "en" or current_language() != "en":
        switch_language(language)

    wizard = SetupWizard(prefill, target)
    loop = QEventLoop()
    wizard.finished.connect(loop.quit)
    wizard.show()
    loop.exec()
    wizard.worker.cancel_all()
    wizard.worker.wait_for_threads(3000)
    accepted = wizard.result() == QDialog.DialogCode.Accepted
    wizard.deleteLater()
    # Delete now, while the QApplication lives: web pages must go before their profiles.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return 0 if accepted else 1


def self_test(app: QApplication) -> int:
    """Headless check that Qt, QtWebEngine and the consent page work on this machine."""
    try:  # QtWebEngine may be missing from a trimmed install: that is what this finds out
        from PySide6.QtWebEngineCore import qWebEngineChromiumVersion

        from wizard.sandbox import Sandbox
        from wizard.ui.webview import ConsentBrowser
    except ImportError as exc:
        print(f"Self-test failed: {exc}", file=sys.stderr)
        return 1

    from wizard.core.account import parse_account
    from wizard.core.navigation import decide

    outcome: dict[str, str] = {}
    with Sandbox() as sandbox:
        account = parse_account(sandbox.base_url)
        browser = ConsentBrowser()
        browser.page.set_decider(
            lambda request: decide(request, account=account, redirect_uri=sandbox.integration.redirect_uri)
        )
        loop = QEventLoop()

        def finish(error: str = "") -> None:
            outcome.setdefault("error", error)
            loop.quit()

        def on_script_result(found: object) -> None:
            finish("" if found is True else "the consent page has no Allow button")

        def on_load_finished(ok: bool, browser: ConsentBrowser = browser) -> None:
            if not ok:
                finish("the consent page did not load")
                return
            browser.page.runJavaScript("document.getElementById('allow') !== null", 0, on_script_result)

        browser.page.loadFinished.connect(on_load_finished)
        QTimer.singleShot(SELF_TEST_TIMEOUT_MS, lambda: finish("timed out after 30 s"))
        browser.resize(800, 600)
        browser.show()
        browser.load(sandbox.consent_url("self-test"))
        loop.exec()
        browser.close()
        browser.deleteLater()
        del browser
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if outcome.get("error"):
        print(f"Self-test failed: {outcome['error']}.", file=sys.stderr)
        return 1
    version: object = qWebEngineChromiumVersion()  # PySide's stub says bytes; it returns str
    chromium = (
        bytes(version).decode() if isinstance(version, bytes | bytearray | memoryview) else str(version)
    )
    print(f"Self-test passed: Qt {qVersion()}, Chromium {chromium}, consent page loaded.")
    return 0
