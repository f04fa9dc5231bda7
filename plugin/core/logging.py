"""One-line log records on stderr, the way process supervisors collect them."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send the tool's logs to stderr at ``level`` (idempotent)."""
    logger = logging.getLogger("plugin")
    logger.setLevel(level)
    if not any(getattr(h, "plugin_handler", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.plugin_handler = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
