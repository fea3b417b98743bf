"""``--restart-cmd`` run here: a real shell, a real process group, a real SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")

# What the wizard does on Ctrl+C: a KeyboardInterrupt in the middle of the restart.
CHILD = """
import sys
from wizard.restart import run_locally
try:
    run_locally(sys.argv[1], 600, lambda text: None)
except KeyboardInterrupt:
    sys.exit(42)
"""


def live_members(group: int) -> list[int]:
    """The processes of ``group`` that still run (zombies left to an init that does not reap them
    do not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_ctrl_c_stops_the_local_restart_and_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "group"
    command = f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}; sleep 4949 & sleep 4949; wait"
    child = subprocess.Popen([sys.executable, "-c", CHILD, command])
    group = 0
    try:
        for _ in range(600):
            if pid_file.exists():
                break
            threading.Event().wait(0.05)
        group = int(pid_file.read_text())
        assert live_members(group)  # the command runs, in a group of its own
        child.send_signal(signal.SIGINT)
        assert child.wait(60) == 42  # the interrupt still reaches the caller
        for _ in range(100):
            if not live_members(group):
                break
            threading.Event().wait(0.05)
        assert live_members(group) == []
    finally:
        if child.poll() is None:
            child.kill()
        if group and live_members(group):
            os.killpg(group, signal.SIGKILL)
