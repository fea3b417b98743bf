"""The ``amocrm-wizard`` command: the GUI by default, headless subcommands for scripts.

Every failure is a ``WizardError``; ``main`` turns it into a message and the contract's
exit code in one place. Qt is imported only when the GUI is asked for, so the headless
commands start quickly.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TextIO

from wizard import __version__
from wizard.core.errors import WizardError
from wizard.core.i18n import _, render, say

__all__ = ["SUBCOMMANDS", "build_parser", "main", "report_error", "say"]

#: The headless commands, as ``build_parser`` names them (``wizard.commands.COMMANDS`` runs them).
SUBCOMMANDS = ("connect", "check", "test", "refresh", "status", "token", "export-setup", "sandbox")


# --- arguments ------------------------------------------------------------------------


# The same options may come before or after the command. A subcommand's copy defaults to
# SUPPRESS so that leaving it out there does not wipe a value given before the command.
def _add_target(parser: argparse.ArgumentParser, top: bool = False) -> None:
    default = None if top else argparse.SUPPRESS
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--env",
        metavar="PATH",
        default=default,
        help="a .env file (default: .env in the current folder)",
    )
    group.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="a database: sqlite:///file.db, postgresql://…, mysql://…",
    )
    _add_ssh(parser, default)


def _add_ssh(parser: argparse.ArgumentParser, default: object) -> None:
    """For ``--env ssh://…``; the password or passphrase comes from AMOCRM_SSH_PASSWORD only."""
    parser.add_argument(
        "--ssh-key", metavar="PATH", default=default, help="a private key for an ssh:// target"
    )
    parser.add_argument(
        "--ssh-host-key",
        metavar="SHA256:…",
        default=default,
        help="the fingerprint of an ssh:// server not yet in ~/.ssh/known_hosts, after checking it",
    )


def _add_restart(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--restart-cmd",
        metavar="COMMAND",
        help="restart the backend after new tokens were saved, e.g. 'pm2 restart backend' "
        "(on the server for an ssh:// target)",
    )
    parser.add_argument(
        "--restart-timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=120.0,
        help="stop the restart command after this long (default: 120)",
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 1 to 86400")
    return value


def _add_integration(parser: argparse.ArgumentParser, top: bool = False) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--account", default=default, help="account address, e.g. mycompany or mycompany.amocrm.ru"
    )
    parser.add_argument("--client-id", default=default, help="the integration ID (a UUID)")
    parser.add_argument(
        "--redirect-uri", default=default, help="the redirect URI exactly as registered in amoCRM"
    )


