"""The JSON API under ``/api/v1``: declared endpoints, bearer tokens, an OpenAPI document."""

from __future__ import annotations

from flask import Flask

from plugin.web.api import openapi, views  # noqa: F401 (the modules declare the routes)
from plugin.web.api.auth import InsufficientScope, Unauthenticated, auth_error_response
from plugin.web.api.declare import blueprint

blueprint.register_error_handler(Unauthenticated, auth_error_response)
blueprint.register_error_handler(InsufficientScope, auth_error_response)


def init_app(app: Flask) -> None:
    """Register the API blueprint on ``app``."""
    app.register_blueprint(blueprint)
