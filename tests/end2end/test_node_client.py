"""The Node package's own tests (its ``npm test``: ``node --test test/``), run as part of this suite,
so CI runs exactly what the package declares.

They drive real axios against the sandbox (started by them through ``tests.sandbox_process``)
with this checkout's ``amocrm-wizard token`` as the credential helper, and run the seed's
backend rewritten on the package (``examples/node``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIRS = (ROOT / "clients" / "node", ROOT / "examples" / "node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node.js and npm on PATH"),
]


def test_node_client_tests_pass(tmp_path: Path) -> None:
    for folder in NODE_DIRS:
        assert (folder / "node_modules" / "axios").is_dir(), (
            f"{folder.relative_to(ROOT)} has no node_modules: run scripts/setup.sh "
            f"(npm ci --prefix {folder.relative_to(ROOT)})"
        )
    env = {**os.environ, "AMOCRM_TEST_PYTHON": sys.executable, "AMOCRM_WIZARD_LOG_DIR": str(tmp_path)}
    env.pop("AMOCRM_CLIENT_SECRET", None)
    result = subprocess.run(
        ["npm", "test", "--silent"],
        cwd=ROOT / "clients" / "node",
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    summary = dict(
        line[2:].split(" ", 1)
        for line in result.stdout.splitlines()
        if line.startswith("# ") and " " in line[2:]
    )
    assert int(summary["fail"]) == 0 and int(summary["pass"]) >= 19, summary
