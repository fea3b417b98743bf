"""The client secret in the OS keyring, for targets that have no place of their own for it.

One entry per integration: service ``amocrm-wizard``, user name ``"<base URL>|<client id>"``.
Only the secret goes here, never tokens: Windows Credential Manager caps an entry at
2,560 bytes, and a token pair refreshed daily would wear on keychains that sync.

When no keyring works (a headless server without a Secret Service, a container), the
secret is simply not kept here and callers say so; it is never written to a plaintext
file instead, because a file next to the program is exactly what the keyring avoids.
"""

from __future__ import annotations

import logging
import threading

import keyring
import keyring.backends.fail
import keyring.errors
from keyring.backend import KeyringBackend

from wizard.core.logs import LOGGER_NAME

SERVICE = "amocrm-wizard"
#: Below Windows Credential Manager's 2,560-byte limit even in UTF-16; secrets are ~64 chars.
MAX_SECRET_LENGTH = 2000

# Under the project's logger, so its handlers' redaction applies: a backend's own error
# words may carry what it was given.
log = logging.getLogger(f"{LOGGER_NAME}.targets.keyring")

_UNAVAILABLE_SAVE = "No OS keyring is available; the client secret was not saved there."
_UNAVAILABLE_LOAD = "No OS keyring is available; the client secret could not be read from it."


class _WarnOnce:
    """A headless runtime asks on every load; one warning per process is enough."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.warned = False

    def __call__(self, message: str, reason: BaseException | None = None) -> None:
        with self._lock:
            if self.warned:
                return
            self.warned = True
        if reason is None:
            log.warning(message)
        else:
            log.warning("%s (%s)", message, reason)


_warn_unavailable = _WarnOnce()


def _username(base_url: str, client_id: str) -> str:
    # Hosts and UUIDs are case-insensitive; normalise so a retyped id finds the entry.
    return f"{base_url.strip().rstrip('/').lower()}|{client_id.strip().lower()}"


def _usable_backend() -> KeyringBackend | None:
    backend = keyring.get_keyring()
    # The null backend is how a user switches the keyring off; treat it as absent.
    if isinstance(backend, keyring.backends.fail.Keyring) or type(backend).__module__.endswith(
        "backends.null"
    ):
        return None
    return backend


def keyring_available() -> bool:
    """Is there a keyring backend at all (it may still fail when used, e.g. locked)?"""
    return _usable_backend() is not None


def save_secret(base_url: str, client_id: str, secret: str) -> bool:
    """Keep ``secret`` for this integration; False when it could not be kept."""
    if not secret:
        return False
    if len(secret) > MAX_SECRET_LENGTH:
        log.warning(
            "The client secret is longer than %d characters, so it was not saved in the OS keyring.",
            MAX_SECRET_LENGTH,
        )
        return False
    backend = _usable_backend()
    if backend is None:
        _warn_unavailable(_UNAVAILABLE_SAVE)
        return False
    try:
        backend.set_password(SERVICE, _username(base_url, client_id), secret)
    except keyring.errors.KeyringError as exc:
        _warn_unavailable(_UNAVAILABLE_SAVE, exc)
        return False
    return True


def load_secret(base_url: str, client_id: str) -> str | None:
    """The secret saved for this integration, or None."""
    backend = _usable_backend()
    if backend is None:
        _warn_unavailable(_UNAVAILABLE_LOAD)
        return None
    try:
        return backend.get_password(SERVICE, _username(base_url, client_id))
    except keyring.errors.KeyringError as exc:
        _warn_unavailable(_UNAVAILABLE_LOAD, exc)
        return None


def delete_secret(base_url: str, client_id: str) -> bool:
    """Forget the secret; False when there was none or the keyring is unavailable."""
    backend = _usable_backend()
    if backend is None:
        return False
    try:
        backend.delete_password(SERVICE, _username(base_url, client_id))
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        _warn_unavailable(_UNAVAILABLE_LOAD, exc)
        return False
    return True
