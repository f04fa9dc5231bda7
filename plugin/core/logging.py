"""One-line log records on stderr, the way process supervisors collect them."""

from __future__ import annotations

import logging
import re

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Query parameters that carry credentials: the launch token (the tool's session on every
# link), dynamic registration's registration_token, and the tokens of OAuth-style callers;
# and the OIDC login's hints (LTI 1.3 core §5.1.1.1), which platforms fill with user ids,
# emails or session data: opaque to the tool and nothing a request log should keep.
SECRET_PARAMETERS = (
    "lt", "registration_token", "id_token", "access_token", "token",
    "login_hint", "lti_message_hint",
)  # fmt: skip
SECRET_QUERY_VALUE = re.compile(
    r"(?P<name>[?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"']+"
)
REDACTED = "[redacted]"
# The web servers' logs: they write request lines and URIs, query strings included.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact_query_secrets(text: str) -> str:
    """``text`` with the values of credential-carrying query parameters replaced."""
    return SECRET_QUERY_VALUE.sub(lambda match: match.group("name") + REDACTED, text)


class QuerySecretFilter(logging.Filter):
    """Rewrites a request-log record so that no token from a URL's query string is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message (always keeps the record)."""
        message = record.getMessage()
        redacted = redact_query_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str) -> None:
    """Send the tool's logs to stderr at ``level`` (idempotent), and keep launch and
    registration tokens out of the web server's request log."""
    logger = logging.getLogger("plugin")
    logger.setLevel(level)
    if not any(getattr(h, "plugin_handler", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.plugin_handler = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    for name in REQUEST_LOGGERS:
        request_log = logging.getLogger(name)
        if not any(isinstance(f, QuerySecretFilter) for f in request_log.filters):
            request_log.addFilter(QuerySecretFilter())
