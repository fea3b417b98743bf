"""What every place that keeps tokens can do: the ``TokenTarget`` interface.

The CLI, the GUI and the runtime client only ever talk to this interface. The refresh
critical section is ``with target.lock() as held: ... held.save(new)``: the lock is
exclusive across threads, processes and (for databases) hosts, and ``held.stored`` is
what the target holds *under* the lock, re-read because somebody else may have just
refreshed (the rclone pattern).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from wizard.core.connection import Connection

DEFAULT_LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class SaveReport:
    """Where each value went: shown to the admin before and after saving."""

    target: str  # the target described for people, passwords masked
    written: tuple[str, ...]  # contract keys written to the target
    #: contract key → where it went instead (e.g. "the OS keyring"), or why it was not stored.
    elsewhere: dict[str, str] = field(default_factory=dict)
    #: Whether the secret was also kept in the OS keyring; None when that was not tried.
    #: Not part of what the admin is shown before saving, so plans compare equal to reports.
    kept_in_keyring: bool | None = field(default=None, compare=False)


class Held(abc.ABC):
    """The target while its lock is held."""

    stored: Connection | None

    @abc.abstractmethod
    def save(self, connection: Connection) -> SaveReport:
        """Write durably (fsync / commit) before returning; the lock is still held."""

    def save_verdict(self, verdict: str) -> None:  # noqa: B027  (a target may have nowhere to put it)
        """Add amoCRM's verdict on the stored refresh token to what the target holds, and
        nothing else: on a failed command the target keeps what it held (contract, "Exit
        codes"), so no resolved value, secret or timestamp goes with it. A target with
        nowhere to put it writes nothing; the token source remembers it in memory."""

    def values(self) -> dict[str, str] | None:
        """What the target holds under the lock, as contract keys (missing keys absent):
        more than ``stored`` where the target holds part of a connection, such as tokens
        without an account address. None: read the target again, which says the same while
        the lock is held."""
        return None


class HeldSnapshot(Held):
    """A target read whole under its lock (a .env, here or over SSH): what was read is
    handed on (``values``) until the first write, after which the target is read again."""

    def __init__(
        self,
        values: dict[str, str],
        write: Callable[[Connection], SaveReport],
        write_verdict: Callable[[str], None],
    ) -> None:
        self._values: dict[str, str] | None = values
        self._write = write
        self._write_verdict = write_verdict
        self.stored = Connection.from_values(values)

    def save(self, connection: Connection) -> SaveReport:
        report = self._write(connection)
        self.stored, self._values = connection, None
        return report

    def save_verdict(self, verdict: str) -> None:
        self._write_verdict(verdict)
        self._values = None
        if self.stored is not None:
            self.stored = self.stored.with_verdict(verdict)

    def values(self) -> dict[str, str] | None:
        return self._values


class TokenTarget(abc.ABC):
    """A .env file or a database that holds one connection."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """For people: a path, or a URL with the password masked."""

    @abc.abstractmethod
    def read_values(self) -> dict[str, str]:
        """The contract's keys that are present (missing keys are absent, not empty)."""

    def load(self) -> Connection | None:
        return Connection.from_values(self.read_values())

    @abc.abstractmethod
    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[Held]:
        """Exclusive access for a read-modify-write; raises ``TargetLockTimeout``."""

    @abc.abstractmethod
    def plan(self, connection: Connection) -> SaveReport:
        """What ``save`` would write and where, without writing anything."""

    @abc.abstractmethod
    def check_writable(self) -> None:
        """Raise ``TargetError`` now if a save would fail, before anything is spent at amoCRM."""

    def save(self, connection: Connection) -> SaveReport:
        with self.lock() as held:
            return held.save(connection)

    def underlying(self) -> TokenTarget:
        """The place itself, under any wrapper (``credentials.Credentials``): for what only
        one kind of place can do, such as running the restart on an ssh:// server."""
        return self

    def close(self) -> None:  # noqa: B027  (optional hook: files hold nothing open)
        """Release connections or handles (nothing to do for files)."""


def iter_secrets(connection: Connection) -> Iterator[str]:
    """Values of a connection that must never be shown in full."""
    yield connection.client_secret
    if connection.tokens:
        yield connection.tokens.access_token
        yield connection.tokens.refresh_token
