"""The built-in sandbox: a local amoCRM look-alike on loopback (consent page, token endpoint,
API), for the wizard's ``--demo`` mode, ``amocrm-wizard sandbox`` and the test suites.

    with Sandbox() as sb:
        sb.base_url, sb.integration.client_id, sb.issue_code()
"""

from .integration import SandboxIntegration
from .sandbox import Sandbox
from .standalone import run
from .stats import SandboxStats

__all__ = ["Sandbox", "SandboxIntegration", "SandboxStats", "run"]
