"""Plain helpers for tests (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys

from wizard.core.account import parse_account
from wizard.core.connection import Connection
from wizard.core.oauth import exchange_code
from wizard.sandbox import Sandbox


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
