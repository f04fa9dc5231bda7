"""Blueprints and the request-level glue: sessions, locale, error pages."""

from __future__ import annotations

import importlib

from flask import Flask

from plugin import app_state
from plugin.web import (
    api,
    audit_admin,
    competency_map,
    content_files,
    course,
    coverage,
    designer,
    designer_content,
    designer_copy,
    errors,
    exports,
    health,
    heatmap,
    i18n,
    inputs,
    modules,
    outside_template,
    pages,
    player,
    security,
    transaction,
    vendor,
    xapi_admin,
)
from plugin.web.lti import context as lti_context
from plugin.web.lti import launch as lti_launch
from plugin.web.lti import pages as lti_pages


def init_app(app: Flask) -> None:
    """Attach every blueprint and request hook to ``app``."""
    inputs.init_app(app)  # before any rule is added: ``<int:...>`` is the strict converter
    transaction.init_app(app)
    app_state.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    lti_context.init_app(app)
    security.init_app(app)
    lti_launch.init_app(app)
    api.init_app(app)
    app.register_blueprint(lti_pages.blueprint)
    course.init_app(app)
    for view in (
        coverage, exports, designer, designer_copy, designer_content, content_files, modules,
        competency_map, health, pages, xapi_admin, audit_admin, heatmap, outside_template, vendor,
        player,
    ):  # fmt: skip
        app.register_blueprint(view.blueprint)
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
