"""Blueprints and the request-level glue: sessions, locale, error pages."""

from __future__ import annotations

import importlib

from flask import Flask

from plugin import app_state
from plugin.web import (
    api,
    audit_admin,
    catalog,
    competency_map,
    course,
    designer,
    designer_copy,
    errors,
    exports,
    health,
    i18n,
    inputs,
    launch_context,
    lti,
    lti_pages,
    modules_view,
    outside_template,
    pages,
    security,
    views_heatmap,
    xapi_admin,
)


def init_app(app: Flask) -> None:
    """Attach every blueprint and request hook to ``app``."""
    inputs.init_app(app)  # before any rule is added: ``<int:...>`` is the strict converter
    app_state.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    launch_context.init_app(app)
    security.init_app(app)
    lti.init_app(app)
    api.init_app(app)
    app.register_blueprint(lti_pages.blueprint)
    course.init_app(app)
    app.register_blueprint(catalog.blueprint)
    app.register_blueprint(exports.blueprint)
    app.register_blueprint(designer.blueprint)
    app.register_blueprint(designer_copy.blueprint)
    app.register_blueprint(modules_view.blueprint)
    app.register_blueprint(competency_map.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(xapi_admin.blueprint)
    app.register_blueprint(audit_admin.blueprint)
    app.register_blueprint(views_heatmap.blueprint)
    app.register_blueprint(outside_template.blueprint)
    sandbox = app_state.settings(app).sandbox
    if sandbox.enabled:  # development only: config refuses it in production
        load_extension(app, sandbox.module)


def load_extension(app: Flask, module_name: str) -> None:
    """Import the package ``module_name`` by name and let its ``init_app`` attach to ``app``.

    The sandbox LMS lives beside plugin/ and the product never imports it (an import-linter
    contract), so a production install needs neither it nor its dependencies.
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"sandbox.enabled needs the package {module_name!r} and its dependencies "
            f"(pip install -e '.[sandbox]'): {exc}"
        ) from exc
    module.init_app(app)
