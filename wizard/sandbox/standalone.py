"""``amocrm-wizard sandbox``: run the sandbox in the foreground and say what to type where."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .sandbox import Sandbox


def run(
    host: str = "127.0.0.1",
    port: int = 8765,
    rate_limit: float | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """Serve until Ctrl+C, then stop cleanly."""
    sandbox = Sandbox(host=host, port=port, rate_limit=rate_limit).start()
    try:
        out.write(instructions(sandbox))
        out.flush()  # stdout may be a pipe; the person (or test) needs the text now
        # A sleep loop rather than Event.wait(): on Windows only sleep() wakes up for Ctrl+C.
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        out.write("Sandbox stopped.\n")
        out.flush()
    finally:
        sandbox.stop()


def instructions(sandbox: Sandbox) -> str:
    integration = sandbox.integration
    base = sandbox.base_url
    limit = f"{sandbox.rate_limit:g} requests/second per integration" if sandbox.rate_limit else "off"
    # The client secret is printed in full on purpose, and only here: it is a throwaway credential
    # of a local sandbox that dies with this process, and the admin has to type it somewhere.
    return (
        f"amoCRM sandbox running at {base}  (Ctrl+C to stop)\n"
        "\n"
        "Enter these in amocrm-wizard:\n"
        f"  Account address: {base}\n"
        f"  Client ID:       {integration.client_id}\n"
        f"  Client secret:   {integration.client_secret}\n"
        f"  Redirect URI:    {integration.redirect_uri}\n"
        "\n"
        "To get an authorization code:\n"
        f"  open {sandbox.consent_url()} in a browser and press Allow,\n"
        "  then copy the whole address of the page you land on;\n"
        f"  or open {base}/_sandbox/code?client_id={integration.client_id}\n"
        '  for a fresh 20-minute code, as the "Keys and scopes" tab shows it.\n'
        "\n"
        f"Request counters: {base}/_sandbox/stats\n"
        f"Rate limit: {limit}\n"
    )
