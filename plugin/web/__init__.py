"""Blueprints and the request-level glue: sessions, locale, error pages."""

from __future__ import annotations

from flask import Flask

from plugin.web import errors, health, i18n, launch_context, lti, lti_pages, pages, request_db


def init_app(app: Flask) -> None:
    """Attach every blueprint and request hook to ``app``."""
    request_db.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    launch_context.init_app(app)
    lti.init_app(app)
    app.register_blueprint(lti_pages.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    if app.extensions["plugin.settings"].sandbox.enabled:
        from plugin.web import sandbox  # development only: config refuses it in production

        sandbox.init_app(app)
