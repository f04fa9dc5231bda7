"""LTI endpoints: OIDC login, launch, JWKS, configuration and dynamic registration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse  # redirect()'s declared type

from plugin import app_state
from plugin.attainment import learner_at_launch
from plugin.competencies.models import SCORM_KIND
from plugin.lti.adapters import ToolRequest
from plugin.lti.dynamic_registration import (
    ToolDescription,
    admit_configuration_url,
    register_dynamically,
)
from plugin.lti.errors import LaunchRejected, RegistrationError
from plugin.lti.keys import ensure_active_key, public_jwks
from plugin.lti.keysets import KeySetCache
from plugin.lti.launch import (
    DeploymentPending,
    LaunchPolicy,
    StorageCheckNeeded,
    accept_launch,
    origin_of,
)
from plugin.lti.launch_records import AcceptedLaunch
from plugin.lti.login import (
    CAPACITY_CODES,
    LOGIN_RETRY_AFTER_SECONDS,
    LoginLimits,
    begin_login,
)
from plugin.web.learning import begin_attempt
from plugin.web.lti import token_for
from plugin.web.modules import place_launch
from plugin.web.security import allow_framing_by, forget_frame_origins

log = logging.getLogger("plugin.lti")
blueprint = Blueprint("lti", __name__)


def tool_url(path: str) -> str:
    """An absolute URL of the tool from ``lti.base_url`` (what platforms are told)."""
    return app_state.settings().lti.base_url.rstrip("/") + path


STORAGE_FIELDS = ("lti_storage_state", "lti_storage_checked")


def tool_request() -> ToolRequest:
    """This request as the LTI layer reads it.

    The platform-storage answer is taken only from a POST made by the tool's own page: a
    cross-site form could otherwise claim any state it knows and log a victim in as someone
    else (login CSRF). Browsers send ``Origin`` on every form POST.
    """
    params = request.values.to_dict()
    if not _posted_by_tool_page():
        for field in STORAGE_FIELDS:
            params.pop(field, None)
    return ToolRequest(params, request.cookies.to_dict(), request.is_secure)


def _posted_by_tool_page() -> bool:
    origin = request.headers.get("Origin", "")
    expected = {origin_of(app_state.settings().lti.base_url), request.host_url.rstrip("/")}
    return request.headers.get("Sec-Fetch-Site") == "same-origin" or origin in expected


def launch_policy() -> LaunchPolicy:
    """The launch rules from settings."""
    lti = app_state.settings().lti
    return LaunchPolicy(
        leeway_seconds=lti.clock_leeway_seconds,
        launch_lifetime=timedelta(minutes=lti.launch_token_minutes),
        auto_activate_deployments=lti.auto_activate_deployments,
        designer_roles=lti.designer_roles,
        admin_roles=lti.admin_roles,
    )


def rejected(exc: LaunchRejected) -> Response:
    """The refusal page (both languages, the code, no stored data) and a log line."""
    log.warning(
        "lti refused %s: code=%s reason=%s iss=%s",
        request.path,
        exc.code,
        exc.message_en,
        exc.params.get("issuer") or request.values.get("iss", ""),
    )
    if request.accept_mimetypes.best == "application/json":
        body = {"code": exc.code, "message": exc.message_en, "message_zh": exc.message_zh}
        response = jsonify({"error": body})
    else:
        response = Response(render_template("lti/rejected.html", error=exc))
    response.status_code = exc.status
    if exc.code in CAPACITY_CODES:
        # RFC 9110 §10.2.3: a platform or browser retrying may wait this long.
        response.headers["Retry-After"] = str(LOGIN_RETRY_AFTER_SECONDS)
    return response


@blueprint.route("/lti/login", methods=["GET", "POST"])
def login() -> BaseResponse:
    """OIDC login initiation (LTI 1.3 core §5.1.1): answer with the authentication request."""
    session = app_state.session()
    lti = app_state.settings().lti
    lifetime = timedelta(minutes=lti.login_state_minutes)
    limits = LoginLimits(per_issuer=lti.max_login_states_per_issuer, overall=lti.max_login_states)
    try:
        result = begin_login(session, tool_request(), tool_url("/lti/launch"), lifetime, limits)
    except LaunchRejected as exc:
        if exc.code in CAPACITY_CODES:
            # A refusal the request rule would roll back; but the purge of expired states it
            # made room with is kept, so that the next login finds the room.
            session.commit()
        return rejected(exc)
    if result.storage_target:
        # LTI Client Side OIDC Launch: also keep state and nonce in the platform's storage,
        # for browsers that refuse our cookie inside the LMS iframe.
        response: BaseResponse = Response(
            render_template(
                "lti/storage.html",
                config={
                    "mode": "put",
                    "target": result.storage_target,
                    "origin": result.platform_origin,
                    "state": result.state,
                    "nonce": result.nonce,
                    "redirect": result.auth_url,
                },
            )
        )
    else:
        response = redirect(result.auth_url, code=302)
    for cookie in result.cookies:
        # SameSite=None; Secure; Partitioned (CHIPS): sent back on the cross-site form POST
        # of the launch, and kept per top-level site where third-party cookies are blocked.
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path="/lti/",
            secure=True,
            httponly=True,
            samesite="None",
            partitioned=True,
        )
    return response


@blueprint.post("/lti/launch")
def launch() -> BaseResponse:
    """Launch (LTI 1.3 core §5.1.2 redirect URI): validate, record, go to the tool's page."""
    session = app_state.session()
    try:
        outcome = accept_launch(session, tool_request(), app_state.key_sets(), launch_policy())
    except DeploymentPending as exc:
        # A refusal (403) the request rule would roll back; but the deployment is kept,
        # recorded inactive, for an administrator to activate.
        session.commit()
        return rejected(exc)
    except LaunchRejected as exc:
        return rejected(exc)
    if isinstance(outcome, StorageCheckNeeded):
        # A page (200) the request rule would commit; but the launch is not accepted yet.
        session.rollback()
        return _storage_check_page(outcome)
    # The roll-up's learner: linked identities and grade from the launch's custom claims.
    learner_at_launch(session, outcome.launch, app_state.settings())
    placement = place_launch(session, outcome.launch)
    if placement is not None and placement.module.kind != SCORM_KIND:
        # The launch and its first statement (launched) commit together. A SCORM module's
        # statements go on its run-time attempt's registration, started by the player.
        begin_attempt(session, outcome.launch, placement.module)
    return _after_launch(outcome, placed=placement is not None)


