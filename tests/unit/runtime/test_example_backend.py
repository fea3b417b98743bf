"""The example backend moves a deal in the sandbox, renewing a dead token on the way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wizard.sandbox import Sandbox

flask = pytest.importorskip("flask", reason="the example needs Flask (pip install flask)")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lesson_done_backend.py"


def load_example(env_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMOCRM_ENV", str(env_path))
    monkeypatch.setenv("LESSON_DONE_STATUS_ID", "142")
    spec = importlib.util.spec_from_file_location("lesson_done_backend", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lesson_done_backend", module)
    spec.loader.exec_module(module)
    return module


def test_a_finished_lesson_moves_the_deal(
    sandbox: Sandbox, connected_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.expire_access_tokens()  # the night the token died
    app = load_example(connected_env, monkeypatch).app
    answer = app.test_client().post("/lessons/10001/done")
    assert answer.status_code == 200 and answer.get_json() == {"deal": 10001, "status_id": 142}
    assert sandbox.leads[10001]["status_id"] == 142
    assert sandbox.stats.refreshes == 1


def test_a_dead_refresh_token_is_a_clear_503(
    sandbox: Sandbox, connected_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.expire_access_tokens()
    sandbox.revoke_refresh_tokens()
    app = load_example(connected_env, monkeypatch).app
    answer = app.test_client().post("/lessons/10001/done")
    assert answer.status_code == 503 and "run amocrm-wizard again" in answer.get_json()["error"]
    assert sandbox.leads[10001]["status_id"] != 142
