"""The .env target: merge-preserving, atomic, private, readable by both dotenv libraries."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.helpers import awkward_connection as connection
from tests.helpers import needs_node_dotenv, node_dotenv_values
from wizard.core.connection import OWNED_KEYS
from wizard.core.errors import ConfigError, TargetError
from wizard.targets.envfile import EnvFileTarget, merge, quote


def test_unowned_lines_survive_byte_for_byte_and_owned_keys_stay_in_place(tmp_path: Path) -> None:
    before = (
        "# Backend settings\r\n"
        "PORT=3000\r\n"
        "\r\n"
        "export AMOCRM_ACCESS_TOKEN=old-token  # stale\r\n"
        'GREETING="multi\r\nline"\r\n'
        "this line is not dotenv at all\r\n"
        "AMOCRM_CLIENT_ID=old\r\n"
        "DATABASE_URL=postgres://u:p@h/db"
    )
    path = tmp_path / ".env"
    path.write_bytes(before.encode())
    EnvFileTarget(path).save(connection())
    after = path.read_bytes().decode()
    lines = after.split("\r\n")
    assert lines[:3] == ["# Backend settings", "PORT=3000", ""]
    assert lines[3].startswith("export AMOCRM_ACCESS_TOKEN='eyJhbGciOi.access1.sig'")
    assert 'GREETING="multi\r\nline"\r\nthis line is not dotenv at all\r\n' in after
    assert lines[7] == "AMOCRM_CLIENT_ID='0b2f7a52-6b4f-4e0e-9c39-0a4b2d2d7a11'"
    assert "DATABASE_URL=postgres://u:p@h/db\r\n" in after
    # New keys are appended after everything that was there, in the contract's order.
    appended = [line.split("=")[0] for line in lines[9:] if line]
    assert appended == [k for k in OWNED_KEYS if k not in ("AMOCRM_ACCESS_TOKEN", "AMOCRM_CLIENT_ID")]


def test_round_trip_through_python_dotenv(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    target = EnvFileTarget(path)
    target.save(connection())
    assert target.load() == connection()
    values = dotenv_values(path)
    assert values["AMOCRM_CLIENT_SECRET"] == "s3cr3t/with+odd=chars#and$dollar"
    assert values["AMOCRM_TOKEN_EXPIRES_AT"] == "2026-12-02T09:00:00Z"
    assert values["AMOCRM_SUBDOMAIN"] == "mycompany"


@needs_node_dotenv
def test_round_trip_through_node_dotenv(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OTHER=1\n", encoding="utf-8")
    EnvFileTarget(path).save(connection())
    parsed = node_dotenv_values(path)
    assert {k: parsed[k] for k in OWNED_KEYS} == connection().to_values()
    assert parsed["OTHER"] == "1"


def test_new_file_is_private_and_existing_mode_is_kept(tmp_path: Path) -> None:
    fresh = tmp_path / "new.env"
    EnvFileTarget(fresh).save(connection())
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    shared = tmp_path / "shared.env"
    shared.write_text("A=1\n")
    shared.chmod(0o640)
    EnvFileTarget(shared).save(connection())
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640


def test_second_save_replaces_in_place_without_growing(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    target = EnvFileTarget(path)
    target.save(connection(1))
    first = path.read_text()
    target.save(connection(2))
    second = path.read_text()
    assert len(second.splitlines()) == len(first.splitlines())
    assert target.load() == connection(2)


@pytest.mark.parametrize("where", ["missing-folder", "inside-a-file"])
def test_unwritable_places_are_refused_before_anything_happens(tmp_path: Path, where: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = tmp_path / "no" / "such" / ".env" if where == "missing-folder" else tmp_path / "file.txt" / ".env"
    target = EnvFileTarget(path)
    with pytest.raises(TargetError) as info:
        target.check_writable()
    assert info.value.exit_code == 5 and info.value.hint
    with pytest.raises(TargetError):
        target.save(connection())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_values_readers_disagree_on_are_refused() -> None:
    assert quote("plain") == "'plain'"
    assert quote("it's") == '"it\'s"'
    with pytest.raises(ConfigError):
        quote("it's \\ odd")
    with pytest.raises(ConfigError):
        quote("two\nlines")


def test_merge_of_empty_text_appends_every_key() -> None:
    merged = merge("", {"A": "1", "B": "2"})
    assert merged == "A='1'\nB='2'\n"


WRITER = """
import sys
from datetime import datetime, timezone
from wizard.core.connection import Connection
from wizard.core.tokens import TokenPair
from wizard.targets.envfile import EnvFileTarget
target = EnvFileTarget(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    expiry = datetime(2030, 1, 1, tzinfo=timezone.utc)
    pair = TokenPair("eyJ." + "a" * 4000 + str(n), "def50200" + str(n), expiry)
    cid = "0b2f7a52-6b4f-4e0e-9c39-0a4b2d2d7a11"
    target.save(Connection("https://x.amocrm.ru", cid, "secret-secret-1", "https://e.com", pair))
"""


def test_a_killed_writer_never_leaves_a_torn_file(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of rewriting the file, many times: always old or new."""
    path = tmp_path / ".env"
    path.write_text("KEEP=me\n")
    for round_ in range(15):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.02 + 0.013 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        values = dotenv_values(path)
        assert values["KEEP"] == "me"
        if "AMOCRM_REFRESH_TOKEN" in values:
            n = values["AMOCRM_REFRESH_TOKEN"].removeprefix("def50200")  # type: ignore[union-attr]
            assert values["AMOCRM_ACCESS_TOKEN"] == "eyJ." + "a" * 4000 + n


HOLDER = """
import sys, time
from wizard.targets.envfile import EnvFileTarget
with EnvFileTarget(sys.argv[1]).lock():
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_held_lock_times_out_another_process_with_a_plain_message(tmp_path: Path) -> None:
    from wizard.core.errors import TargetLockTimeout

    path = tmp_path / ".env"
    EnvFileTarget(path).save(connection())
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(TargetLockTimeout) as info, EnvFileTarget(path).lock(timeout=0.5):
            pass
        assert 0.4 < time.monotonic() - started < 5
        assert info.value.exit_code == 5 and "Wait" in info.value.hint
    finally:
        holder.kill()
        holder.wait()
    with EnvFileTarget(path).lock(timeout=5) as held:  # the dead holder's lock is gone
        assert held.stored == connection()


def test_the_lock_hands_on_what_it_read_until_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The credentials wrapper completes the held values from the read made under the lock,
    not from a second read of the file; after a write the held state asks for a new read."""
    from wizard.targets import open_target

    env = tmp_path / ".env"
    EnvFileTarget(env).save(connection(1))
    reads: list[object] = []
    original = EnvFileTarget._read_text

    def counted(self: EnvFileTarget, *args: object) -> str | None:
        reads.append(args)
        return original(self, *args)

    monkeypatch.setattr(EnvFileTarget, "_read_text", counted)
    with EnvFileTarget(env).lock() as held:
        by_the_target = len(reads)
        assert held.values() == EnvFileTarget(env).read_values()
        held.save(connection(2))
        assert held.values() is None  # written: what was read is no longer what the file holds
    reads.clear()
    with open_target(env=str(env)).lock() as completed:
        assert len(reads) == by_the_target  # the wrapper read nothing more
        assert completed.stored is not None and completed.stored.tokens == connection(2).tokens
