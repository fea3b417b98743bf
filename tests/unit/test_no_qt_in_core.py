"""The protocol core, the targets, the runtime client and the CLI's headless path never load Qt."""

import subprocess
import sys

CODE = """
import sys
import wizard.core.account, wizard.core.oauth, wizard.core.tokens, wizard.core.connection
import wizard.schedule, wizard.core.validate, wizard.core.logs
import wizard.core.consent_flow, wizard.core.navigation
import wizard.targets, wizard.targets.envfile, wizard.targets.base
import wizard.runtime, wizard.sandbox, wizard.cli
from wizard.cli import build_parser
build_parser()
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))
print(loaded)
"""


def test_core_targets_runtime_and_cli_do_not_import_qt() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_consent_url_needs_no_http_stack() -> None:
    """The wizard builds the consent URL right after its first paint: requests (~100 ms) is
    imported only where a request is made."""
    code = (
        "import sys\n"
        "from wizard.core import consent\n"
        "from wizard.core.account import parse_account\n"
        "consent.consent_url(parse_account('mycompany'), 'cid', consent.new_state())\n"
        "consent.parse_callback('https://e.com/cb?code=c&state=s', parse_account('mycompany'), 's')\n"
        "print('requests' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
