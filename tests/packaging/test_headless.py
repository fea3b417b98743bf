"""The GUI started where PySide6 is missing, quickly: PySide6 (or a piece of it) blocked in
``sys.modules`` of a subprocess. ``test_wheel.py`` checks the same in a real headless venv."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.packaging._load import ROOT
from wizard import cli
from wizard.core.i18n import render


def _gui_without(module: str, args: list[str], language: str) -> subprocess.CompletedProcess[str]:
    script = (
        f"import sys; sys.modules[{module!r}] = None; from wizard.cli import main; sys.exit(main({args!r}))"
    )
    env = {**os.environ, "AMOCRM_WIZARD_LANG": language}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("args", [[], ["--demo"], ["--self-test"]])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_without_pyside6_the_gui_says_how_to_install_it(args: list[str], language: str) -> None:
    done = _gui_without("PySide6", args, language)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == render(cli.GUI_MISSING, language) + "\n"
    assert 'pip install "amocrm-wizard[gui]"' in done.stderr


def test_another_missing_module_is_not_taken_for_a_headless_install() -> None:
    done = _gui_without("shiboken6", [], "en")
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr and "shiboken6" in done.stderr
    assert 'pip install "amocrm-wizard[gui]"' not in done.stderr


def test_the_hint_is_translated() -> None:
    assert render(cli.GUI_MISSING, "ru") != render(cli.GUI_MISSING, "en")
    assert 'pip install "amocrm-wizard[gui]"' in render(cli.GUI_MISSING, "ru")
