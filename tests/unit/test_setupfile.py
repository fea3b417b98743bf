"""Setup files: what export-setup writes reads back the same; a malformed or hostile file is
refused with a message that names what is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import tomllib

from wizard.core.errors import InvalidSetupFileError
from wizard.setupfile import Setup, apply_setup, basic_string, dumps, loads, read_setup, without_password

FINGERPRINT = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
CLIENT_ID = "0f8e3a52-5c1d-4d1e-9a5b-7c2e8f9d6b41"
FULL = Setup(
    account="https://mycompany.amocrm.ru",
    client_id=CLIENT_ID,
    redirect_uri="https://backend.example.com/amocrm/callback",
    env="ssh://deploy@backend.example.com:2222/srv/backend/.env",
    ssh_host_key=FINGERPRINT,
    restart_cmd='pm2 restart "backend" && echo \\done\\ ü',
)

GOOD = f"""format = 1
[connection]
account = "mycompany"
client_id = "{CLIENT_ID}"
redirect_uri = "https://backend.example.com/cb"
[target]
env = "/srv/backend/.env"
"""


def test_what_is_written_reads_back_the_same() -> None:
    text = dumps(FULL)
    assert loads(text) == FULL
    document = tomllib.loads(text)  # any TOML reader reads it, too
    assert document["format"] == 1
    assert document["backend"]["restart_cmd"] == FULL.restart_cmd
    assert document["target"] == {"env": FULL.env, "ssh_host_key": FINGERPRINT}


CONTROL_CHARACTERS = [chr(c) for c in range(0x20)] + ["\x7f"]


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_character_is_escaped_and_reads_back(char: str) -> None:
    """TOML forbids U+0000–U+001F (but tab) and U+007F raw in a basic string."""
    value = f'a{char}"\\b'
    assert tomllib.loads(f"v = {basic_string(value)}")["v"] == value
    # In a whole file too: a local path the checks let through carries it.
    setup = Setup(env=f"/srv/a{char}b/.env")
    text = dumps(setup)
    assert all(ord(c) >= 0x20 and ord(c) != 0x7F for c in text.replace("\n", ""))
    assert loads(text) == setup


def test_a_database_target_and_the_tables_left_out() -> None:
    setup = Setup(account="https://mycompany.kommo.com", db="postgresql://backend@db.example.com:5432/app")
    text = dumps(setup)
    assert "[backend]" not in text and "restart_cmd" not in text
    assert loads(text) == setup


def test_a_password_never_reaches_a_setup_file() -> None:
    assert without_password("postgresql://app:s3cret@db.example.com:6543/app") == (
        "postgresql://app@db.example.com:6543/app"
    )
    with pytest.raises(InvalidSetupFileError, match="password"):
        dumps(Setup(db="postgresql://app:s3cret@db.example.com/app"))
    assert without_password("postgresql://app@db.example.com/app?sslmode=require&password=s3cret") == (
        "postgresql://app@db.example.com/app?sslmode=require"
    )
    assert without_password("mysql://app:pw@db/app?passwd=s3cret") == "mysql://app@db/app"


def test_an_sqlite_file_is_named_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = without_password("sqlite:///backend/app.db")
    assert url == f"sqlite:///{tmp_path}/backend/app.db"
    assert loads(dumps(Setup(db=url))).db == url


def test_an_sqlite_path_in_the_home_folder_names_the_file_the_target_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wizard.targets.sql import parse_db_url

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    url = without_password("sqlite:///~/app.db")
    assert url == f"sqlite:///{tmp_path}/home/app.db"
    assert parse_db_url("sqlite:///~/app.db").engine_url.database == f"{tmp_path}/home/app.db"


def test_a_file_is_read_from_disk_and_named_in_errors(tmp_path: Path) -> None:
    file = tmp_path / "backend.amocrm-setup"
    file.write_text(GOOD)
    assert read_setup(file).env == "/srv/backend/.env"
    file.write_text(GOOD.replace("format = 1", "format = 2"))
    with pytest.raises(InvalidSetupFileError) as caught:
        read_setup(file)
    assert str(file) in str(caught.value) and caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace("format = 1", "format = 2"), "format = 2"),
        (GOOD.replace("format = 1", 'format = "1"'), 'format = "1"'),
        (GOOD.replace("format = 1\n", ""), "format = (missing)"),
        ("format = [", "not a setup file"),
        (GOOD + "[extra]\nx = 1\n", "unknown keys: extra"),
        (GOOD + 'client_secret = "abc"\n', "target.client_secret"),
        (GOOD.replace("[connection]\n", '[connection]\ntoken = "x"\n'), "never holds a secret"),
        (GOOD.replace('env = "/srv/backend/.env"', 'env = "backend/.env"'), "relative path"),
        (GOOD.replace('env = "/srv/backend/.env"', 'db = "sqlite:///app.db"'), "relative path"),
        (GOOD.replace('env = "/srv/backend/.env"', 'env = "ssh://u$(reboot)@h/srv/.env"'), "plain user name"),
        (GOOD.replace('env = "/srv/backend/.env"', 'env = "ssh://u@h;reboot/srv/.env"'), "target.env"),
        (GOOD.replace('env = "/srv/backend/.env"', 'db = "mysql://a b@db/x"'), "plain user name"),
        (GOOD.replace('env = "/srv/backend/.env"', 'db = "postgresql://u:pw@db/x"'), "password"),
        (
            GOOD.replace(
                'env = "/srv/backend/.env"', 'db = "postgresql://u@db.example.com/app?password=hunter2"'
            ),
            "target.db holds a password in its query (password)",
        ),
        (
            GOOD.replace('env = "/srv/backend/.env"', 'db = "mysql://u@db/app?charset=utf8&PASSWD=hunter2"'),
            "target.db holds a password in its query (PASSWD)",
        ),
        (GOOD + f'ssh_host_key = "{FINGERPRINT}"\n', "not an ssh:// address"),
        (
            GOOD.replace('env = "/srv/backend/.env"', 'env = "ssh://h/srv/.env"\nssh_host_key = "MD5:aa"'),
            "target.ssh_host_key",
        ),
        (GOOD + '[backend]\nrestart_cmd = "a\\nb"\n', "one line"),
        (GOOD + "[backend]\nrestart_cmd = 3\n", "backend.restart_cmd must be a string"),
        (GOOD.replace('account = "mycompany"', 'account = "https://evil.example.com"'), "connection.account"),
        (GOOD.replace(CLIENT_ID, "not-a-uuid"), "connection.client_id"),
    ],
)
def test_a_malformed_or_hostile_file_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(InvalidSetupFileError) as caught:
        loads(text, name="x.amocrm-setup")
    assert named in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_opening_with_a_setup_file_fills_what_the_flags_did_not(tmp_path: Path) -> None:
    file = tmp_path / "x.amocrm-setup"
    file.write_text(dumps(FULL))
    options = argparse.Namespace(
        setup=str(file), account="othercompany", client_id=None, redirect_uri=None, env=None, db=None
    )
    assert apply_setup(options) == FULL
    assert (options.account, options.client_id, options.redirect_uri) == (
        "othercompany",
        CLIENT_ID,
        FULL.redirect_uri,
    )
    assert (options.env, options.db, options.restart_cmd) == (FULL.env, None, FULL.restart_cmd)
    assert apply_setup(argparse.Namespace(setup=None)) is None
