"""Places that keep the connection: a .env file or a database, behind one interface."""

from __future__ import annotations

from collections.abc import Mapping

from wizard.core.errors import InvalidTargetError
from wizard.core.i18n import _
from wizard.targets.base import Held, SaveReport, TokenTarget

__all__ = ["Held", "SaveReport", "TokenTarget", "open_target"]

DEFAULT_ENV = ".env"


def open_target(
    env: str | None = None,
    db: str | None = None,
    known_values: Mapping[str, str] | None = None,
    *,
    ssh_key: str | None = None,
    ssh_host_key: str | None = None,
) -> TokenTarget:
    """The target named by ``--env PATH`` or ``--db URL`` (default: ``.env`` here), completed
    in the contract's order (``wizard.targets.credentials``).

    ``known_values``: contract keys from the flags (``--account``, ``--client-id`` …, the
    secret from standard input) or typed in the wizard; they come before the target's own.
    ``--env ssh://…`` is a .env on a server; ``ssh_key`` and ``ssh_host_key`` are its
    ``--ssh-key`` and ``--ssh-host-key``.
    """
    if env and db:
        raise InvalidTargetError(_("Both --env and --db were given."), _("Choose one place for the tokens."))
    from wizard.targets.credentials import Credentials

    target: TokenTarget
    if db:
        # Imported here so the .env path never pays for SQLAlchemy.
        from wizard.targets.sql import SqlTarget

        target = SqlTarget(db)
    elif env and env.strip().lower().startswith("ssh://"):
        # Imported here so a local .env never pays for paramiko.
        from wizard.targets.ssh import SshEnvTarget

        target = SshEnvTarget(env, ssh_key=ssh_key, ssh_host_key=ssh_host_key)
    else:
        from wizard.targets.envfile import EnvFileTarget

        target = EnvFileTarget(env or DEFAULT_ENV)
    return Credentials(target, known_values)
