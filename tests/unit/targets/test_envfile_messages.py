"""What the .env target says when it cannot do its job: what really happened, and the one
thing to do (never "could not be saved" from a command that only reads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import connect_sandbox, run_cli
from wizard.core.catalogue import describe
from wizard.core.errors import TargetReadError
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget


@pytest.mark.parametrize("command", ["check", "status", "test", "refresh"])
def test_a_latin1_file_is_reported_as_unreadable_with_the_line_and_the_fix(
    tmp_path: Path, cli_env: dict[str, str], command: str
) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"PORT=3000\nGREETING=Caf\xe9\n")
    result = run_cli([command, "--env", str(path)], cli_env)
    assert result.returncode == 5
    assert "could not be saved" not in result.stderr
    assert "The tokens could not be read" in result.stderr
    assert "is not UTF-8 text: line 2" in result.stderr and "Save the file as UTF-8" in result.stderr
    assert path.read_bytes() == b"PORT=3000\nGREETING=Caf\xe9\n"


def test_the_reading_error_has_its_own_title_in_both_languages(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"\xff\n")
    with pytest.raises(TargetReadError) as info:
        EnvFileTarget(path).read_values()
    assert describe(info.value, "en").title == "The tokens could not be read"
    assert describe(info.value, "ru").title != describe(info.value, "en").title
    assert describe(info.value, "ru").explanation != describe(info.value, "en").explanation


def test_a_folder_named_in_latin1_works_and_is_shown_readably(
    sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    EnvFileTarget(folder / ".env").save(connect_sandbox(sandbox))
    sandbox.expire_access_tokens()
    for command in ("check", "status", "test", "refresh"):
        result = run_cli([command, "--env", str(folder / ".env")], cli_env)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stderr == ""  # the log used to fail on the path: "--- Logging error ---"
    assert "caf\\xe9" in result.stdout
    log = (Path(cli_env["AMOCRM_WIZARD_LOG_DIR"]) / "amocrm-wizard.log").read_text(encoding="utf-8")
    assert "saved to" in log and "caf\\xe9" in log
