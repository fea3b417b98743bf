"""The wizard's shape: Qt-free decisions, lazy imports, accessibility, the self-test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QWidget

from tests.end2end.gui_fixtures import (
    WAIT_MS,
    make_wizard,
    no_browser,
    press_forward,
    sandbox_prefill,
    wait_for_step,
)
from wizard.core.account import parse_account
from wizard.sandbox import Sandbox
from wizard.ui.model import Step
from wizard.ui.navigation import Kind, NavigationRequest, Verdict, decide

__all__ = ["make_wizard", "no_browser"]

REDIRECT = "https://example.com/amocrm/callback"


def _decide(
    url: str, account: str = "mycompany.amocrm.ru", main: bool = True, kind: Kind = Kind.LINK
) -> Verdict:
    return decide(NavigationRequest(url, main, kind), account=parse_account(account), redirect_uri=REDIRECT)


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://www.amocrm.ru/oauth?client_id=x&state=y", Verdict.FOLLOW),
        ("https://mycompany.amocrm.ru/oauth?client_id=x", Verdict.FOLLOW),
        ("https://www.kommo.com/oauth", Verdict.FOLLOW),
        ("https://other.amocrm.ru/", Verdict.FOLLOW),  # amoCRM's own hosts (login, account picker)
        (REDIRECT + "?code=abc&state=s", Verdict.CAPTURE),
        (REDIRECT + "/?code=abc&state=s", Verdict.CAPTURE),
        ("https://evil.example/phish", Verdict.EXTERNAL),
        ("https://amocrm.ru.evil.example/", Verdict.EXTERNAL),
        ("http://mycompany.amocrm.ru/", Verdict.EXTERNAL),  # plain http is not amoCRM
        ("about:blank", Verdict.FOLLOW),
        ("javascript:alert(1)", Verdict.BLOCK),
    ],
)
def test_navigation_decisions(url: str, verdict: Verdict) -> None:
    assert _decide(url) is verdict


def test_sub_frames_outside_amocrm_are_blocked_without_asking() -> None:
    assert _decide("https://tracker.example/pixel", main=False) is Verdict.BLOCK
    assert _decide(REDIRECT + "?code=x", main=False) is Verdict.BLOCK


def test_a_loopback_account_allows_only_its_own_host_and_port() -> None:
    assert _decide("http://127.0.0.1:8765/oauth", account="http://127.0.0.1:8765") is Verdict.FOLLOW
    assert _decide("http://127.0.0.1:9999/oauth", account="http://127.0.0.1:8765") is Verdict.EXTERNAL


def test_every_qt_navigation_type_has_a_mapping() -> None:
    from PySide6.QtWebEngineCore import QWebEnginePage

    from wizard.ui.webview import NAVIGATION_KINDS

    members = [m for m in QWebEnginePage.NavigationType]
    assert members and all(m in NAVIGATION_KINDS for m in members)


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(out.stdout.split())


def test_importing_the_app_does_not_load_qt() -> None:
    assert not any(m.startswith("PySide6") for m in _imported_after("import wizard.app"))


def test_the_first_window_appears_without_qtwebengine() -> None:
    """Painted before QtWebEngine (and requests, PyJWT) are imported; the consent page is
    warmed up only after that first paint."""
    code = (
        "import sys\n"
        "from wizard.app import application\n"
        "app = application()\n"
        "from PySide6.QtCore import QEvent, QObject, QTimer\n"
        "from wizard.ui.model import Prefill, TargetChoice, TargetKind\n"
        "from wizard.ui.wizard import SetupWizard\n"
        "w = SetupWizard(Prefill(), TargetChoice(TargetKind.ENV, '/nonexistent/.env'))\n"
        "at_paint = []\n"
        "class First(QObject):\n"
        "    def eventFilter(self, obj, event):\n"
        "        if event.type() == QEvent.Type.Paint and not at_paint:\n"
        "            at_paint.append(sorted(sys.modules))\n"
        "        return False\n"
        "f = First(); w.installEventFilter(f); w.show()\n"
        "QTimer.singleShot(3000, app.quit); app.exec()\n"
        "print('PAINT', ' '.join(at_paint[0]))\n"
        "print('END', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("PAINT "))
    at_paint = set(line.split()[1:])
    end = next(line for line in out.stdout.splitlines() if line.startswith("END "))
    after = set(end.split()[1:])
    assert "PySide6.QtWidgets" in at_paint
    assert not any(m.startswith("PySide6.QtWebEngine") for m in at_paint)
    assert not {"requests", "jwt", "dotenv", "sqlalchemy"} & at_paint
    # …and once it is up, the consent page is warmed up (QtWebEngine loaded in the background).
    assert any(m.startswith("PySide6.QtWebEngine") for m in after)


def test_self_test_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wizard", "--self-test"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Self-test passed" in result.stdout


def test_every_input_has_an_accessible_name_and_tab_order_follows_reading_order(
    qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path
):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    press_forward(qtbot, wizard)
    wait_for_step(qtbot, wizard, Step.DETAILS)
    details = wizard.details
    names = [details.account, details.client_id, details.secret, details.redirect]
    assert [e.accessibleName() for e in names] == [
        "Account address",
        "Client ID",
        "Client secret",
        "Redirect URI",
    ]
    assert all(e.accessibleDescription() for e in names)
    assert details.secret.echoMode() == QLineEdit.EchoMode.Password
    details.show_secret.click()
    assert details.secret.echoMode() == QLineEdit.EchoMode.Normal
    # Tab walks the fields top to bottom (the show-secret box sits between secret and URI).
    details.account.setFocus()
    order: list[QWidget] = [details.account]
    widget = details.account
    for _ in range(4):
        widget = widget.nextInFocusChain()
        while not (widget.focusPolicy() & widget.focusPolicy().TabFocus) or not widget.isVisible():
            widget = widget.nextInFocusChain()
        order.append(widget)
    assert order == [
        details.account,
        details.client_id,
        details.secret,
        details.show_secret,
        details.redirect,
    ]
    # Inline validation as the admin types: a wrong Client ID is explained, Next is disabled.
    details.client_id.clear()
    qtbot.keyClicks(details.client_id, "not-a-uuid")
    assert "should look like" in details.fields[1].status.text()
    assert not details.isComplete()
    wizard.build_all_pages()
    for page_id in wizard.pageIds():
        for child in wizard.page(page_id).findChildren(QLineEdit):
            assert child.accessibleName(), f"a field on page {page_id} has no accessible name"
        for button in wizard.page(page_id).findChildren(QAbstractButton):
            assert button.text() or button.accessibleName()


def test_the_window_fits_a_small_laptop_screen(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    qtbot.waitUntil(lambda: wizard.welcome.isComplete(), timeout=WAIT_MS)
    assert wizard.width() <= 1366 and wizard.height() <= 700
    assert wizard.minimumSizeHint().width() <= 1366 and wizard.minimumSizeHint().height() <= 700
