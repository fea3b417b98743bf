"""Masking of secrets and tokens: they never appear in full in output or logs."""

from __future__ import annotations

import logging
import re
import threading

ELLIPSIS = "…"

# Shapes of amoCRM credentials worth catching even when nobody registered them:
# JWT access tokens and the "def502…" refresh tokens and authorization codes.
_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    re.compile(r"def50200[0-9a-fA-F]{16,}"),
)

_known: set[str] = set()
_known_lock = threading.Lock()


def mask(value: str | None, keep: int = 6) -> str:
    """First characters, then an ellipsis; short values are masked entirely."""
    if not value:
        return ""
    if len(value) <= keep * 2:
        return ELLIPSIS
    return value[:keep] + ELLIPSIS


def register_secret(value: str | None) -> None:
    """Make the log filter hide this exact value wherever it appears."""
    if value and len(value) >= 8:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    """Replace every registered secret and every token-shaped string in ``text``."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, mask(secret))
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: mask(m.group(0)), text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
