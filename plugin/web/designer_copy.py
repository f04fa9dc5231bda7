"""Copy a module into the launch's organisation's catalog: how an agency adapts a module of
the national catalog, which no launch may change."""

from __future__ import annotations

from flask import Blueprint, redirect
from flask_babel import gettext as _
from werkzeug.wrappers import Response  # redirect()'s declared type

from plugin import app_state
from plugin.content.errors import PackageRefused
from plugin.content.services import copy_with_package, limits_for, storage_for
from plugin.core.errors import Forbidden, InvalidInput
from plugin.web.audience import launch_audience, readable_module
from plugin.web.designer import is_designer, require_framework
from plugin.web.designer_content_messages import refusal_message
from plugin.web.lti import current_launch, launch_url_for

blueprint = Blueprint("designer_copy", __name__, url_prefix="/designer")


@blueprint.post("/modules/<key>/copy")
def copy(key: str) -> Response:
    """Copy a module the launch reads (national or its own) into its organisation's catalog,
    with its newest SCORM package version, and open the copy's editor."""
    launch = current_launch()
    assert launch is not None
    if not is_designer(launch):
        raise Forbidden(_("Only course designers can edit the module catalog."))
    session = app_state.session()
    module = readable_module(session, key, launch_audience(launch))
    settings = app_state.settings()
    try:
        duplicate = copy_with_package(
            session,
            storage_for(settings.content),
            limits_for(settings.content),
            module,
            launch.deployment.registration.organisation_id,
            require_framework(session),
            settings.framework.iri_base,
        )
    except PackageRefused as exc:
        session.rollback()  # no copy without its package
        raise InvalidInput(refusal_message(exc), field="package", code=exc.code) from None
    return redirect(launch_url_for("designer.edit_module", key=duplicate.key, copied=1), code=303)
