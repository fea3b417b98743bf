"""One logger for the whole program, writing to the user's log folder, secrets redacted."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from wizard.core.redact import RedactingFilter

LOGGER_NAME = "amocrm_wizard"


def log_dir() -> Path:
    override = os.environ.get("AMOCRM_WIZARD_LOG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_log_dir("amocrm-wizard", appauthor=False))


def setup_logging(verbose: bool = False) -> logging.Logger:
    """Attach the file handler once; a log folder we cannot create costs nothing but the log."""
    logger = logging.getLogger(LOGGER_NAME)
    if getattr(logger, "_amocrm_configured", False):
        return logger
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    redacting = RedactingFilter()
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # Here, not at the top: logging.handlers brings sockets, pickle and queues, and the
        # modules that only name the logger (the targets, read while the GUI's consent page
        # loads) do not need them.
        from logging.handlers import RotatingFileHandler

        handler: logging.Handler = RotatingFileHandler(
            folder / "amocrm-wizard.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
        handler.addFilter(redacting)
        logger.addHandler(handler)
    except OSError:
        logger.addHandler(logging.NullHandler())
    if verbose:
        console = logging.StreamHandler()
        console.addFilter(redacting)
        logger.addHandler(console)
    logger._amocrm_configured = True  # type: ignore[attr-defined]
    return logger
