"""The short parser the wizard's command line goes through reads every line as the whole
parser does: the same options for a line it can read, and the whole parser's own
error, help and exit code for a line it cannot."""

from __future__ import annotations

import contextlib
import io

import pytest

from wizard.cli import build_parser, parse_command_line

GUI_LINES = [
    [],
    ["--demo"],
    ["--env", "/tmp/x/.env"],
    ["--env=/tmp/x/.env", "-v"],
    ["--db", "sqlite:///t.db", "--account", "mycompany", "--client-id", "abc"],
    ["--redirect-uri", "https://example.com/cb", "--self-test"],
    ["--acc", "mycompany"],  # an abbreviation, as argparse allows
    ["--account", "test"],  # a value that is also a command's name
    ["test", "--env", "/tmp/.env"],
    ["--env", "/tmp/.env", "refresh", "--if-older-than", "30d"],
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


def _run(parse, args: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result: object = vars(parse(args))
        except SystemExit as exc:
            result = ("exit", exc.code)
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args", GUI_LINES + BAD_LINES, ids=lambda a: " ".join(a) or "(none)")
def test_reads_every_line_as_the_whole_parser_does(args: list[str]) -> None:
    whole = _run(lambda line: build_parser().parse_args(line), args)
    assert _run(parse_command_line, args) == whole


def test_bad_lines_are_refused_with_exit_2_and_help_exits_0() -> None:
    for args in BAD_LINES:
        (kind, code), out, err = _run(parse_command_line, args)  # type: ignore[misc]
        assert kind == "exit"
        if "-h" in args or "--help" in args or args == ["--he"]:
            assert code == 0 and "COMMAND" in out and "connect" in out
        else:
            assert code == 2 and "usage: amocrm-wizard" in err
