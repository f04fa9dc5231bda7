"""Pages a launch lands on: the launch's home, and the deep-linking picker for designers."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import or_, select

from plugin.competencies.models import Module
from plugin.core.errors import Forbidden, InvalidInput
from plugin.lti.claims import (
    ADMINISTRATOR,
    CLAIM_AGS_ENDPOINT,
    CLAIM_LAUNCH_PRESENTATION,
    DEEP_LINKING_REQUEST,
    DESIGNER,
)
from plugin.lti.deep_linking import (
    LinkItem,
    build_response,
    deep_link_settings,
    signing_registration,
)
from plugin.lti.keys import signing_key
from plugin.web.i18n import localized
from plugin.web.launch_context import current_launch, settings
from plugin.web.request_db import get_session

blueprint = Blueprint("lti_pages", __name__)
MAX_PICKER_RESULTS = 50


@blueprint.get("/lti/home")
def home() -> str:
    """Where a resource-link launch lands: who launched what, from which course."""
    launch = current_launch()
    presentation = launch.claims.get(CLAIM_LAUNCH_PRESENTATION) or {}
    return_url = presentation.get("return_url", "")
    if not isinstance(return_url, str) or not return_url.lower().startswith(("https:", "http:")):
        # Only web URLs become the link: a "javascript:" return_url would run in our origin.
        return_url = ""
    return render_template(
        "lti/home.html",
        launch=launch,
        person=launch.person,
        return_url=return_url,
    )


@blueprint.get("/lti/deep-link")
def deep_link() -> str:
    """The catalog picker a designer sees on a Deep Linking request."""
    launch = current_launch()
    if launch.message_type != DEEP_LINKING_REQUEST:
        abort(404)
    if launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers can place activities."))
    query = request.args.get("q", "").strip()
    statement = select(Module).order_by(Module.key).limit(MAX_PICKER_RESULTS)
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            or_(
                Module.title_zh.ilike(pattern),
                Module.title_en.ilike(pattern),
                Module.key.ilike(pattern),
            )
        )
    modules = get_session().scalars(statement).all()
    settings_claim = deep_link_settings(launch)
    return render_template(
        "lti/deep_link.html",
        launch=launch,
        modules=modules,
        query=query,
        multiple=str(settings_claim.get("accept_multiple", "true")).lower() != "false",
    )


@blueprint.post("/lti/deep-link")
def deep_link_respond() -> Response:
    """Answer the platform with a signed LtiDeepLinkingResponse of the chosen modules."""
    launch = current_launch()
    if launch.message_type != DEEP_LINKING_REQUEST:
        abort(404)
    if launch.role not in (DESIGNER, ADMINISTRATOR):
        raise Forbidden(_("Only course designers can place activities."))
    keys = request.form.getlist("module")
    if not keys:
        raise InvalidInput(_("Choose at least one module."), field="module")
    session = get_session()
    modules = session.scalars(select(Module).where(Module.key.in_(keys))).all()
    found = {m.key for m in modules}
    missing = [k for k in keys if k not in found]
    if missing:
        raise InvalidInput(_("Unknown module: %(key)s", key=missing[0]), field="module")
    grades_offered = bool(launch.claims.get(CLAIM_AGS_ENDPOINT))
    items = [
        LinkItem(
            title=localized(module, "title"),
            text=localized(module, "description"),
            # Keys of lower-case letters, digits and "_" only: Moodle rewrites other keys.
            custom={"module_key": module.key},
            score_maximum=100.0 if grades_offered else None,
            label=localized(module, "title"),
            resource_id=module.key,
            tag="competency_module",
        )
        for module in modules
    ]
    key = signing_key(session, settings().secret_key)
    session.commit()
    return_url, token = build_response(launch, signing_registration(launch, key), items)
    return Response(render_template("lti/deep_link_return.html", return_url=return_url, jwt=token))
