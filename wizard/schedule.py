"""Scheduled renewal: keep the refresh token alive without anybody remembering to.

A refresh token unused for 3 months dies. A daily ``amocrm-wizard refresh
--if-older-than 30d`` renews it once a month. This module writes that job for the
admin's own user (no admin rights): a systemd user timer or a crontab line on Linux, a
launchd agent on macOS, a Task Scheduler task on Windows. No library does this across the
three systems, so it is written here; every step is a plain file or a documented command.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wizard.core.errors import ScheduleError
from wizard.core.i18n import _

__all__ = ["ScheduleError", "SchedulePlan", "install", "plan", "program", "renewal_command"]

JOB_NAME = "amocrm-wizard-renew"
DEFAULT_AGE = "30d"


@dataclass(frozen=True)
class SchedulePlan:
    """What would be set up, for showing before doing it."""

    kind: str  # "systemd", "cron", "launchd" or "schtasks"
    description: str
    command: list[str]
    files: dict[Path, str] = field(default_factory=dict)
    #: Commands run after the files are written, in order.
    steps: list[list[str]] = field(default_factory=list)


def renewal_command(target_args: list[str], executable: list[str] | None = None) -> list[str]:
    """The command the job runs, e.g. ``[amocrm-wizard, refresh, --if-older-than, 30d, --env, PATH]``."""
    return [*(executable or program()), "refresh", "--if-older-than", DEFAULT_AGE, *target_args]


def program() -> list[str]:
    """How to start this very program again: the frozen binary, the script, or the module."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = shutil.which("amocrm-wizard")
    return [script] if script else [sys.executable, "-m", "wizard"]


def plan(target_args: list[str], platform: str | None = None, home: Path | None = None) -> SchedulePlan:
    platform = platform or sys.platform
    home = home or Path.home()
    command = renewal_command(target_args)
    if platform == "win32":
        return _schtasks(command)
    if platform == "darwin":
        return _launchd(command, home)
    if shutil.which("systemctl") and _systemd_user_available():
        return _systemd(command, home)
    return _cron(command)


def install(setup: SchedulePlan) -> None:
    """Write the files and run the steps; raise ``ScheduleError`` in plain words on failure."""
    for path, text in setup.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for step in setup.steps:
        _run(step)
    if setup.kind == "cron":
        _install_cron_line(setup.command)


def _systemd(command: list[str], home: Path) -> SchedulePlan:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "systemd" / "user"
    service = (
        "[Unit]\nDescription=Renew the amoCRM tokens before the refresh token dies\n\n"
        f"[Service]\nType=oneshot\nExecStart={shlex.join(command)}\n"
    )
    timer = (
        "[Unit]\nDescription=Daily check of the amoCRM tokens\n\n"
        "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1h\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return SchedulePlan(
        "systemd",
        _(
            "A systemd user timer runs the renewal once a day "
            "(it renews only when the tokens are 30 days old)."
        ),
        command,
        {config / f"{JOB_NAME}.service": service, config / f"{JOB_NAME}.timer": timer},
        [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", f"{JOB_NAME}.timer"],
        ],
    )


def cron_line(command: list[str]) -> str:
    return f"17 4 * * * {shlex.join(command)}  # {JOB_NAME}"


def _cron(command: list[str]) -> SchedulePlan:
    return SchedulePlan(
        "cron",
        _(
            "A line in your crontab runs the renewal every night at 04:17: {cron_line}",
            cron_line=cron_line(command),
        ),
        command,
    )


def _install_cron_line(command: list[str]) -> None:
    if not shutil.which("crontab"):
        raise ScheduleError(
            _("Neither a systemd user session nor cron is available on this computer."),
            _("Run this daily by other means: {command}", command=shlex.join(command)),
        )
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False, env=_child_env())
    lines = [line for line in current.stdout.splitlines() if not line.endswith(f"# {JOB_NAME}")]
    lines.append(cron_line(command))
    _run(["crontab", "-"], stdin="\n".join(lines) + "\n")


def _launchd(command: list[str], home: Path) -> SchedulePlan:
    label = f"ru.amocrm-wizard.{JOB_NAME}"
    agent = {
        "Label": label,
        "ProgramArguments": command,
        "StartCalendarInterval": {"Hour": 4, "Minute": 17},
    }
    path = home / "Library" / "LaunchAgents" / f"{label}.plist"
    return SchedulePlan(
        "launchd",
        _("A launchd agent runs the renewal every night at 04:17."),
        command,
        {path: plistlib.dumps(agent).decode("utf-8")},
        [["launchctl", "unload", str(path)], ["launchctl", "load", str(path)]],
    )


def _schtasks(command: list[str]) -> SchedulePlan:
    return SchedulePlan(
        "schtasks",
        _("A Task Scheduler task runs the renewal every night at 04:17."),
        command,
        steps=[
            [
                "schtasks",
                "/Create",
                "/F",
                "/SC",
                "DAILY",
                "/ST",
                "04:17",
                "/TN",
                JOB_NAME,
                "/TR",
                subprocess.list2cmdline(command),
            ]
        ],
    )


def _systemd_user_available() -> bool:
    try:
        probe = subprocess.run(
            ["systemctl", "--user", "is-system-running"],
            capture_output=True,
            timeout=5,
            check=False,
            env=_child_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    # "degraded" still has a working user manager; "offline" or an error means none.
    return probe.stdout.strip() in (b"running", b"degraded", b"starting")


def _child_env() -> dict[str, str]:
    """The environment for system tools. A frozen Linux build points LD_LIBRARY_PATH at its
    own bundled libraries; crontab or systemctl must get the system's own (PyInstaller keeps
    the original in LD_LIBRARY_PATH_ORIG)."""
    env = dict(os.environ)
    if getattr(sys, "frozen", False) and "LD_LIBRARY_PATH" in env:
        original = env.pop("LD_LIBRARY_PATH_ORIG", None)
        if original:
            env["LD_LIBRARY_PATH"] = original
        else:
            del env["LD_LIBRARY_PATH"]
    return env


def _run(step: list[str], stdin: str | None = None) -> None:
    try:
        result = subprocess.run(
            step, input=stdin, capture_output=True, text=True, timeout=30, check=False, env=_child_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(
            _("Could not run {program}.", program=step[0]), _("Set the renewal up by hand (see the README).")
        ) from exc
    # launchctl unload of a job that is not loaded yet fails harmlessly.
    if result.returncode != 0 and step[:2] != ["launchctl", "unload"]:
        raise ScheduleError(
            _(
                "{program} refused: {reason}.",
                program=step[0],
                reason=result.stderr.strip() or result.returncode,
            ),
            _("Set the renewal up by hand (see the README)."),
        )
