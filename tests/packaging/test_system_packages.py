"""``scripts/system-packages.sh``: what ``scripts/setup.sh`` installs with apt, under the name
the machine's release gives each package.

Debian 12 and Ubuntu 24.04 cannot both be this machine, so the script runs against a
stand-in ``dpkg-query``/``apt-cache`` on PATH that answers as each release would, and a
stand-in ``python3`` with or without ensurepip (as a fresh Debian/Ubuntu has it: without).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-packages.sh"
UBUNTU_24_04 = ["libasound2t64", "python3.12-venv", "python3-venv"]  # libasound2 is purely virtual
DEBIAN_12 = ["libasound2", "python3.11-venv", "python3-venv"]


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def plan(
    tmp_path: Path, *, apt_knows: list[str], installed: list[str], ensurepip: bool, version: str
) -> list[str]:
    """The script's answer on a machine where apt knows and dpkg has installed just these."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    known = "|".join(apt_knows) or "-"
    done = "|".join(installed) or "-"
    _stub(stubs, "apt-cache", f'for p; do :; done\ncase "$p" in {known}) echo "Package: $p";; esac\n')
    _stub(
        stubs, "dpkg-query", f'for p; do :; done\ncase "$p" in {done}) printf "install ok installed";; esac\n'
    )
    pip = "" if ensurepip else "import sys; sys.exit(1) if 'ensurepip' in sys.argv[-1] else None\n"
    python = tmp_path / "python3"
    python.write_text(
        f"#!{sys.executable}\nimport sys\n{pip}if sys.argv[-1].startswith('import sys'): print('{version}')\n"
    )
    python.chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(python)}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_on_a_fresh_ubuntu_24_04_it_names_libasound2t64_and_the_venv_package(tmp_path: Path) -> None:
    wanted = plan(tmp_path, apt_knows=UBUNTU_24_04, installed=[], ensurepip=False, version="3.12")
    assert "libasound2t64" in wanted and "libasound2" not in wanted
    assert "python3.12-venv" in wanted
    assert "libnss3" in wanted and "xvfb" in wanted


def test_on_a_fresh_debian_12_it_names_libasound2_and_the_venv_package(tmp_path: Path) -> None:
    wanted = plan(tmp_path, apt_knows=DEBIAN_12, installed=[], ensurepip=False, version="3.11")
    assert "libasound2" in wanted and "libasound2t64" not in wanted
    assert "python3.11-venv" in wanted


def test_before_apt_get_update_the_first_names_are_guessed(tmp_path: Path) -> None:
    wanted = plan(tmp_path, apt_knows=[], installed=[], ensurepip=False, version="3.12")
    assert "libasound2t64" in wanted and "python3-venv" in wanted


@pytest.mark.parametrize("alsa", ["libasound2", "libasound2t64"])
def test_what_is_installed_under_either_name_is_not_asked_for(tmp_path: Path, alsa: str) -> None:
    wanted = plan(
        tmp_path, apt_knows=UBUNTU_24_04, installed=[alsa, "libnss3"], ensurepip=True, version="3.12"
    )
    assert not {"libasound2", "libasound2t64", "libnss3"} & set(wanted)
    assert not [name for name in wanted if name.endswith("-venv")]
    assert "xvfb" in wanted


def test_this_machine_needs_nothing_setup_sh_has_not_installed() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
