"""Plain helpers for tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from wizard.core.account import parse_account
from wizard.core.connection import Connection
from wizard.core.oauth import exchange_code
from wizard.core.tokens import TokenPair
from wizard.sandbox import Sandbox


def awkward_connection(n: int = 1) -> Connection:
    """A connection whose secret and redirect URI a .env must quote (``#``, ``$``, ``&``, ``=``);
    ``n`` tells the pairs apart."""
    pair = TokenPair(
        f"eyJhbGciOi.access{n}.sig", f"def50200{n:032x}", datetime(2026, 12, 2, 9, tzinfo=timezone.utc)
    )
    return Connection(
        "https://mycompany.amocrm.ru",
        "0b2f7a52-6b4f-4e0e-9c39-0a4b2d2d7a11",
        "s3cr3t/with+odd=chars#and$dollar",
        "https://example.com/amocrm?x=1&y=2",
        pair,
    )


def connect_sandbox(sb: Sandbox) -> Connection:
    """The connection a successful consent + code exchange produces."""
    account = parse_account(sb.base_url)
    it = sb.integration
    tokens = exchange_code(account, it.client_id, it.client_secret, it.redirect_uri, sb.issue_code())
    return Connection(account.base_url, it.client_id, it.client_secret, it.redirect_uri, tokens)


def allow(sb: Sandbox, state: str, decision: str = "allow") -> str:
    """Do what a browser does on the consent page: load it, press a button, return the redirect."""
    import re

    import requests

    from wizard.core.consent import consent_url

    page = requests.get(consent_url(parse_account(sb.base_url), sb.integration.client_id, state), timeout=5)
    assert page.status_code == 200 and 'id="allow"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields["decision"] = decision
    answer = requests.post(f"{sb.base_url}/oauth/decide", data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def integration_flags(sb: Sandbox, **override: str) -> list[str]:
    """``--account … --client-id … --redirect-uri …`` for the sandbox's integration. A keyword
    replaces one of them or adds another flag (``redirect_uri="…"``, ``code="…"``)."""
    it = sb.integration
    values = {"--account": sb.base_url, "--client-id": it.client_id, "--redirect-uri": it.redirect_uri}
    values.update({f"--{k.replace('_', '-')}": v for k, v in override.items()})
    return [x for kv in values.items() for x in kv]


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``amocrm-wizard ARGS`` as a subprocess of this interpreter, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


NODE_MODULES = Path(__file__).resolve().parent / "node" / "node_modules"

#: For tests that read a .env with Node's dotenv, what the seed's backend reads it with.
needs_node_dotenv = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "dotenv").exists(),
    reason="needs node and tests/node/node_modules/dotenv (npm install --prefix tests/node)",
)


def node_dotenv_values(path: Path) -> dict[str, str]:
    """The values Node's dotenv reads from the .env at ``path``."""
    script = (
        "console.log(JSON.stringify(require('dotenv').parse(require('fs').readFileSync(process.argv[1]))))"
    )
    out = subprocess.run(
        ["node", "-e", script, str(path)],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: dict[str, str] = json.loads(out.stdout)
    return parsed
