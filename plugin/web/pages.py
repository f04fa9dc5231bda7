"""Public pages: the tool's start page with the framework it carries."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from plugin.competencies.framework import count_items, get_framework, item_iri
from plugin.web.request_db import get_session

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index() -> str:
    """What the tool is, and the framework it rolls records up into."""
    session = get_session()
    framework = get_framework(session)
    counts = count_items(session, framework) if framework else {}
    settings = current_app.extensions["plugin.settings"]
    return render_template("index.html", framework=framework, counts=counts, settings=settings)


@blueprint.get("/framework")
def framework_page() -> str:
    """The whole framework: competencies, indicators, attitudes, levels, classes and targets."""
    session = get_session()
    framework = get_framework(session)
    iri_base = current_app.extensions["plugin.settings"].framework.iri_base
    return render_template(
        "framework.html",
        framework=framework,
        iri=lambda code: item_iri(iri_base, framework.key, code) if framework else "",
    )
