"""The wheel as users get it: built from the repo, installed into fresh venvs (contract, "Names").

- ``pip install amocrm-wizard`` is headless: no PySide6, every command but the GUI works, and
  the GUI says in one line how to get it.
- ``pip install "amocrm-wizard[gui]"`` shows the Russian wizard with its icons, read from the
  installed package alone (``resources/`` is mapped into it at build time).

Nothing here may see the source tree: the venvs' processes run from a temporary folder
without ``PYTHONPATH``. The ``[gui]`` venv downloads PySide6 (pinned to the version this
suite runs with, so pip's cache or ``PIP_FIND_LINKS`` can serve it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.packaging._load import ROOT
from wizard import cli
from wizard.core.i18n import render
from wizard.sandbox import Sandbox

# Building the wheel and downloading PySide6 into a fresh venv outlast the suite's 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BIN = "Scripts" if sys.platform == "win32" else "bin"
EXE = ".exe" if sys.platform == "win32" else ""
ICON_SIZES = [16, 24, 32, 48, 64, 128, 256]
PIP_TIMEOUT = 900


def _build_tree(dest: Path) -> Path:
    """What the build reads, copied out: a build in the repo would leave build/ behind it."""
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("wizard", "resources"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    return dest


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "AMOCRM_CLIENT_SECRET"}
    }
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_clean_env(**env), capture_output=True, text=True, timeout=timeout, check=False
    )


def _pip(python: Path, *args: str) -> None:
    done = _run([str(python), "-m", "pip", "install", "-q", *args], python.parent, timeout=PIP_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]


def _venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    return folder / BIN / f"python{EXE}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = _build_tree(tmp_path_factory.mktemp("tree"))
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)],
        tree,
        timeout=PIP_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = out.glob("amocrm_wizard-*.whl")
    return found


@pytest.fixture(scope="module")
def headless(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``pip install <wheel>``, no extra: its Python."""
    python = _venv(tmp_path_factory.mktemp("headless") / "venv")
    _pip(python, str(wheel))
    return python


