"""``amocrm-wizard token`` on the path that needs no refresh vs a bare ``python -c "import requests"``.

A backend runs the helper on every start, so its cost is a whole process: interpreter
start, reading the target, printing. Both are whole processes, alternated so machine
noise hits both alike. Also checks that the run imported none of requests, PyJWT,
filelock or SQLAlchemy. Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _common import connected_sandbox, report

HEAVY = ("requests", "jwt", "filelock", "sqlalchemy")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def heavy_imports(env_path: str, env: dict[str, str]) -> list[str]:
    """Which of HEAVY the no-refresh path imported (run in-process, as the command does)."""
    probe = (
        "import json, sys; from wizard.cli import main; "
        f"code = main(['token', '--env', {env_path!r}]); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True
    )
    return list(json.loads(result.stderr.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    sandbox, env_path = connected_sandbox()
    env = {**os.environ, "AMOCRM_WIZARD_LOG_DIR": str(env_path.parent / "logs")}
    bare = [sys.executable, "-c", "import requests"]
    helper = [sys.executable, "-m", "wizard", "token", "--env", str(env_path)]
    for cmd in (bare, helper):  # warm the OS file cache
        timed(cmd, env)
    helper_times, bare_times = [], []
    for _ in range(runs):
        bare_times.append(timed(bare, env))
        helper_times.append(timed(helper, env))
    report(f"amocrm-wizard token, no refresh ({runs} runs)", helper_times, bare_times, target=1.5)
    imported = heavy_imports(str(env_path), env)
    print(f"heavy modules imported on that path: {', '.join(imported) or 'none'}")
    assert sandbox.stats.refreshes == 0, "the bench must measure the no-refresh path"
    sandbox.stop()


if __name__ == "__main__":
    main()
