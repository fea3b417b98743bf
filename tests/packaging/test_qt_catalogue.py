"""The compiled Qt catalogue is committed, as the gettext ``.mo`` is, and must match its ``.ts``.

A wheel is built without ``pyside6-lrelease`` (and a ``pip install`` of the repo runs no
``scripts/setup.sh``), so the ``.qm`` in git is the one users get. ``lrelease`` writes the same
bytes for the same source, so a stale ``.qm`` shows as a difference here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging._load import ROOT

TRANSLATIONS = ROOT / "resources" / "translations"
SOURCES = sorted(TRANSLATIONS.glob("*.ts"))


def _lrelease() -> str | None:
    beside = Path(sys.executable).with_name("pyside6-lrelease")
    return str(beside) if beside.exists() else shutil.which("pyside6-lrelease")


def test_there_is_a_catalogue() -> None:
    assert [ts.name for ts in SOURCES] == ["amocrm_wizard_ru.ts"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_the_committed_qm_matches_its_ts(source: Path, tmp_path: Path) -> None:
    lrelease = _lrelease()
    if lrelease is None:
        pytest.skip("pyside6-lrelease is not installed (the gui extra)")
    committed = source.with_suffix(".qm")
    fresh = tmp_path / committed.name
    subprocess.run([lrelease, "-silent", str(source), "-qm", str(fresh)], check=True, timeout=120)
    assert committed.exists(), f"{committed.name} is missing: compile it and commit it"
    assert committed.read_bytes() == fresh.read_bytes(), (
        f"{committed.name} is behind {source.name}: "
        f"pyside6-lrelease {source.relative_to(ROOT)} -qm {committed.relative_to(ROOT)}, then commit it"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_the_qm_is_in_git_not_ignored(source: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    qm = source.with_suffix(".qm").relative_to(ROOT).as_posix()
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", qm], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert tracked.returncode == 0, f"{qm} is not committed: a wheel built from a clone would lack it"
