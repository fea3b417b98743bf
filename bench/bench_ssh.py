"""An ssh:// refresh round trip against a local .env refresh, both on loopback.

One round trip is what ``amocrm-wizard refresh`` does: take the target's lock, re-read the
pair under it, spend the refresh token at the sandbox's token endpoint, save the new pair
and read it back, let the lock go. For the ssh:// target that means the checks before the
lock (SFTP stats, a probe file, the flock check once per session), a remote ``flock``
process held on an exec channel, and an atomic replace over SFTP, on a real sshd
(tests/ssh_server.py) with the sandbox in this process.

- local:     a .env in a temp folder (the baseline);
- ssh warm:  one SshEnvTarget kept open, as a runtime client or the GUI keeps it;
- ssh cold:  a new SshEnvTarget per round trip (TCP, key exchange, login), as one CLI run.

Iterations are interleaved so drift on a shared machine hits all of them alike. Needs root
and Debian's openssh-server (scripts/setup.sh).

    .venv/bin/python bench/bench_ssh.py [-n 30] [--warmup 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import report  # noqa: E402

from tests.helpers import connect_sandbox  # noqa: E402
from tests.ssh_server import SSHD, USER, client_home, running_ssh_server, server_folder  # noqa: E402
from wizard.runtime.source import TokenSource  # noqa: E402
from wizard.sandbox import Sandbox  # noqa: E402
from wizard.targets.base import TokenTarget  # noqa: E402
from wizard.targets.envfile import EnvFileTarget  # noqa: E402
from wizard.targets.ssh import SshEnvTarget  # noqa: E402


def refresh(target: TokenTarget) -> None:
    TokenSource(target).refresh()


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="round trips per target")
    parser.add_argument("--warmup", type=int, default=3)
    options = parser.parse_args()
    if not SSHD.exists() or os.geteuid() != 0:
        print("bench_ssh needs root and /usr/sbin/sshd (scripts/setup.sh installs openssh-server).")
        return 1
    work = Path(tempfile.mkdtemp(prefix="amocrm-bench-ssh-"))
    with Sandbox() as sandbox, running_ssh_server() as server:
        folder = server_folder(server)
        try:
            client_home(server, work / "home")
            os.environ["HOME"] = str(work / "home")
            os.environ.pop("SSH_AUTH_SOCK", None)
            local = EnvFileTarget(work / ".env")
            local.save(connect_sandbox(sandbox))
            url = f"ssh://{USER}@127.0.0.1:{server.port}{folder}/.env"
            warm = SshEnvTarget(url)
            warm.save(connect_sandbox(sandbox))

            def cold() -> None:
                target = SshEnvTarget(url)
                try:
                    refresh(target)
                finally:
                    target.close()

            runs: dict[str, Callable[[], None]] = {
                "local .env": lambda: refresh(local),
                "ssh:// warm": lambda: refresh(warm),
                "ssh:// cold": cold,
            }
            samples: dict[str, list[float]] = {name: [] for name in runs}
            for index in range(options.warmup + options.n):
                for name, run in runs.items():
                    elapsed = timed(run)
                    if index >= options.warmup:
                        samples[name].append(elapsed)
            warm.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    print(f"refresh round trips on loopback, {options.n} each (median):")
    baseline = samples["local .env"]
    for name in ("ssh:// warm", "ssh:// cold"):
        report(name, samples[name], baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
