"""The client secret in the OS keyring: an in-memory backend, keyring's "fail" backend and
a backend that breaks on use stand in for the platforms."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring.backends.null
import keyring.errors
import pytest

from tests.unit.targets.conftest import MemoryKeyring, using_keyring
from wizard.core.logs import LOGGER_NAME, setup_logging
from wizard.core.redact import mask, register_secret
from wizard.targets import keyring_store
from wizard.targets.keyring_store import (
    MAX_SECRET_LENGTH,
    SERVICE,
    delete_secret,
    keyring_available,
    load_secret,
    save_secret,
)

BASE = "https://mycompany.amocrm.ru"
CLIENT = "5e4b7c2a-1111-4222-8333-944455556666"
SECRET = "Zt8mQeVz3kP0yLrB6sWnA1cXhJ9uG4dF7oTiE2qR5vMbN0lKaYs"


def test_round_trip(memory_keyring: MemoryKeyring) -> None:
    assert keyring_available()
    assert save_secret(BASE, CLIENT, SECRET)
    assert memory_keyring.entries == {(SERVICE, f"{BASE}|{CLIENT}"): SECRET}
    assert load_secret(BASE, CLIENT) == SECRET
    assert delete_secret(BASE, CLIENT)
    assert load_secret(BASE, CLIENT) is None
    assert not delete_secret(BASE, CLIENT)


def test_one_entry_per_account_and_integration(memory_keyring: MemoryKeyring) -> None:
    other_client = "00000000-0000-4000-8000-000000000000"
    assert save_secret(BASE, CLIENT, "first-secret")
    assert save_secret(BASE, other_client, "second-secret")
    assert save_secret("https://other.kommo.com", CLIENT, "third-secret")
    assert load_secret(BASE, CLIENT) == "first-secret"
    assert load_secret(BASE, other_client) == "second-secret"
    assert load_secret("https://other.kommo.com", CLIENT) == "third-secret"
    assert len(memory_keyring.entries) == 3


def test_a_retyped_address_or_id_finds_the_same_entry() -> None:
    assert save_secret(BASE + "/", CLIENT.upper(), SECRET)
    assert load_secret(" HTTPS://MyCompany.amocrm.ru ", CLIENT) == SECRET


def test_refuses_what_credential_managers_cannot_hold(memory_keyring: MemoryKeyring) -> None:
    assert not save_secret(BASE, CLIENT, "x" * (MAX_SECRET_LENGTH + 1))
    assert memory_keyring.entries == {}
    assert save_secret(BASE, CLIENT, "x" * MAX_SECRET_LENGTH)


def test_an_empty_secret_is_not_saved(memory_keyring: MemoryKeyring) -> None:
    assert not save_secret(BASE, CLIENT, "")
    assert memory_keyring.entries == {}


@pytest.mark.usefixtures("fail_keyring")
@pytest.mark.usefixtures("project_log_to_caplog")
def test_no_keyring_warns_once_and_keeps_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=keyring_store.log.name)
    assert not keyring_available()
    assert not save_secret(BASE, CLIENT, SECRET)
    assert load_secret(BASE, CLIENT) is None
    assert not save_secret(BASE, CLIENT, SECRET)
    assert not delete_secret(BASE, CLIENT)
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["No OS keyring is available; the client secret was not saved there."]
    assert SECRET not in caplog.text


@pytest.mark.usefixtures("locked_keyring")
@pytest.mark.usefixtures("project_log_to_caplog")
def test_a_keyring_that_fails_on_use_counts_as_none(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=keyring_store.log.name)
    assert keyring_available()  # present, but it will not work
    assert load_secret(BASE, CLIENT) is None
    assert not save_secret(BASE, CLIENT, SECRET)
    assert not delete_secret(BASE, CLIENT)
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("No OS keyring is available")


def test_the_null_backend_means_switched_off() -> None:
    with using_keyring(keyring.backends.null.Keyring()):
        assert not keyring_available()
        assert not save_secret(BASE, CLIENT, SECRET)
        assert load_secret(BASE, CLIENT) is None


class EchoingKeyring(MemoryKeyring):
    """A backend whose error words repeat what it was given, as some do (a failed command line)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"secret-tool store {username} {password}: exit status 1")


def test_a_secret_in_a_keyring_warning_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning goes through the project's logger, so its redaction applies (issue 11, 12)."""
    monkeypatch.setenv("AMOCRM_WIZARD_LOG_DIR", str(tmp_path))
    logger = logging.getLogger(LOGGER_NAME)
    saved = (logger.handlers[:], logger.propagate, logger.level, getattr(logger, "_amocrm_configured", False))
    logger.handlers, logger._amocrm_configured = [], False  # type: ignore[attr-defined]
    try:
        setup_logging()
        register_secret(SECRET)
        with using_keyring(EchoingKeyring()):
            assert not save_secret(BASE, CLIENT, SECRET)
        for handler in logger.handlers:
            handler.flush()
            handler.close()
    finally:
        logger.handlers, logger.propagate, logger.level = saved[0], saved[1], saved[2]
        logger._amocrm_configured = saved[3]  # type: ignore[attr-defined]
    written = (tmp_path / "amocrm-wizard.log").read_text()
    assert "No OS keyring is available; the client secret was not saved there." in written
    assert "secret-tool store" in written and mask(SECRET) in written
    assert SECRET not in written
