"""The password (or key passphrase) of an ssh:// target when no key logs in by itself.

In order: ``AMOCRM_SSH_PASSWORD`` (scripts), what the admin typed in the wizard during this run,
then the OS keyring, where the admin chose to keep it. Never the command line, never a file.
The keyring is asked only after the keys were refused, so a key that works never wakes a
locked keyring. One entry per server: service ``amocrm-wizard-ssh``, user ``user@host[:port]``.
"""

from __future__ import annotations

import logging
import threading

from wizard.core.logs import LOGGER_NAME

log = logging.getLogger(f"{LOGGER_NAME}.targets.ssh")  # the redacted log file

SERVICE = "amocrm-wizard-ssh"

_typed: dict[str, str] = {}
_lock = threading.Lock()


def give(server: str, password: str) -> None:
    """What the admin typed for ``server``, for the rest of this run."""
    with _lock:
        _typed[server] = password


def typed(server: str) -> str:
    with _lock:
        return _typed.get(server, "")


def forget_typed() -> None:
    with _lock:
        _typed.clear()


def remembered(server: str) -> str:
    """The password kept in the OS keyring for ``server``, or ""."""
    try:
        import keyring

        return keyring.get_password(SERVICE, server) or ""
    except Exception as exc:  # any backend failure: as if nothing were kept
        log.info("The OS keyring could not be read for %s: %s", server, type(exc).__name__)
        return ""


def keep(server: str, password: str) -> bool:
    """Keep the password in the OS keyring; False when no keyring takes it."""
    try:
        import keyring

        keyring.set_password(SERVICE, server, password)
    except Exception as exc:  # a headless machine has no keyring: then it is simply not kept
        log.info("The OS keyring did not keep the SSH password for %s: %s", server, type(exc).__name__)
        return False
    return True