def _top_level_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amocrm-wizard",
        description="Connect an amoCRM or Kommo account to your backend. "
        "Without a command, opens the wizard.",
    )
    parser.add_argument("--version", action="version", version=f"amocrm-wizard {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the wizard against the built-in sandbox")
    parser.add_argument("--self-test", action="store_true", help="check that the GUI can start, then exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to the terminal too")
    parser.add_argument(
        "--setup", metavar="FILE", help="open the wizard filled in from a *.amocrm-setup file"
    )
    _add_integration(parser, top=True)
    _add_target(parser, top=True)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The one parser of the command line; the wizard (``wizard.app``) reads its flags too."""
    parser = _top_level_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    connect = sub.add_parser("connect", help="connect headlessly with a code or a redirect address")
    _add_integration(connect)
    _add_target(connect)
    source = connect.add_mutually_exclusive_group()
    source.add_argument("--code", help="the 20-minute code from the integration's Keys and scopes tab")
    source.add_argument("--redirect-url", help="the whole address amoCRM redirected the browser to")
    connect.add_argument(
        "--client-secret-stdin", action="store_true", help="read the client secret from stdin"
    )
    _add_restart(connect)

    for name, text in (
        ("check", "list every key, secrets masked; exit 0 only if all are present"),
        ("test", "call the account API, renewing the tokens once if they were refused"),
        ("status", "when the access token expires and how long the refresh token has left"),
    ):
        command = sub.add_parser(name, help=text)
        _add_target(command)
        _add_integration(command)
    refresh = sub.add_parser("refresh", help="renew the tokens now and store the new pair")
    _add_target(refresh)
    _add_integration(refresh)
    refresh.add_argument(
        "--if-older-than",
        metavar="AGE",
        type=_duration,
        help="renew only if the pair is older, e.g. 30d or 12h",
    )
    _add_token_parser(sub)
    _add_restart(refresh)
    export = sub.add_parser(
        "export-setup", help="write a *.amocrm-setup file for an admin from a working target"
    )
    _add_target(export)
    _add_integration(export)
    export.add_argument("--output", metavar="FILE", help="where to write it (default: standard output)")
    export.add_argument("--restart-cmd", metavar="COMMAND", help="the backend's restart command to include")
    sandbox = sub.add_parser("sandbox", help="run the built-in amoCRM sandbox on loopback")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--rate-limit", type=float, default=None, help="requests per second before 429")
    _add_verbose(sub)
    return parser


def _add_verbose(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """-v after the command as well as before it; SUPPRESS as in ``_add_target``."""
    for command in sub.choices.values():
        command.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log to the terminal too"
        )


def _add_token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser(
        "token", help="print a live access token for a backend in any language (a credential helper)"
    )
    _add_target(token)
    _add_integration(token)
    token.add_argument(
        "--min-valid",
        metavar="SECONDS",
        type=_min_valid,
        default=DEFAULT_MIN_VALID,
        help=f"renew first when the token expires within this many seconds "
        f"(default {DEFAULT_MIN_VALID}, at most {MAX_MIN_VALID})",
    )
    token.add_argument(
        "--stale",
        action="store_true",
        help="read the token a request was just refused with from stdin; renew if it is still the stored one",
    )
    token.add_argument(
        "--json", action="store_true", help='print {"access_token", "expires_at", "base_url"} instead'
    )


DEFAULT_MIN_VALID = 300
MAX_MIN_VALID = 3600


def _min_valid(text: str) -> int:
    try:
        seconds = int(text.strip())
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= MAX_MIN_VALID:
        raise argparse.ArgumentTypeError(
            render(
                _(
                    "{value!r} is not a number of seconds from 0 to {most}, e.g. 300.",
                    value=text,
                    most=MAX_MIN_VALID,
                )
            )
        )
    return seconds


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30d, 12h or 90m")
    amount, unit = int(match.group(1)), match.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]


# --- entry point ----------------------------------------------------------------------

GUI_MISSING = _(
    'The wizard needs Qt: pip install "amocrm-wizard[gui]". '
    "The commands (amocrm-wizard --help) work without it."
)


def _gui_installed() -> bool:
    """Whether PySide6 imports: ``pip install amocrm-wizard`` is headless, ``[gui]`` adds it.

    Only PySide6 itself missing counts; any other import error is a fault to report as one.
    """
    try:
        importlib.import_module("PySide6")
    except ModuleNotFoundError as error:
        if error.name != "PySide6":
            raise
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = _setup_file_as_option(list(sys.argv[1:] if argv is None else argv))
    options = build_parser().parse_args(args)
    if options.command is None:
        if not _gui_installed():
            say(GUI_MISSING, file=sys.stderr)
            return 1
        # Imported here: the headless commands must never pay for Qt.
        from wizard.app import run

        return run(options)
    from wizard import commands
    from wizard.core.logs import setup_logging

    setup_logging(options.verbose)
    try:
        return commands.COMMANDS[options.command](options, sys.stdout)
    except WizardError as error:
        report_error(error, sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        say(_stopped(), file=sys.stderr)
        return 1


def _setup_file_as_option(args: list[str]) -> list[str]:
    """``amocrm-wizard FILE.amocrm-setup`` (how macOS's argv emulation hands over a
    double-clicked file) means ``--setup FILE``."""
    if len(args) == 1 and args[0].lower().endswith(".amocrm-setup") and not args[0].startswith("-"):
        return ["--setup", args[0]]
    return args


def _stopped() -> str:
    """What a Ctrl+C left behind, truthfully: a pair amoCRM issued is always saved first."""
    from wizard.core.interrupts import saved_to

    where = saved_to()
    if where:
        return _("Stopped. The new tokens amoCRM issued were saved to {where} first.", where=where)
    return _("Stopped. Nothing was changed.")


def report_error(error: WizardError, out: TextIO) -> None:
    """Title, what happened, what to do: the catalogue's three parts, as the GUI shows them."""
    from wizard.core.catalogue import describe

    failure = describe(error)
    say(_("Error: {title}.", title=failure.title), file=out)
    say(failure.explanation, file=out)
    sent = getattr(error, "sent", "")
    if sent:
        say(_("The Redirect URI that was sent: {sent}", sent=sent), file=out)
    if failure.fix:
        say(_("What to do: {hint}", hint=failure.fix), file=out)
    if failure.detail:
        say(
            _("(amoCRM said: {detail})", detail=failure.detail)
            if error.exit_code == 3
            else f"({failure.detail})",
            file=out,
        )
