"""Shared bits for the benchmarks: a connected sandbox in a temp folder, and medians.

Benchmarks print ratios against a baseline measured in the same invocation, because
absolute times on shared machines are not stable.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _remote_sandbox import RemoteSandbox  # noqa: E402

from tests.helpers import connect_sandbox  # noqa: E402
from wizard.sandbox import Sandbox  # noqa: E402
from wizard.targets.envfile import EnvFileTarget  # noqa: E402


def connected_sandbox() -> tuple[Sandbox, Path]:
    sandbox = Sandbox().start()
    path = Path(tempfile.mkdtemp(prefix="amocrm-bench-")) / ".env"
    EnvFileTarget(path).save(connect_sandbox(sandbox))
    return sandbox, path


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def report(name: str, measured: list[float], baseline: list[float], target: float | None = None) -> float:
    ratio = statistics.median(measured) / statistics.median(baseline)
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER the {target}x target")
    print(
        f"{name}: {median_ms(measured):.1f} ms vs baseline {median_ms(baseline):.1f} ms "
        f"-> ratio {ratio:.2f}x{verdict}"
    )
    return ratio


def connected_remote_sandbox() -> tuple[RemoteSandbox, Path]:
    """A sandbox in another process, and a .env connected to it."""
    from wizard.core.account import parse_account
    from wizard.core.connection import Connection
    from wizard.core.oauth import exchange_code

    remote = RemoteSandbox()
    account = parse_account(remote.base_url)
    pair = exchange_code(
        account, remote.client_id, remote.client_secret, remote.redirect_uri, remote.issue_code()
    )
    path = Path(tempfile.mkdtemp(prefix="amocrm-bench-")) / ".env"
    EnvFileTarget(path).save(
        Connection(account.base_url, remote.client_id, remote.client_secret, remote.redirect_uri, pair)
    )
    return remote, path
