"""The Node client's cost: GETs through ``amocrmAuth(axios)`` vs bare axios with a fixed bearer header.

1,000 GETs (alternating blocks of 25, same sandbox, same Node process) after a warm-up;
the client's first request, which runs ``amocrm-wizard token`` once, is printed apart: a
backend pays it once per start. Target: <= 1.05x. On a busy machine the ratio wobbles by
a few percent either way, so the cost of the interceptors alone is printed too, measured
with an axios adapter that answers at once (no network, no noise from the server).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import statistics
import subprocess
import sys

from _common import ROOT, connected_remote_sandbox, report
from dotenv import dotenv_values


def helper_script(folder: str) -> str:
    """``amocrm-wizard`` running this checkout with this interpreter, as ``command`` may name it."""
    path = os.path.join(folder, "amocrm-wizard")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m wizard "$@"\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--per-block", type=int, default=25)
    options = parser.parse_args()
    if shutil.which("node") is None or not (ROOT / "clients/node/node_modules/axios").is_dir():
        sys.exit("needs node and clients/node/node_modules (npm ci --prefix clients/node)")
    remote, env_path = connected_remote_sandbox()
    token = str(dotenv_values(env_path)["AMOCRM_ACCESS_TOKEN"])
    env = {**os.environ, "AMOCRM_WIZARD_LOG_DIR": str(env_path.parent / "logs")}
    command = helper_script(str(env_path.parent))
    args = [remote.base_url, str(env_path), command, token, str(options.blocks), str(options.per_block)]
    result = subprocess.run(
        ["node", str(ROOT / "bench" / "bench_node.js"), *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    times = json.loads(result.stdout)
    total = options.blocks * options.per_block
    report(f"{total} GETs, amocrmAuth(axios) vs bare axios", times["ours"], times["bare"], target=1.05)
    print(f"first request (runs amocrm-wizard token once): {times['first'] * 1000:.0f} ms")
    added = statistics.median(times["oursLocal"]) - statistics.median(times["bareLocal"])
    print(f"interceptors alone (no network, 20,000 requests): {added / 20000 * 1e6:+.1f} us per request")
    stats = remote.stats()
    assert stats["refreshes"] == 0, stats
    remote.stop()


if __name__ == "__main__":
    main()
