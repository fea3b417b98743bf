"""``--restart-cmd``: restart the backend where it runs, right after new tokens were saved.

For an ssh:// target the command runs on the server over the same SSH connection, through a
login shell (``sh -lc``, so that per-user tools such as pm2 are found); for any other target
it runs here, in the user's shell. Its output is shown as it comes. A failure or a timeout
never undoes the save: it becomes ``RestartFailedError`` (exit 6), raised by the command
after everything else, and it takes precedence over a failure that comes later (the account
test after connect).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TextIO, runtime_checkable

from wizard.core.errors import RestartFailedError, WizardError
from wizard.core.i18n import _, say
from wizard.targets.base import TokenTarget

DEFAULT_TIMEOUT = 120.0
Write = Callable[[str], None]


@runtime_checkable
class RunsRemoteCommands(Protocol):
    """A target that lives on another machine and can run the restart there (ssh://)."""

    @property
    def server(self) -> str: ...

    def run_restart(self, command: str, timeout: float, write: Write) -> int | None: ...


def restart_backend(
    target: TokenTarget, command: str, timeout: float, out: TextIO
) -> RestartFailedError | None:
    """Run ``command`` where the backend lives, saying so on ``out``; the failure to raise later, or None."""

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    place = target.underlying()
    if isinstance(place, RunsRemoteCommands):
        said = _("Restarting the backend on {where}: {command}", where=place.server, command=command)
    else:
        said = _("Restarting the backend here: {command}", command=command)
    say(said, file=out, flush=True)
    failure = run_restart(target, command, timeout, write)
    if failure is None:
        say(_("The backend was restarted."), file=out)
    return failure


def run_restart(target: TokenTarget, command: str, timeout: float, write: Write) -> RestartFailedError | None:
    """``command`` on the target's server (ssh://) or here; its output to ``write``."""
    place = target.underlying()  # the ssh:// target itself, under the credentials wrapper
    if isinstance(place, RunsRemoteCommands):
        where: str = place.server
        status = place.run_restart(command, timeout, write)
    else:
        where = _("this computer")
        status = run_locally(command, timeout, write)
    hint = _(
        "The new tokens are saved in {target}. "
        "Restart the backend yourself, and fix the command for next time.",
        target=target.description,
    )
    if status is None:
        return RestartFailedError(
            _(
                "The restart command did not finish within {seconds:g} s on {where} "
                "and was stopped: {command}",
                seconds=timeout,
                where=where,
                command=command,
            ),
            hint,
        )
    if status != 0:
        return RestartFailedError(
            _(
                "The restart command failed with exit code {status} on {where}: {command}",
                status=status,
                where=where,
                command=command,
            ),
            hint,
        )
    return None


def after_save(options: object, target: TokenTarget, out: TextIO) -> RestartFailedError | None:
    """``--restart-cmd`` of a command line that just saved new tokens (nothing when not given)."""
    command = str(getattr(options, "restart_cmd", None) or "").strip()
    if not command:
        return None
    timeout = getattr(options, "restart_timeout", None) or DEFAULT_TIMEOUT
    return restart_backend(target, command, float(timeout), out)


@contextlib.contextmanager
def takes_precedence(failure: RestartFailedError | None) -> Iterator[None]:
    """A later error is shown, but the restart's failure (exit 6) is what the command exits with."""
    try:
        yield
    except WizardError as later:
        if failure is None:
            raise
        from wizard.cli import report_error

        report_error(later, sys.stderr)
        raise failure from later


def run_locally(command: str, timeout: float, write: Write) -> int | None:
    """``command`` in the user's shell here; its exit status, or None after ``timeout`` seconds."""
    if os.name == "nt":
        process = subprocess.Popen(
            command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    else:
        shell = os.environ.get("SHELL") or "/bin/sh"
        # A session of its own, so that a timeout stops everything the command started.
        process = subprocess.Popen(
            [shell, "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    reader = threading.Thread(target=_pass_on, args=(process, write), daemon=True)
    reader.start()
    try:
        status = process.wait(timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return None
    except BaseException:
        # Ctrl+C (KeyboardInterrupt) or any other way out: the command and everything it
        # started must not outlive the wizard.
        _stop(process)
        raise
    finally:
        reader.join(5)
    return status


def _pass_on(process: subprocess.Popen[bytes], write: Write) -> None:
    stream = process.stdout
    assert stream is not None
    # os.read returns what is there now, so the output is shown as the command prints it.
    for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
        write(chunk.decode("utf-8", errors="replace"))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if os.name == "nt":
        process.kill()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        if os.name != "nt":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class RestartOutcome:
    """A restart run for the wizard's pages: what it printed, and its failure if it failed."""

    command: str
    output: str
    failure: RestartFailedError | None


def restart_captured(target: TokenTarget, command: str, timeout: float = DEFAULT_TIMEOUT) -> RestartOutcome:
    """``run_restart`` with the command's output kept, for a page to show."""
    output: list[str] = []
    failure = run_restart(target, command, timeout, output.append)
    return RestartOutcome(command, "".join(output), failure)
