"""The wizard's shape: Qt-free decisions, lazy imports, accessibility, the self-test."""

from __future__ import annotations

import re
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
from wizard.sandbox import Sandbox
from wizard.ui.model import Step

__all__ = ["make_wizard", "no_browser"]


def test_every_qt_navigation_type_has_a_mapping() -> None:
    from PySide6.QtWebEngineCore import QWebEnginePage

    from wizard.ui.webview import NAVIGATION_KINDS

    members = [m for m in QWebEnginePage.NavigationType]
    assert members and all(m in NAVIGATION_KINDS for m in members)


def test_every_qt_load_status_has_a_mapping() -> None:
    from PySide6.QtWebEngineCore import QWebEngineLoadingInfo

    from wizard.ui.webview import LOAD_STATUSES

    members = [m for m in QWebEngineLoadingInfo.LoadStatus]
    assert members and all(m in LOAD_STATUSES for m in members)


def _shown_wizard(at_first_paint: str, *, prewarm: bool = True) -> str:
    """Script lines that show the wizard and keep ``at_first_paint`` (an expression) as it
    is at the window's first paint, in ``at_paint[0]``."""
    return (
        "import sys\n"
        "from wizard.app import application\n"
        "app = application()\n"
        "from PySide6.QtCore import QEvent, QObject, QTimer\n"
        "from wizard.ui.model import Prefill, TargetChoice, TargetKind\n"
        "from wizard.ui.wizard import SetupWizard\n"
        "w = SetupWizard(Prefill(), TargetChoice(TargetKind.ENV, '/nonexistent/.env'))\n"
        f"w.prewarm_consent = {prewarm}\n"
        "at_paint = []\n"
        "class First(QObject):\n"
        "    def eventFilter(self, obj, event):\n"
        "        if event.type() == QEvent.Type.Paint and not at_paint:\n"
        f"            at_paint.append({at_first_paint})\n"
        "        return False\n"
        "f = First(); w.installEventFilter(f); w.show()\n"
    )


