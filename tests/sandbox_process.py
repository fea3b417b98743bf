"""The sandbox in a process of its own, driven over stdin/stdout: for tests in other languages.

    python -m tests.sandbox_process

prints one JSON line (base_url, client_id, client_secret, redirect_uri), then answers one
JSON line per request line ``{"call": NAME, "args": [...]}`` with ``{"ok": RESULT}`` or
``{"error": TEXT}``, until stdin closes. NAME is one of ``CALLS``: the sandbox's own
admin actions and knobs, plus connecting a .env or a database to it. Node's tests
(``clients/node/test``) start it; the secret it prints is the sandbox's throwaway one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from tests.helpers import connect_sandbox
from wizard.sandbox import Sandbox


def _connect_env(sb: Sandbox, path: str) -> str:
    from wizard.targets.envfile import EnvFileTarget

    EnvFileTarget(path).save(connect_sandbox(sb))
    return path


def _connect_long_lived_env(sb: Sandbox, path: str, days: int = 1) -> str:
    """A .env holding a private integration's long-lived token (no refresh token); returns the token."""
    from wizard.core.connection import Connection
    from wizard.core.tokens import TokenPair
    from wizard.targets.envfile import EnvFileTarget

    token = sb.issue_long_lived_token(days)
    it = sb.integration
    connection = Connection(
        sb.base_url, it.client_id, it.client_secret, it.redirect_uri, TokenPair.long_lived(token)
    )
    EnvFileTarget(path).save(connection)
    return token


def _connect_db(sb: Sandbox, url: str) -> str:
    from wizard.targets.sql import SqlTarget

    target = SqlTarget(url)
    try:
        target.save(connect_sandbox(sb))
    finally:
        target.close()
    return url


def _set(sb: Sandbox, name: str, value: Any) -> None:
    if name not in ("refresh_delay", "old_access_dies_on_refresh"):
        raise ValueError(f"no knob {name!r}")
    setattr(sb, name, value)


CALLS: dict[str, Callable[..., Any]] = {
    "connect_env": _connect_env,
    "connect_long_lived_env": _connect_long_lived_env,
    "connect_db": _connect_db,
    "set": _set,
    "stats": lambda sb: sb.stats.as_dict(),
    "reset_stats": Sandbox.reset_stats,
    "expire_access_tokens": Sandbox.expire_access_tokens,
    "revoke_refresh_tokens": Sandbox.revoke_refresh_tokens,
    "disable_integration": Sandbox.disable_integration,
    "block_account": Sandbox.block_account,
    "fail_next": Sandbox.fail_next,
    "clear_failures": Sandbox.clear_failures,
    "issue_long_lived_token": Sandbox.issue_long_lived_token,
    "lead": lambda sb, lead_id: sb.leads[int(lead_id)],
}


def answer(sb: Sandbox, line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
        return {"ok": CALLS[request["call"]](sb, *request.get("args", []))}
    except Exception as error:  # the caller's test shows it; this process keeps serving
        return {"error": f"{type(error).__name__}: {error}"}


def main() -> None:
    with Sandbox() as sb:
        it = sb.integration
        info = {
            "base_url": sb.base_url,
            "client_id": it.client_id,
            "client_secret": it.client_secret,
            "redirect_uri": it.redirect_uri,
        }
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(answer(sb, line)), flush=True)


if __name__ == "__main__":
    main()
