"""One parser reads the command line, for the headless commands and for the wizard alike
(``wizard.app`` reads its flags with it too): what it takes, and how it refuses."""

from __future__ import annotations

import contextlib
import io

import pytest

from wizard.cli import build_parser

GUI_LINES = [
    ([], {}),
    (["--demo"], {"demo": True}),
    (["--env", "/tmp/x/.env"], {"env": "/tmp/x/.env"}),
    (["--env=/tmp/x/.env", "-v"], {"env": "/tmp/x/.env", "verbose": True}),
    (
        ["--db", "sqlite:///t.db", "--account", "mycompany", "--client-id", "abc"],
        {"db": "sqlite:///t.db", "account": "mycompany", "client_id": "abc"},
    ),
    (
        ["--redirect-uri", "https://example.com/cb", "--self-test"],
        {"redirect_uri": "https://example.com/cb", "self_test": True},
    ),
    (["--acc", "mycompany"], {"account": "mycompany"}),  # an abbreviation, as argparse allows
    (["--account", "test"], {"account": "test"}),  # a value that is also a command's name
]

COMMAND_LINES = [
    (["test", "--env", "/tmp/.env"], "test"),
    (["--env", "/tmp/.env", "refresh", "--if-older-than", "30d"], "refresh"),
    (["-v", "--env", "/tmp/.env", "test", "--account", "mycompany"], "test"),
]

BAD_LINES = [
    ["--evn", "/tmp/.env"],
    ["--env", "a", "--db", "b"],
    ["--env"],
    ["stray"],
    ["--he"],
    ["-h"],
    ["--help"],
]


def _run(args: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result: object = vars(build_parser().parse_args(args))
        except SystemExit as exc:
            result = ("exit", exc.code)
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "wanted"), GUI_LINES, ids=lambda a: " ".join(a) if isinstance(a, list) else ""
)
def test_a_line_without_a_command_opens_the_wizard_with_its_flags(
    args: list[str], wanted: dict[str, object]
) -> None:
    options, _out, _err = _run(args)
    assert isinstance(options, dict) and options["command"] is None
    for key, value in wanted.items():
        assert options[key] == value
    for key in {"env", "db", "account", "client_id", "redirect_uri"} - wanted.keys():
        assert options[key] is None


@pytest.mark.parametrize(("args", "command"), COMMAND_LINES)
def test_options_before_the_command_are_kept(args: list[str], command: str) -> None:
    options, _out, _err = _run(args)
    assert isinstance(options, dict) and options["command"] == command and options["env"] == "/tmp/.env"


def test_bad_lines_are_refused_with_exit_2_and_help_exits_0() -> None:
    for args in BAD_LINES:
        (kind, code), out, err = _run(args)  # type: ignore[misc]
        assert kind == "exit"
        if "-h" in args or "--help" in args or args == ["--he"]:
            assert code == 0 and "COMMAND" in out and "connect" in out
        else:
            assert code == 2 and "usage: amocrm-wizard" in err


@pytest.mark.parametrize(
    "command", ["connect", "check", "test", "refresh", "status", "token", "export-setup", "sandbox"]
)
def test_verbose_is_taken_after_the_command_too(command: str) -> None:
    target = [] if command == "sandbox" else ["--env", "/tmp/.env"]
    for args in ([command, *target, "-v"], [command, "--verbose", *target], ["-v", command, *target]):
        options, _out, err = _run(args)
        assert isinstance(options, dict), err
        assert options["command"] == command and options["verbose"] is True
    options, _out, err = _run([command, *target])
    assert isinstance(options, dict) and options["verbose"] is False
