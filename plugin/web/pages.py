"""Public pages: the tool's start page with the framework it carries."""

from __future__ import annotations

from flask import Blueprint, render_template

from plugin import app_state
from plugin.competencies.framework import count_items, get_framework, item_iri

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index() -> str:
    """What the tool is, and the framework it rolls records up into."""
    session = app_state.session()
    framework = get_framework(session)
    counts = count_items(session, framework) if framework else {}
    settings = app_state.settings()
    return render_template("index.html", framework=framework, counts=counts, settings=settings)


@blueprint.get("/framework")
def framework_page() -> str:
    """The whole framework: competencies, indicators, attitudes, levels, classes and targets."""
    session = app_state.session()
    framework = get_framework(session)
    iri_base = app_state.settings().framework.iri_base
    return render_template(
        "framework.html",
        framework=framework,
        iri=lambda code: item_iri(iri_base, framework.key, code) if framework else "",
    )
