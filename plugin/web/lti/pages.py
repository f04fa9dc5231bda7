"""Pages a launch lands on: the launch's home, and the deep-linking picker for designers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from plugin import app_state
from plugin.competencies.framework import get_framework
from plugin.competencies.modules import modules_by_key, search_modules
from plugin.core.errors import Forbidden, InvalidInput
from plugin.lti.claims import (
    CLAIM_AGS_ENDPOINT,
    CLAIM_LAUNCH_PRESENTATION,
    DEEP_LINKING_REQUEST,
)
from plugin.lti.deep_linking import (
    LinkItem,
    build_response,
    deep_link_settings,
    signing_registration,
)
from plugin.lti.keys import signing_key
from plugin.lti.models import Launch
from plugin.web.audience import launch_audience
from plugin.web.designer import is_designer, report_levels
from plugin.web.i18n import localized
from plugin.web.lti import current_launch
from plugin.web.security import allow_form_target

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
    launch = _deep_linking_launch()
    return _picker(launch, request.args.getlist("selected"))


@blueprint.post("/lti/deep-link")
def deep_link_respond() -> Response | tuple[str, int]:
    """Answer the platform with a signed LtiDeepLinkingResponse of the chosen modules."""
    launch = _deep_linking_launch()
    keys = list(dict.fromkeys(key for key in request.form.getlist("module") if key))
    session = app_state.session()
    # Placeable: the organisation's modules and the national catalog; another organisation's
    # key is unknown here.
    modules = modules_by_key(session, keys, launch_audience(launch))
    settings_claim = deep_link_settings(launch)
    try:
        if not keys:
            raise InvalidInput(_("Choose at least one module."), field="module")
        missing = [key for key in keys if key not in modules]
        if missing:
            raise InvalidInput(_("Unknown module: %(key)s", key=missing[0]), field="module")
        if "ltiResourceLink" not in (settings_claim.get("accept_types") or ["ltiResourceLink"]):
            # Deep Linking 2.0 §4.4.1: only the types the platform accepts may be returned.
            raise InvalidInput(_("This LMS does not accept activity links here."), field="module")
        if len(keys) > 1 and not _accepts_multiple(settings_claim):
            raise InvalidInput(_("This course takes one module at a time."), field="module")
    except InvalidInput as exc:
        return _picker(launch, [key for key in keys if key in modules], error=exc), 400
    grades_offered = bool(launch.claims.get(CLAIM_AGS_ENDPOINT))
    target = _presentation_target(settings_claim)
    items = [
        LinkItem(
            title=localized(module, "title"),
            text=localized(module, "description"),
            # Keys of lower-case letters, digits and "_" only: Moodle rewrites other keys.
            custom={"module_key": module.key},
            target=target,
            score_maximum=100.0 if grades_offered else None,
            label=localized(module, "title"),
            resource_id=module.key,
            tag="competency_module",
        )
        for module in (modules[key] for key in keys)
    ]
    key = signing_key(session, app_state.settings().secret_key)
    return_url, token = build_response(launch, signing_registration(launch, key), items)
    allow_form_target(return_url)  # the page auto-posts the answer to the platform
    return Response(render_template("lti/deep_link_return.html", return_url=return_url, jwt=token))


def _deep_linking_launch() -> Launch:
    launch = current_launch()
    if launch.message_type != DEEP_LINKING_REQUEST:
        abort(404)
    if not is_designer(launch):
        raise Forbidden(_("Only course designers can place activities."))
    return launch


def _accepts_multiple(settings_claim: dict[str, Any]) -> bool:
    # Deep Linking 2.0 §4.4.1: accept_multiple defaults to true when absent.
    return str(settings_claim.get("accept_multiple", "true")).lower() != "false"


def _presentation_target(settings_claim: dict[str, Any]) -> str:
    """The first presentation target the platform accepts that the tool can fill."""
    targets = settings_claim.get("accept_presentation_document_targets") or ["iframe"]
    return next((t for t in targets if t in ("iframe", "window")), "iframe")


def _picker(launch: Launch, selected: list[str], error: InvalidInput | None = None) -> str:
    session = app_state.session()
    query = request.values.get("q", "").strip()
    wanted = list(dict.fromkeys(key for key in selected if key))
    audience = launch_audience(launch)
    chosen_by_key = modules_by_key(session, wanted, audience)
    chosen = [chosen_by_key[key] for key in wanted if key in chosen_by_key]
    found = search_modules(session, query, limit=MAX_PICKER_RESULTS + 1, audience=audience)
    framework = get_framework(session)
    return render_template(
        "lti/deep_link.html",
        launch=launch,
        chosen=chosen,
        modules=[m for m in found[:MAX_PICKER_RESULTS] if m.key not in chosen_by_key],
        more=len(found) > MAX_PICKER_RESULTS,
        query=query,
        multiple=_accepts_multiple(deep_link_settings(launch)),
        levels=report_levels(session, framework),
        error=error,
    )