def _storage_check_page(check: StorageCheckNeeded) -> Response:
    """Read the state back from the platform's storage, then post the launch again."""
    fields = {
        key: value
        for key, value in request.form.items()
        if key in ("id_token", "state", "lti_storage_target")
    }
    return Response(
        render_template(
            "lti/storage.html",
            config={
                "mode": "get",
                "target": check.storage_target,
                "origin": check.platform_origin,
                "state": check.state,
                "nonce": check.nonce,
            },
            fields=fields,
            action=url_for("lti.launch"),
        )
    )


def _after_launch(accepted: AcceptedLaunch, *, placed: bool) -> BaseResponse:
    token = token_for(accepted.launch)
    g.launch_locale = accepted.launch.locale
    if accepted.launch.message_type == "LtiDeepLinkingRequest":
        return redirect(url_for("lti_pages.deep_link", lt=token), code=303)
    if placed:
        return redirect(url_for("modules.module_page", lt=token), code=303)
    return redirect(url_for("modules.unbound", lt=token), code=303)


@blueprint.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The tool's public keys: active and retiring (LTI 1.3 core §6.3, Security §6.3)."""
    session = app_state.session()
    ensure_active_key(session, app_state.settings().secret_key)
    response = jsonify(public_jwks(session))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def tool_description() -> ToolDescription:
    """What the tool tells platforms about itself."""
    lti = app_state.settings().lti
    return ToolDescription(
        name=lti.title,
        base_url=lti.base_url.rstrip("/"),
        login_url=tool_url("/lti/login"),
        launch_url=tool_url("/lti/launch"),
        jwks_url=tool_url("/.well-known/jwks.json"),
        logo_url=tool_url("/static/img/logo.svg"),
    )


@blueprint.get("/lti/config")
def config() -> Any:
    """Values an administrator copies into the platform (HTML, or JSON on request)."""
    description = tool_description()
    data = description.as_config()
    wants_json = request.args.get("format") == "json" or (
        request.accept_mimetypes.best == "application/json"
    )
    if wants_json:
        return jsonify(data)
    return render_template("lti/config.html", data=data, description=description)


@blueprint.get("/lti/register")
def register() -> Any:
    """LTI Dynamic Registration 1.0 §3: register with the platform that opened this page."""
    openid_configuration = request.args.get("openid_configuration", "")
    registration_token = request.args.get("registration_token", "")
    session = app_state.session()
    try:
        admitted = admit_configuration_url(
            openid_configuration, app_state.settings().lti.dynamic_registration_urls
        )
        # The platform shows this page in its own frame before it is registered; only a
        # platform the allow-list admits may frame it (docs/ARCHITECTURE.md §9).
        allow_framing_by(admitted.url.origin)
        registration = register_dynamically(
            session,
            admitted,
            registration_token,
            tool_description(),
            timeout=app_state.settings().lti.http_timeout_seconds,
        )
    except RegistrationError as exc:
        log.warning("dynamic registration refused: %s (%s)", exc.message, exc.code)
        response = Response(render_template("lti/registered.html", error=exc))
        response.status_code = exc.status
        return response
    # Committed before the frame-origin cache is dropped, not by the request rule: the
    # response's own Content-Security-Policy reloads the cache (in a session of its own)
    # before the rule commits, and must find the new platform.
    session.commit()
    forget_frame_origins()
    return render_template("lti/registered.html", registration=registration)


def init_app(app: Flask) -> None:
    """The platform key cache lives with the app; then the routes."""
    lti = app_state.settings(app).lti
    app.extensions[app_state.KEY_SETS] = KeySetCache(
        default_ttl=float(lti.platform_jwks_cache_seconds), timeout=lti.http_timeout_seconds
    )
    app.register_blueprint(blueprint)
