"""Fixtures every suite shares: a real sandbox on loopback, a connected .env, quiet logs.

The environment is set at import time, before any QApplication or keyring exists.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Qt: offscreen everywhere. Chromium refuses to run as root with its sandbox, so tests
# (and only tests and CI) switch it off; software rendering without GPU noise.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# Logs of the code under test go to a throwaway folder, not the developer's home.
os.environ.setdefault("AMOCRM_WIZARD_LOG_DIR", tempfile.mkdtemp(prefix="amocrm-wizard-test-logs-"))
os.environ.pop("AMOCRM_CLIENT_SECRET", None)
# A shell that starts a job in the background without job control (`cmd &` in a script,
# nohup) ignores SIGINT for it, and an ignored signal stays ignored in every child: the
# tests that press Ctrl+C in a subprocess would see it do nothing. Ctrl+C is what they test.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from tests.helpers import connect_sandbox
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget

PYTHON = sys.executable


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox per test: starting one costs a few milliseconds."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def connected_env(sandbox: Sandbox, tmp_path: Path) -> Path:
    """A .env holding a live connection to ``sandbox``, beside a line the wizard does not own."""
    path = tmp_path / ".env"
    path.write_text("# backend settings\nPORT=3000\n", encoding="utf-8")
    EnvFileTarget(path).save(connect_sandbox(sandbox))
    return path


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the CLI as a subprocess."""
    env = dict(os.environ)
    env.pop("AMOCRM_CLIENT_SECRET", None)
    env["AMOCRM_WIZARD_LOG_DIR"] = str(tmp_path / "logs")
    env["PYTHONUNBUFFERED"] = "1"
    return env
