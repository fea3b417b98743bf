"""The runtime client a backend uses: bearer auth that refreshes itself, safely everywhere.

    from wizard.runtime import AmoCRMClient
    from wizard.targets import open_target

    client = AmoCRMClient(open_target(env="/srv/backend/.env"))
    client.get("/api/v4/leads/123").json()

No Qt is imported here.
"""

from wizard.core.errors import ReauthorizationRequired
from wizard.runtime.auth import AmoCRMAuth
from wizard.runtime.client import AmoCRMClient
from wizard.runtime.source import TokenSource

__all__ = ["AmoCRMAuth", "AmoCRMClient", "ReauthorizationRequired", "TokenSource"]
