"""A refreshing process killed at 200 random moments never leaves a dead pair behind,
except when the kill lands inside the window between the refresh request and the save."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.crash_harness import run_trials
from wizard.sandbox import Sandbox


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_sigkill_at_200_random_moments(
    sandbox: Sandbox, connected_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_trials(sandbox, connected_env, trials=200, seed=20261201)
    with capsys.disabled():
        print("\n" + report.summary())
    assert report.trials == 200
    assert report.lost_outside_window == 0
    assert report.lost <= report.in_window
    # The kills must land both inside and outside the window, or the test shows nothing.
    assert report.in_window >= 20 and report.trials - report.in_window >= 20, report.summary()
    # Unowned lines survive every kill too.
    assert connected_env.read_text().startswith("# backend settings\nPORT=3000\n")
