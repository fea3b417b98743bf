"""Addresses the wizard opens in the admin's own browser, and the one seam that opens them.

Plain Python: the URL rules are testable without Qt, and tests replace :data:`opener`
so that no browser is ever started by a test.
"""

from __future__ import annotations

from collections.abc import Callable

#: Opens a URL in the system browser. ``None``: ``QDesktopServices.openUrl``.
opener: Callable[[str], object] | None = None


def settings_url(base_url: str) -> str:
    """amoCRM's (and Kommo's) integration settings for the account: Settings → Integrations."""
    return base_url.rstrip("/") + "/settings/widgets/"


def open_url(url: str) -> bool:
    """Open ``url`` in the system browser; False when nothing could open it."""
    if opener is not None:
        result = opener(url)
        return result is None or bool(result)
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    return bool(QDesktopServices.openUrl(QUrl(url)))
