"""Scheduled renewal: what is written for each OS, and the crontab edit keeping other lines."""

from __future__ import annotations

import os
import plistlib
import stat
import subprocess
from pathlib import Path

import pytest

from wizard import schedule


def test_the_job_renews_only_when_due_and_names_the_target() -> None:
    command = schedule.renewal_command(["--env", "/srv/b/.env"], executable=["/usr/bin/amocrm-wizard"])
    assert command == ["/usr/bin/amocrm-wizard", "refresh", "--if-older-than", "30d", "--env", "/srv/b/.env"]


def test_launchd_and_schtasks_plans(tmp_path: Path) -> None:
    mac = schedule.plan(["--env", "/Users/a/b & c/.env"], platform="darwin", home=tmp_path)
    ((plist_path, plist),) = mac.files.items()
    assert plist_path.parent == tmp_path / "Library" / "LaunchAgents"
    assert "<string>/Users/a/b &amp; c/.env</string>" in plist and "StartCalendarInterval" in plist
    agent = plistlib.loads(plist.encode())
    assert agent["ProgramArguments"][-2:] == ["--env", "/Users/a/b & c/.env"]
    assert agent["StartCalendarInterval"] == {"Hour": 4, "Minute": 17}
    win = schedule.plan(["--env", r"C:\backend\.env"], platform="win32")
    assert win.steps[0][:3] == ["schtasks", "/Create", "/F"] and r"C:\backend\.env" in win.steps[0][-1]


def test_systemd_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    setup = schedule._systemd(
        ["/usr/bin/amocrm-wizard", "refresh", "--env", "/srv/my backend/.env"], tmp_path
    )
    service = setup.files[tmp_path / "systemd" / "user" / "amocrm-wizard-renew.service"]
    assert "ExecStart=/usr/bin/amocrm-wizard refresh --env '/srv/my backend/.env'" in service
    timer = setup.files[tmp_path / "systemd" / "user" / "amocrm-wizard-renew.timer"]
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer


def test_cron_install_replaces_only_its_own_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A crontab program of our own on PATH: editing the machine's real crontab from a test
    # would leave traces on the CI host.
    book = tmp_path / "crontab.txt"
    book.write_text("0 1 * * * backup.sh\n5 4 * * * old  # amocrm-wizard-renew\n")
    fake = tmp_path / "bin" / "crontab"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat "{book}"; else cat > "{book}"; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    setup = schedule._cron(
        ["/usr/bin/amocrm-wizard", "refresh", "--if-older-than", "30d", "--env", "/srv/.env"]
    )
    schedule.install(setup)
    lines = book.read_text().splitlines()
    assert lines == [
        "0 1 * * * backup.sh",
        "17 4 * * * /usr/bin/amocrm-wizard refresh --if-older-than 30d --env /srv/.env  # amocrm-wizard-renew",
    ]
    assert (
        subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout.count("amocrm-wizard-renew")
        == 1
    )


def test_a_frozen_build_gives_system_tools_the_systems_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/amocrm-wizard/_internal")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/local/lib")
    assert schedule._child_env()["LD_LIBRARY_PATH"] == "/usr/local/lib"
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG")
    assert "LD_LIBRARY_PATH" not in schedule._child_env()
    monkeypatch.setattr(sys, "frozen", False)
    assert schedule._child_env()["LD_LIBRARY_PATH"] == "/opt/amocrm-wizard/_internal"


def test_a_launchd_argument_xml_would_misread_survives_the_plist() -> None:
    # Whatever the path holds, launchd reads back the argument exactly as given.
    odd = '/srv/"it\'s" <b>/файл\t.env'
    agent = plistlib.loads(
        schedule.plan(["--env", odd], platform="darwin", home=Path("/h")).files.popitem()[1].encode()
    )
    assert agent["ProgramArguments"][-1] == odd


def test_its_error_is_in_the_error_tree() -> None:
    from wizard.core.errors import WizardError

    assert issubclass(schedule.ScheduleError, WizardError) and schedule.ScheduleError.exit_code == 1