def _printed(code: str) -> dict[str, list[str]]:
    """Run ``code``; its lines that start with an upper-case word, by that word."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    words = (line.split() for line in out.stdout.splitlines() if line[:1].isupper())
    return {first: rest for first, *rest in words}


def test_the_ui_thread_waits_less_for_the_interpreter_only_in_an_application_of_its_own() -> None:
    """Worker jobs hand the interpreter back to the UI thread within 1 ms, not Python's 5 ms;
    a program that embeds the wizard (its own QApplication) keeps its own setting."""
    ours = _printed(
        "import sys\nfrom wizard.app import application\napplication()\n"
        "print('INTERVAL', sys.getswitchinterval())\n"
    )
    host = _printed(
        "import sys\nfrom PySide6.QtWidgets import QApplication\nhost = QApplication([])\n"
        "from wizard.app import application\nassert application() is host\n"
        "print('INTERVAL', sys.getswitchinterval())\n"
    )
    assert float(ours["INTERVAL"][0]) == pytest.approx(0.001)
    assert float(host["INTERVAL"][0]) == pytest.approx(0.005)


def test_the_first_window_appears_without_qtwebengine() -> None:
    """Painted before QtWebEngine (and requests, PyJWT) are imported; the consent page is
    warmed up only after that first paint."""
    printed = _printed(
        _shown_wizard("sorted(sys.modules)")
        + "QTimer.singleShot(3000, app.quit); app.exec()\n"
        + "print('PAINT', ' '.join(at_paint[0]))\n"
        + "print('END', ' '.join(sorted(sys.modules)))\n"
    )
    at_paint, after = set(printed["PAINT"]), set(printed["END"])
    assert "PySide6.QtWidgets" in at_paint
    assert not any(m.startswith("PySide6.QtWebEngine") for m in at_paint)
    assert not {"requests", "jwt", "dotenv", "sqlalchemy"} & at_paint
    # …and once it is up, the consent page is warmed up (QtWebEngine loaded in the background).
    assert any(m.startswith("PySide6.QtWebEngine") for m in after)


def test_the_app_icon_comes_right_after_the_first_paint() -> None:
    """Every rendered size of the icon, set once the window is painted (not before: QIcon
    and its files are not on the first window's path), and a host program's own icon is
    kept when the wizard is embedded."""
    printed = _printed(
        _shown_wizard("app.windowIcon().isNull()", prewarm=False)
        + "QTimer.singleShot(500, app.quit); app.exec()\n"
        + "print('ICON', at_paint[0], *sorted(s.width() for s in app.windowIcon().availableSizes()))\n"
        + "from PySide6.QtGui import QIcon, QPixmap\n"
        + "pixmap = QPixmap(8, 8); pixmap.fill(); app.setWindowIcon(QIcon(pixmap))\n"
        + "w2 = SetupWizard(Prefill(), TargetChoice(TargetKind.ENV, '/nonexistent/.env'))\n"
        + "w2.prewarm_consent = False; w2.show()\n"
        + "QTimer.singleShot(500, app.quit); app.exec()\n"
        + "print('HOST', *sorted(s.width() for s in app.windowIcon().availableSizes()))\n"
    )
    assert printed["ICON"] == ["True", "16", "24", "32", "48", "64", "128", "256"]
    assert printed["HOST"] == ["8"]


def test_with_the_engine_warming_up_the_icon_comes_once_its_first_load_is_over() -> None:
    """With the consent page warmed up after the first paint, the icon waits until that
    empty page has loaded (QIcon's first use would hold up Chromium), then comes whole."""
    printed = _printed(
        _shown_wizard("app.windowIcon().isNull()")
        + "from PySide6.QtCore import QDeadlineTimer, QCoreApplication, QEventLoop\n"
        + "deadline = QDeadlineTimer(30_000)\n"
        + "while app.windowIcon().isNull() and not deadline.hasExpired():\n"
        + "    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        + "consent = w.consent.flow.phase.value\n"
        + "print('ICON', at_paint[0], *sorted(s.width() for s in app.windowIcon().availableSizes()))\n"
        + "print('PHASE', consent)\n"
    )
    assert printed["ICON"] == ["True", "16", "24", "32", "48", "64", "128", "256"]
    assert printed["PHASE"] == ["idle"]  # the warm-up page had loaded when the icon came


def test_without_a_setup_file_the_gui_never_loads_the_ssh_library() -> None:
    """Only ``--setup FILE`` needs wizard.setupfile, which brings paramiko (hundreds of ms)."""
    printed = _printed(
        "import sys, wizard.app\n"
        "from wizard.cli import build_parser\n"
        "options = build_parser().parse_args([])\n"
        "print('READ', wizard.app._read_setup_file(options))\n"
        "print('LOADED', 'paramiko' in sys.modules, 'wizard.setupfile' in sys.modules)\n"
    )
    assert printed["READ"] == ["True"]
    assert printed["LOADED"] == ["False", "False"]


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


def _tab_chain(start: QWidget, count: int) -> list[QWidget]:
    """What Tab visits from ``start`` (visible, enabled, taking Tab focus)."""
    order, widget = [start], start
    for _ in range(count - 1):
        widget = widget.nextInFocusChain()
        while not (
            widget.focusPolicy() & widget.focusPolicy().TabFocus and widget.isVisible() and widget.isEnabled()
        ):
            widget = widget.nextInFocusChain()
        order.append(widget)
    return order


def test_the_welcome_page_tabs_in_reading_order(qtbot, make_wizard, sandbox: Sandbox, connected_env: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), connected_env)
    welcome = wizard.welcome
    qtbot.waitUntil(lambda: welcome.summary_box.isVisible(), timeout=WAIT_MS)
    welcome.toggle_help()
    panel = welcome.help_panel
    target = welcome.target
    reading = [
        welcome.language,
        target._env_radio,
        target._env_path,
        target._browse,
        target._db_radio,
        # the stored connection's choices and the help are built after the first paint,
        # yet Tab reaches them right after the target, before the wizard's own buttons
        welcome.test_radio,
        welcome.renew_radio,
        welcome.again_radio,
        panel.body,
        panel.open_button,
        panel.hide_button,
    ]
    chain = _tab_chain(welcome.language, 14)
    assert [w for w in chain if w in reading] == reading


def test_the_window_fits_a_small_laptop_screen(qtbot, make_wizard, sandbox: Sandbox, tmp_path: Path):
    wizard = make_wizard(sandbox_prefill(sandbox), tmp_path / ".env")
    qtbot.waitUntil(lambda: wizard.welcome.isComplete(), timeout=WAIT_MS)
    assert wizard.width() <= 1366 and wizard.height() <= 700
    assert wizard.minimumSizeHint().width() <= 1366 and wizard.minimumSizeHint().height() <= 700


# --- the Qt Linguist catalogue ---------------------------------------------------------


def _messages(ts: Path) -> dict[tuple[str, str], str | None]:
    import xml.etree.ElementTree as ET

    found: dict[tuple[str, str], str | None] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            unfinished = translation is None or translation.get("type") in (
                "unfinished",
                "obsolete",
                "vanished",
            )
            found[(name, message.findtext("source") or "")] = None if unfinished else translation.text
    return found


def test_the_russian_catalogue_is_complete_and_matches_the_sources(tmp_path: Path) -> None:
    """Every tr() string of wizard/ui and wizard/app.py is in the .ts, translated, with the
    same {placeholders}; regenerate with pyside6-lupdate when this fails."""
    import re
    import shutil

    root = Path(__file__).resolve().parents[2]
    committed = _messages(root / "resources" / "translations" / "amocrm_wizard_ru.ts")
    assert committed and all(committed.values()), [k for k, v in committed.items() if not v]
    for (_context, source), translation in committed.items():
        assert translation is not None
        wanted = set(re.findall(r"\{[^}]*\}", source))
        assert set(re.findall(r"\{[^}]*\}", translation)) == wanted, (source, translation)
        assert translation != source or not any(c.isalpha() for c in re.sub(r"\{[^}]*\}", "", source)), source
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    if not lupdate.exists() and shutil.which("pyside6-lupdate") is None:
        pytest.skip("pyside6-lupdate is not installed")
    fresh = tmp_path / "fresh.ts"
    sources = [
        *sorted(str(p) for p in (root / "wizard" / "ui").glob("*.py")),
        str(root / "wizard" / "app.py"),
    ]
    subprocess.run(
        [str(lupdate) if lupdate.exists() else "pyside6-lupdate", *sources, "-ts", str(fresh)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert set(_messages(fresh)) == set(committed)


# What only a developer reads: table names, query strings, scheduler internals, the .env's key
# names, command-line flags, wire formats. The wizard's admin is told what to do instead.
DEVELOPER_TALK = re.compile(
    r"system_settings|amocrm_tokens|code=|systemd|\bcron\b|crontab|launchd|AMOCRM_|\bcurl\b|\bJSON\b"
    r"|\bHTTP\b|stdin|stdout|exit code| --[a-z]|Exchanging the code|README",
    re.IGNORECASE,
)


def test_the_wizard_speaks_to_an_admin_not_a_developer_in_either_language() -> None:
    root = Path(__file__).resolve().parents[2]
    committed = _messages(root / "resources" / "translations" / "amocrm_wizard_ru.ts")
    talk = [
        text
        for (_context, source), translation in committed.items()
        for text in (source, translation or "")
        if DEVELOPER_TALK.search(text)
    ]
    assert talk == []


def test_a_missing_catalogue_is_compiled_or_the_wizard_speaks_english(tmp_path, monkeypatch, caplog) -> None:
    from wizard.ui import texts

    resources = tmp_path / "resources" / "translations"
    resources.mkdir(parents=True)
    monkeypatch.setattr(texts, "resource_dirs", lambda: [tmp_path / "resources"])
    with caplog.at_level("WARNING", logger="amocrm_wizard"):
        assert texts.catalogue_path("ru") is None  # neither .qm nor .ts: English, and said so
    assert "speaks English" in caplog.text
    root = Path(__file__).resolve().parents[2]
    (resources / "amocrm_wizard_ru.ts").write_bytes(
        (root / "resources" / "translations" / "amocrm_wizard_ru.ts").read_bytes()
    )
    compiled = texts.catalogue_path("ru")  # a checkout that was never set up: compiled now
    if texts._lrelease() is None:
        assert compiled is None
    else:
        assert compiled is not None and compiled.suffix == ".qm" and compiled.stat().st_size > 0


def test_the_frozen_build_finds_its_resources_first(tmp_path, monkeypatch) -> None:
    from wizard.ui import texts

    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert texts.resource_dirs()[0] == tmp_path / "resources"


def test_messages_made_by_the_ui_render_in_either_language(qtbot) -> None:
    from wizard.ui.jobs import unexpected
    from wizard.ui.texts import translate

    error = unexpected(ValueError("boom"))
    assert error.message.render("en") == "Something unexpected went wrong."
    assert error.message.render("ru") == translate("ru", "Messages", "Something unexpected went wrong.")
    assert error.message.render("ru") != error.message.render("en")
    assert "ValueError: boom" in error.detail
