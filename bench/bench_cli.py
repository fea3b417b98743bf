"""The CLI's own overhead: ``amocrm-wizard test`` vs a bare ``requests.get`` to the same endpoint.

Both are whole processes (interpreter start included), alternated so machine noise hits
both alike. Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _common import connected_sandbox, report
from dotenv import dotenv_values


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    sandbox, env_path = connected_sandbox()
    token = dotenv_values(env_path)["AMOCRM_ACCESS_TOKEN"]
    env = {**os.environ, "AMOCRM_WIZARD_LOG_DIR": str(env_path.parent / "logs")}
    bare = [
        sys.executable,
        "-c",
        "import requests, sys; "
        "r = requests.get(sys.argv[1], headers={'Authorization': 'Bearer ' + sys.argv[2]}, timeout=10); "
        "print(r.json()['name'])",
        f"{sandbox.base_url}/api/v4/account",
        str(token),
    ]
    cli = [sys.executable, "-m", "wizard", "test", "--env", str(env_path)]
    for cmd in (bare, cli):  # warm the OS file cache
        timed(cmd, env)
    cli_times, bare_times = [], []
    for _ in range(runs):
        bare_times.append(timed(bare, env))
        cli_times.append(timed(cli, env))
    report(f"amocrm-wizard test ({runs} runs)", cli_times, bare_times, target=1.5)
    sandbox.stop()


if __name__ == "__main__":
    main()
