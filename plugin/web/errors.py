"""Every error becomes one response design: JSON under ``/api``, a readable page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from plugin.core.errors import PluginError

log = logging.getLogger("plugin.web")


def wants_json() -> bool:
    """True for the JSON API and for clients that ask only for JSON."""
    if request.path.startswith("/api/") or request.path == "/api":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """Render one error as JSON or HTML with ``status``."""
    if wants_json():
        body: dict[str, str] = {"code": code, "message": message}
        if field:
            body["field"] = field
        response = jsonify({"error": body})
    else:
        response = Response(
            render_template("error.html", status=status, code=code, message=message, field=field)
        )
    response.status_code = status
    return response


def _handle_plugin_error(exc: PluginError) -> Response:
    if exc.status >= 500:
        log.error("request %s failed: %s (%s)", request.path, exc.message, exc.code)
    else:
        log.info("request %s refused: %s (%s)", request.path, exc.message, exc.code)
    return error_response(exc.status, exc.code, exc.message, exc.field)


def _handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, InternalServerError):
        # The original exception is logged by Flask; the page must not show its details.
        return error_response(500, "internal_error", _("Something went wrong on our side."))
    code = (exc.name or "error").lower().replace(" ", "_")
    messages = {
        404: _("This page does not exist."),
        405: _("This address does not accept this kind of request."),
        413: _("The request is too large."),
    }
    return error_response(status, code, messages.get(status, exc.description or exc.name))


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(PluginError, _handle_plugin_error)
    app.register_error_handler(HTTPException, _handle_http_error)
