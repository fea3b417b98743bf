"""The .env text: a byte-order mark and the comments after owned values survive a save, and
the values still read back the same in python-dotenv and Node's dotenv."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.helpers import awkward_connection as connection
from tests.helpers import needs_node_dotenv, node_dotenv_values
from wizard.core.connection import OWNED_KEYS
from wizard.targets.envfile import EnvFileTarget, merge, parse_values

BOM = "\ufeff"


def test_a_bom_before_a_comment_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(f"{BOM}# Backend settings\nPORT=3000\n".encode())
    EnvFileTarget(path).save(connection())
    after = path.read_bytes()
    assert after.startswith(f"{BOM}# Backend settings\nPORT=3000\n".encode())
    assert after.count(BOM.encode()) == 1


def test_a_bom_before_an_owned_key_still_names_that_key(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(f"{BOM}AMOCRM_BASE_URL=https://old.amocrm.ru\nPORT=3000\n".encode())
    assert EnvFileTarget(path).read_values() == {"AMOCRM_BASE_URL": "https://old.amocrm.ru"}
    EnvFileTarget(path).save(connection())
    text = path.read_bytes().decode()
    assert text.startswith(f"{BOM}AMOCRM_BASE_URL='https://mycompany.amocrm.ru'\nPORT=3000\n")
    assert text.count("AMOCRM_BASE_URL") == 1  # replaced where it stands, not appended again
    assert EnvFileTarget(path).load() == connection()


def test_merge_keeps_the_mark_whatever_the_dotenv_version_does_with_it() -> None:
    assert merge(BOM, {"A": "1"}) == f"{BOM}A='1'\n"
    assert merge(f"{BOM}A=0\n", {"A": "1"}) == f"{BOM}A='1'\n"
    assert parse_values(f"{BOM}AMOCRM_CLIENT_ID=x\n") == {"AMOCRM_CLIENT_ID": "x"}


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("AMOCRM_ACCESS_TOKEN=old  # rotated by amocrm-wizard\n", "  # rotated by amocrm-wizard\n"),
        ("AMOCRM_ACCESS_TOKEN='old' # note\n", " # note\n"),
        ('AMOCRM_ACCESS_TOKEN="old"\t# tab before\r\n', "\t# tab before\r\n"),
        ('export AMOCRM_ACCESS_TOKEN = "two\nlines"  # was multi-line\n', "  # was multi-line\n"),
        ("AMOCRM_ACCESS_TOKEN=old # one # two\n", " # one # two\n"),
        ("AMOCRM_ACCESS_TOKEN=old   \n", "   \n"),
        ("AMOCRM_ACCESS_TOKEN=old#not-a-comment\n", "\n"),
        ("AMOCRM_ACCESS_TOKEN=old  # last line, no newline", "  # last line, no newline"),
    ],
)
def test_the_comment_after_an_owned_value_is_kept(line: str, kept: str) -> None:
    merged = merge(f"PORT=1\n{line}", {"AMOCRM_ACCESS_TOKEN": "eyJ.new"})
    head = line[: line.index("=") + 1] + (" " if "= " in line else "")
    assert merged == f"PORT=1\n{head}'eyJ.new'{kept}"
    assert parse_values(merged) == {"AMOCRM_ACCESS_TOKEN": "eyJ.new"}


def test_a_removed_key_goes_with_its_comment_and_nothing_else() -> None:
    text = "A=1\n\nAMOCRM_REFRESH_REJECTED='2026-12-03T09:00:00Z 0123456789ab'  # verdict\nB=2\n"
    assert merge(text, {}, remove=("AMOCRM_REFRESH_REJECTED",)) == "A=1\n\nB=2\n"


def _awkward_file() -> str:
    return (
        f"{BOM}# Backend settings\r\n"
        "PORT=3000 # http\r\n"
        "AMOCRM_CLIENT_SECRET=old-secret   # from the integration's Keys tab\r\n"
        "\r\n"
        "export AMOCRM_REFRESH_TOKEN='old' # rotates\r\n"
        'GREETING="multi\r\nline"  # two lines\r\n'
    )


def test_everything_but_the_owned_values_is_kept_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(_awkward_file().encode())
    EnvFileTarget(path).save(connection())
    after = path.read_bytes().decode()
    secret = connection().client_secret
    refresh = connection().tokens.refresh_token  # type: ignore[union-attr]
    expected_head = (
        f"{BOM}# Backend settings\r\n"
        "PORT=3000 # http\r\n"
        f"AMOCRM_CLIENT_SECRET='{secret}'   # from the integration's Keys tab\r\n"
        "\r\n"
        f"export AMOCRM_REFRESH_TOKEN='{refresh}' # rotates\r\n"
        'GREETING="multi\r\nline"  # two lines\r\n'
    )
    assert after.startswith(expected_head)
    appended = [line.split("=")[0] for line in after[len(expected_head) :].split("\r\n") if line]
    assert appended == [k for k in OWNED_KEYS if k not in ("AMOCRM_CLIENT_SECRET", "AMOCRM_REFRESH_TOKEN")]


def test_python_dotenv_reads_the_values_back(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(_awkward_file().encode())
    EnvFileTarget(path).save(connection())
    values = dotenv_values(path, encoding="utf-8-sig")
    assert {k: values[k] for k in OWNED_KEYS} == connection().to_values()
    assert values["PORT"] == "3000" and values["GREETING"].splitlines() == ["multi", "line"]  # type: ignore[union-attr]


@needs_node_dotenv
def test_node_dotenv_reads_the_values_back(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(_awkward_file().encode())
    EnvFileTarget(path).save(connection())
    parsed = node_dotenv_values(path)
    assert {k: parsed[k] for k in OWNED_KEYS} == connection().to_values()
    assert parsed["PORT"] == "3000"
