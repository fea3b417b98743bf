"""What each target adds to a refresh: the runtime's critical section, timed end to end.

One "refresh round trip" is what a runtime client does when its access token has died:
take the target's lock, read the stored pair under it, spend the refresh token at the
(sandbox's) token endpoint, and save the new pair if the stored refresh token is still the
one it read (compare-and-swap), committing before the lock is let go.

Targets: a .env in a temp folder (the baseline), SQLite in a temp folder, and PostgreSQL
and MariaDB when AMOCRM_TEST_POSTGRES_URL / AMOCRM_TEST_MYSQL_URL name a server (a
throwaway schema/database is created there and dropped afterwards). Iterations are
interleaved across targets so drift on a shared machine hits all of them alike; medians
and ratios to the .env target are printed, plus the bare refresh (no target) so the
target's own share is visible.

    .venv/bin/python bench/bench_targets.py [-n 50] [--warmup 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from wizard.core.account import Account, parse_account  # noqa: E402
from wizard.core.connection import Connection  # noqa: E402
from wizard.core.oauth import exchange_code, refresh_tokens  # noqa: E402
from wizard.sandbox import Sandbox  # noqa: E402
from wizard.targets.base import TokenTarget  # noqa: E402
from wizard.targets.envfile import EnvFileTarget  # noqa: E402
from wizard.targets.sql import SqlTarget, parse_db_url  # noqa: E402


def round_trip(
    target: TokenTarget, held_pair: list[str], account: Account, session: requests.Session
) -> None:
    """``held_pair[0]``: the refresh token this "client" last knew, as a runtime keeps it."""
    with target.lock() as held:
        stored = held.stored
        assert stored is not None and stored.tokens is not None, "nothing stored"
        # The compare of compare-and-swap: somebody else refreshing first would show here.
        assert stored.tokens.refresh_token == held_pair[0], "the stored pair changed behind the lock"
        tokens = refresh_tokens(
            account,
            stored.client_id,
            stored.client_secret,
            stored.redirect_uri,
            held_pair[0],
            session=session,
        )
        held.save(stored.with_tokens(tokens))
    held_pair[0] = tokens.refresh_token


@contextmanager
def postgres_target(base: str) -> Iterator[SqlTarget]:
    schema = f"wiz_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(parse_db_url(base).engine_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    target = SqlTarget(url.render_as_string(hide_password=False))
    try:
        yield target
    finally:
        target.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def mysql_target(base: str) -> Iterator[SqlTarget]:
    database = f"wiz_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(parse_db_url(base).engine_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    target = SqlTarget(sa.make_url(base).set(database=database).render_as_string(hide_password=False))
    try:
        yield target
    finally:
        target.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {database}"))
        admin.dispose()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=50, help="measured round trips per target (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured round trips first (default 5)")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        sandbox = stack.enter_context(Sandbox().start())
        account = parse_account(sandbox.base_url)
        it = sandbox.integration
        session = stack.enter_context(requests.Session())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="amocrm-bench-targets-")))

        targets: dict[str, TokenTarget] = {
            ".env": EnvFileTarget(folder / ".env"),
            "SQLite": stack.enter_context(_closing(SqlTarget(f"sqlite:///{folder / 'settings.db'}"))),
        }
        skipped: list[str] = []
        for name, env, opener in (
            ("PostgreSQL", "AMOCRM_TEST_POSTGRES_URL", postgres_target),
            ("MariaDB", "AMOCRM_TEST_MYSQL_URL", mysql_target),
        ):
            if os.environ.get(env):
                targets[name] = stack.enter_context(opener(os.environ[env]))
            else:
                skipped.append(f"{name} (set {env})")

        # Each target its own grant: a refresh token spent for one would be dead for the next.
        known: dict[str, list[str]] = {}
        for name, target in targets.items():
            code = sandbox.issue_code()
            pair = exchange_code(
                account, it.client_id, it.client_secret, it.redirect_uri, code, session=session
            )
            target.save(Connection(account.base_url, it.client_id, it.client_secret, it.redirect_uri, pair))
            known[name] = [pair.refresh_token]

        samples: dict[str, list[float]] = {name: [] for name in targets}
        bare: list[float] = []
        bare_refresh = _bare_refresher(sandbox, account, session)
        for i in range(args.warmup + args.n):
            for name, target in targets.items():
                started = time.perf_counter()
                round_trip(target, known[name], account, session)
                if i >= args.warmup:
                    samples[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            bare_refresh()
            if i >= args.warmup:
                bare.append(time.perf_counter() - started)

        baseline = statistics.median(samples[".env"])
        refresh_only = median_ms(bare)
        print(f"refresh round trip (lock, read, refresh at the sandbox, CAS save), median of {args.n}:")
        print(f"  {'bare refresh, no target':<24} {refresh_only:7.2f} ms")
        for name, measured in samples.items():
            ms = median_ms(measured)
            ratio = statistics.median(measured) / baseline
            print(
                f"  {name:<24} {ms:7.2f} ms  {ratio:5.2f}x .env   target's share {ms - refresh_only:6.2f} ms"
            )
        for line in skipped:
            print(f"  skipped: {line}")
    return 0


def _bare_refresher(sandbox: Sandbox, account: Account, session: requests.Session) -> Callable[[], None]:
    """The same refresh with no target at all, keeping its pair in memory."""
    it = sandbox.integration
    code = sandbox.issue_code()
    state = [exchange_code(account, it.client_id, it.client_secret, it.redirect_uri, code, session=session)]

    def refresh() -> None:
        state[0] = refresh_tokens(
            account, it.client_id, it.client_secret, it.redirect_uri, state[0].refresh_token, session=session
        )

    return refresh


@contextmanager
def _closing(target: SqlTarget) -> Iterator[SqlTarget]:
    try:
        yield target
    finally:
        target.close()


if __name__ == "__main__":
    raise SystemExit(main())