@pytest.fixture(scope="module")
def gui(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``pip install "<wheel>[gui]"``: its Python."""
    try:
        pyside = metadata.version("PySide6")
    except metadata.PackageNotFoundError:
        pytest.skip("this suite runs without PySide6: no version to pin the [gui] venv to")
    python = _venv(tmp_path_factory.mktemp("gui") / "venv")
    _pip(python, f"amocrm-wizard[gui] @ {wheel.as_uri()}", f"PySide6=={pyside}")
    return python


def command(python: Path) -> str:
    return str(python.parent / f"amocrm-wizard{EXE}")


# --- (a) pip install amocrm-wizard: headless -----------------------------------------------


def test_no_qt_is_installed(headless: Path, tmp_path: Path) -> None:
    probe = "import importlib.util as u; print(u.find_spec('PySide6'), u.find_spec('shiboken6'))"
    done = _run([str(headless), "-c", probe], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]


def test_the_wheel_carries_both_catalogues_and_the_icons(headless: Path, tmp_path: Path) -> None:
    probe = (
        "import pathlib, wizard; root = pathlib.Path(wizard.__file__).parent; "
        "print(*sorted(p.relative_to(root).as_posix() for p in root.rglob('*') "
        "if p.suffix in {'.mo', '.qm', '.png', '.svg'}), sep='\\n')"
    )
    done = _run([str(headless), "-c", probe], tmp_path)
    assert done.returncode == 0, done.stderr
    shipped = set(done.stdout.split())
    assert "locale/ru/LC_MESSAGES/amocrm_wizard.mo" in shipped
    assert "resources/translations/amocrm_wizard_ru.qm" in shipped
    assert {f"resources/icons/amocrm-wizard-{size}.png" for size in ICON_SIZES} <= shipped
    assert "resources/icons/amocrm-wizard.svg" in shipped


def test_the_commands_run_against_the_sandbox(
    headless: Path, sandbox: Sandbox, connected_env: Path, tmp_path: Path
) -> None:
    amocrm_wizard = command(headless)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([amocrm_wizard, *args, "--env", str(connected_env)], tmp_path)

    check = run("check")
    assert check.returncode == 0, check.stdout + check.stderr
    status = run("status")
    assert status.returncode == 0 and "days left" in status.stdout, status.stdout + status.stderr

    before = dotenv_values(connected_env)
    sandbox.expire_access_tokens()
    test = run("test")
    assert test.returncode == 0, test.stderr
    assert "Sandbox" in test.stdout and sandbox.stats.refreshes == 1

    refresh = run("refresh")
    assert refresh.returncode == 0, refresh.stderr
    after = dotenv_values(connected_env)
    assert sandbox.stats.refreshes == 2
    assert after["AMOCRM_REFRESH_TOKEN"] not in {None, before["AMOCRM_REFRESH_TOKEN"]}
    assert after["PORT"] == "3000"  # the backend's own line is left alone

    token = run("token")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip() == dotenv_values(connected_env)["AMOCRM_ACCESS_TOKEN"]
    assert sandbox.stats.refreshes == 2  # the stored token was live: no refresh


@pytest.mark.parametrize("args", [[], ["--demo"]], ids=["no command", "--demo"])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_gui_says_in_one_line_how_to_install_it(
    headless: Path, tmp_path: Path, args: list[str], language: str
) -> None:
    done = _run([command(headless), *args], tmp_path, AMOCRM_WIZARD_LANG=language)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == render(cli.GUI_MISSING, language) + "\n"
    assert 'pip install "amocrm-wizard[gui]"' in done.stderr
    assert "Traceback" not in done.stderr


# --- (b) pip install "amocrm-wizard[gui]": the Russian wizard with its icons -------------------

# Runs inside the [gui] venv: shows the wizard in Russian and reports what it shows.
SHOW_THE_WIZARD = r"""
import json, sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QLabel

import wizard
from wizard.app import application
from wizard.ui import texts
from wizard.ui.model import Prefill, TargetChoice, TargetKind
from wizard.ui.wizard import SetupWizard

app = application()
texts.switch_language("ru")
window = SetupWizard(Prefill(), TargetChoice(TargetKind.ENV, sys.argv[1]))
window.show()
deadline = QDeadlineTimer(30_000)  # the icon is set once the first window is painted
while QGuiApplication.windowIcon().isNull() and not deadline.hasExpired():
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
shown = [window.windowTitle()] + [
    w.text() for w in window.findChildren(QLabel) + window.findChildren(QAbstractButton) if w.isVisible()
]
print(json.dumps({
    "package": str(Path(wizard.__file__).resolve().parent),
    "catalogue": str(texts.catalogue_path("ru")),
    "icons": [str(texts.find_resource("icons", f"amocrm-wizard-{n}.png")) for n in (16, 256)],
    "icon_sizes": sorted(s.width() for s in QGuiApplication.windowIcon().availableSizes()),
    "shown": [t for t in shown if t],
}))
window.close()
"""


def _catalogue() -> dict[str, str]:
    """Our Linguist catalogue: English source -> Russian, where the two differ."""
    tree = ET.parse(ROOT / "resources" / "translations" / "amocrm_wizard_ru.ts")
    pairs = {}
    for message in tree.iter("message"):
        source, translation = message.findtext("source") or "", message.findtext("translation") or ""
        if translation and translation != source:
            pairs[source] = translation
    return pairs


def test_the_russian_wizard_shows_with_its_icons(gui: Path, tmp_path: Path) -> None:
    script = tmp_path / "show_the_wizard.py"
    script.write_text(SHOW_THE_WIZARD, encoding="utf-8")
    done = _run(
        [str(gui), str(script), str(tmp_path / ".env")],
        tmp_path,
        timeout=180,
        AMOCRM_WIZARD_LANG="ru",
        QT_QPA_PLATFORM="offscreen",
        AMOCRM_WIZARD_LOG_DIR=str(tmp_path / "logs"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])

    package = Path(seen["package"])
    venv = gui.parent.parent
    assert package.is_relative_to(venv.resolve()), f"imported {package}, not the venv's wizard"
    resources = package / "resources"
    assert Path(seen["catalogue"]) == resources / "translations" / "amocrm_wizard_ru.qm"
    assert [Path(icon) for icon in seen["icons"]] == [
        resources / "icons" / "amocrm-wizard-16.png",
        resources / "icons" / "amocrm-wizard-256.png",
    ]
    assert seen["icon_sizes"] == ICON_SIZES

    catalogue = _catalogue()
    russian = [text for text in seen["shown"] if text in catalogue.values()]
    english = [text for text in seen["shown"] if text in catalogue]
    assert len(russian) >= 3, seen["shown"]
    assert english == [], f"shown in English: {english}"
