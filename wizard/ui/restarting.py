"""The backend's restart in the wizard: the command remembered per target, and what the Done
page says about it. The restart itself is ``wizard.restart`` (the CLI's ``--restart-cmd``)."""

from __future__ import annotations

import json

from PySide6.QtCore import QCoreApplication

from wizard.core.i18n import render
from wizard.restart import RestartOutcome
from wizard.ui.model import Session
from wizard.ui.widgets import settings

SETTINGS_RESTART_COMMANDS = "restart_commands"  # JSON: target (path or URL) → command
OUTPUT_LINES = 8  # the end of the command's output shown on the Done page


def _remembered() -> dict[str, str]:
    try:
        found = json.loads(str(settings().value(SETTINGS_RESTART_COMMANDS, "") or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _remembered_command(target: str) -> str:
    return _remembered().get(target, "")


def restart_command(session: Session) -> str:
    """The restart command for this run: a setup file's (or the flag's), else the one
    remembered for the session's target."""
    return session.restart_cmd or _remembered_command(session.target.value)


def remember_command(target: str, command: str) -> None:
    commands = _remembered()
    if command:
        commands[target] = command
    else:
        commands.pop(target, None)
    settings().setValue(SETTINGS_RESTART_COMMANDS, json.dumps(commands))


def outcome_note(outcome: RestartOutcome) -> str:
    """One paragraph for the Done page: restarted or not, and the output's last lines."""
    if outcome.failure is None:
        text = QCoreApplication.translate("Restart", "The backend was restarted: {command}").format(
            command=outcome.command
        )
    else:
        text = QCoreApplication.translate(
            "Restart", "The tokens are saved, but the backend was not restarted. {reason}"
        ).format(reason=render(outcome.failure.message))
    tail = outcome.output.strip().splitlines()[-OUTPUT_LINES:]
    return "\n".join([text, *tail])
