"""Refusals of the sandbox's services: JSON for tools, OAuth 2 errors at the token endpoint."""

from __future__ import annotations

from flask import Response, jsonify, request

from plugin.core.errors import PluginError
from plugin.web.errors import error_response

SERVICE_PREFIXES = ("/sandbox/api/", "/sandbox/token")


class TokenError(PluginError):
    """The token endpoint refuses a request (RFC 6749 §5.2 error codes)."""

    def __init__(self, oauth_error: str, message: str, *, field: str | None = None):
        super().__init__(message, field=field, code=oauth_error)
        # RFC 6749 §5.2: invalid_client may answer 401; the other errors are 400.
        self.status = 401 if oauth_error == "invalid_client" else 400


class BearerError(PluginError):
    """A service call without a usable access token (RFC 6750 §3.1)."""

    def __init__(self, bearer_error: str, message: str):
        super().__init__(message, code=bearer_error)
        self.status = 403 if bearer_error == "insufficient_scope" else 401


def is_service_request() -> bool:
    """True for the token endpoint and the AGS / NRPS API, which tools call, not people."""
    return request.path.startswith(SERVICE_PREFIXES)


def service_error_response(exc: PluginError) -> Response:
    """A refusal as the caller expects it: OAuth JSON, Bearer challenge, or the error page."""
    if not is_service_request():
        return error_response(exc.status, exc.code, exc.message, exc.field)
    if isinstance(exc, TokenError):
        body = {"error": exc.code, "error_description": exc.message}
        response = jsonify(body)
    else:
        response = jsonify({"error": exc.to_dict()})
    response.status_code = exc.status
    if isinstance(exc, BearerError):
        challenge = 'Bearer realm="sandbox"'
        if exc.code != "missing_token":
            challenge += f', error="{exc.code}"'
        response.headers["WWW-Authenticate"] = challenge
    if isinstance(exc, TokenError):
        response.headers["Cache-Control"] = "no-store"
    return response
