"""Pages and browser endpoints of the sandbox LMS: course, login start, authorization, return."""

from __future__ import annotations

import re
from typing import Any

import jwt
from flask import Response, jsonify, render_template, request
from lti1p3platform.exceptions import (
    LtiDeepLinkingResponseException,
    LtiException,
    PreflightRequestValidationException,
)
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.core.errors import Forbidden, InvalidInput
from plugin.lti.claims import (
    CLAIM_DEPLOYMENT_ID,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_TOOL_PLATFORM,
)
from plugin.lti.launch import origin_of
from sandbox import (
    blueprint,
    platform_conf,
    sandbox_platform,
    secret_key,
    tool_key_set,
)
from sandbox.courses import (
    COURSE_OFFERING,
    DEFAULT_PERSONA,
    PERSONAS,
    demo_course,
    find_person,
    get_course,
    is_designer,
    membership_of,
)
from sandbox.grades import gradebook, line_item_for_link
from sandbox.hints import (
    DEEP_LINK,
    LINK,
    MessageHint,
    issue_deep_link_data,
    issue_message_hint,
    read_deep_link_data,
    read_message_hint,
)
from sandbox.links import add_links_from_content_items, course_links, get_link
from sandbox.models import SandboxCourse, SandboxPerson
from sandbox.platform import (
    CLIENT_ID,
    DEPLOYMENT_ID,
    FlaskPlatformRequest,
    SandboxMessageLaunch,
    SandboxOidcLogin,
    check_tool_jwt,
)

CLAIM_DEEP_LINKING_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
CLAIM_DEEP_LINKING_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
CLAIM_DEEP_LINKING_ERRORMSG = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"
MESSAGE_HINT_SECONDS = 10 * 60
DEEP_LINK_DATA_SECONDS = 60 * 60
ROLE_LABELS = {
    "learner": "學員 Learner",
    "designer": "課程設計者 Course designer",
    "admin": "管理者 Administrator",
}
# OIDC Core §3.1.2.1 and LTI 1.3 core §5.1.1.2: fixed values of the authentication request.
FIXED_AUTH_PARAMS = (
    ("scope", "openid"),
    ("response_type", "id_token"),
    ("response_mode", "form_post"),
    ("prompt", "none"),
    ("client_id", CLIENT_ID),
)


# The demo people's civil-service grades (委任 junior, 薦任 intermediate), sent with launches.
SANDBOX_GRADES = {"learner": "intermediate"}


def current_persona() -> str:
    """The ``?as=`` persona of the request (learner by default)."""
    return request.values.get("as", DEFAULT_PERSONA) or DEFAULT_PERSONA


# A BCP 47-like language tag (en, en-US, zh-TW, zh_Hant_TW), as a platform would send it.
LOCALE_TAG = re.compile(r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8}){0,3}$")


def presentation_locale() -> str:
    """The ``?presentation_locale=`` of the request: the language to send only inside the
    launch_presentation claim (LTI 1.3 core §5.4.3), with no top-level ``locale``, as Moodle
    does; empty (the usual top-level zh-TW) when absent."""
    value = request.values.get("presentation_locale", "").strip()
    if value and not LOCALE_TAG.match(value):
        raise InvalidInput(
            "presentation_locale 須是語言標記，例如 en 或 zh-TW "
            "presentation_locale must be a language tag such as en or zh-TW",
            field="presentation_locale",
        )
    return value


@blueprint.get("/sandbox")
def course_page() -> str:
    """The demo course: people to act as, its activities, and the frame tools open in."""
    session = app_state.session()
    course = demo_course(session)
    person = find_person(session, current_persona())
    roles = membership_of(session, course, person)
    people = [find_person(session, persona) for persona in PERSONAS]
    return render_template(
        "sandbox/course.html",
        course=course,
        person=person,
        people=people,
        role_labels=ROLE_LABELS,
        links=course_links(session, course),
        can_design=is_designer(roles),
        presentation_locale=presentation_locale(),
        tool_origin=origin_of(sandbox_platform().urls.tool_url),
    )


@blueprint.get("/sandbox/launch/<int:link_id>")
def launch_link(link_id: int) -> Response:
    """Start a resource-link launch: third-party initiated login (LTI 1.3 core §5.1.1.1)."""
    session = app_state.session()
    course = demo_course(session)
    person = find_person(session, current_persona())
    link = get_link(session, course, link_id)
    hint = MessageHint(
        kind=LINK,
        persona=person.persona,
        link_id=link.id,
        presentation_locale=presentation_locale(),
    )
    return _start_login(person, hint)


@blueprint.get("/sandbox/deep-link")
def start_deep_link() -> Response:
    """Start a deep-linking request for a course designer (Deep Linking 2.0 §4.1)."""
    session = app_state.session()
    course = demo_course(session)
    person = find_person(session, current_persona())
    if not is_designer(membership_of(session, course, person)):
        raise Forbidden(
            "只有課程設計者可以新增活動 Only course designers can add activities", field="as"
        )
    hint = MessageHint(
        kind=DEEP_LINK, persona=person.persona, presentation_locale=presentation_locale()
    )
    return _start_login(person, hint)


def _start_login(person: SandboxPerson, hint: MessageHint) -> Response:
    login = SandboxOidcLogin(FlaskPlatformRequest(request), platform_conf())
    login.set_lti_message_hint(hint=issue_message_hint(secret_key(), hint))
    return login.initiate_login(person.sub)


@blueprint.route("/sandbox/auth", methods=["GET", "POST"])
def authorize() -> Response:
    """Check the tool's authentication request; answer with the id_token in a form_post.

    LTI 1.3 core §5.1.1.2–§5.1.1.3 and 1EdTech Security Framework §5.1.1: the response is
    an auto-submitting form POSTing id_token and state to the registered redirect URI.
    """
    params = request.values
    for name, expected in FIXED_AUTH_PARAMS:
        if params.get(name) != expected:
            raise _bad_auth_param(name, f"must be {expected!r}")
    redirect_uri = sandbox_platform().urls.tool_launch_url
    if params.get("redirect_uri") != redirect_uri:
        # 1EdTech Security Framework §5.1.1.2: only the tool's registered redirect URI.
        raise _bad_auth_param("redirect_uri", f"must be {redirect_uri!r}")
    for name in ("nonce", "state"):
        if not params.get(name):
            raise _bad_auth_param(name, "is required")
    hint = read_message_hint(secret_key(), params.get("lti_message_hint", ""), MESSAGE_HINT_SECONDS)
    if hint is None:
        raise _bad_auth_param("lti_message_hint", "is missing, expired or not one we issued")
    session = app_state.session()
    person = find_person(session, hint.persona)
    if params.get("login_hint") != person.sub:
        # The login_hint is the user the login was started for; it must not be swapped.
        raise _bad_auth_param("login_hint", "does not match the user the login was started for")
    course = demo_course(session)
    roles = membership_of(session, course, person)
    if hint.kind == DEEP_LINK and not is_designer(roles):
        raise Forbidden("只有課程設計者可以新增活動 Only course designers can add activities")
    launch = _build_launch(session, course, person, roles, hint)
    try:
        return launch.lti_launch()
    except PreflightRequestValidationException:
        raise _bad_auth_param("client_id", "does not match the registration") from None


def _bad_auth_param(name: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"授權請求的參數 {name} 不正確 The authorization request parameter {name} {reason}",
        field=name,
    )


def _build_launch(
    session: Session,
    course: SandboxCourse,
    person: SandboxPerson,
    roles: list[str],
    hint: MessageHint,
) -> SandboxMessageLaunch:
    """The id_token's claims for this person, course and link (or deep-linking request)."""
    urls = sandbox_platform().urls
    launch = SandboxMessageLaunch(FlaskPlatformRequest(request), platform_conf())
    # LTI 1.3 core §5.3.6: names but no email; the tool keeps only what it is sent.
    launch.set_user_data(person.sub, roles, full_name=person.name)
    presentation = {"document_target": "iframe", "return_url": urls.course_url(person.persona)}
    if hint.presentation_locale:
        # Moodle's way: the language only in launch_presentation (LTI 1.3 core §5.4.3).
        presentation["locale"] = hint.presentation_locale
        language: dict[str, Any] = {}
    else:
        language = {"locale": "zh-TW"}  # the OpenID Connect standard claim (§5.3.6)
    launch.set_extra_claims(
        {
            "given_name": person.given_name,
            "family_name": person.family_name,
            **language,
            CLAIM_LAUNCH_PRESENTATION: presentation,
            CLAIM_TOOL_PLATFORM: {
                "guid": urls.issuer,
                "name": "沙盒學習平臺 Sandbox LMS",
                "product_family_code": "dc-tool-sandbox",
            },
        }
    )
    launch.set_launch_context_claim(
        course.context_id, [COURSE_OFFERING], course.title, course.label
    )
    # NRPS 2.0 §3.6.1.1: the memberships endpoint of the course.
    launch.set_nrps(urls.memberships_url(course.context_id))
    lineitems_url = urls.lineitems_url(course.context_id)
    if hint.kind == LINK:
        assert hint.link_id is not None
        link = get_link(session, course, hint.link_id)
        line_item = line_item_for_link(session, link)
        launch.set_resource_link_claim(str(link.id), link.text or None, link.title)
        # LTI 1.3 core §5.4.5 custom parameters: the link's own, plus the person's grade as
        # an LMS would substitute it from a profile field (the tool reads lti.grade_claim).
        custom = {}
        if person.persona in SANDBOX_GRADES:
            custom["grade"] = SANDBOX_GRADES[person.persona]
        custom.update(link.custom or {})  # a link's own parameters win
        if custom:
            launch.set_custom_parameters_claim(custom)
        # AGS 2.0 §3.1: lineitems always, lineitem when the link has its own column.
        lineitem_url = urls.lineitem_url(course.context_id, line_item.id) if line_item else None
        launch.set_ags(lineitems_url, lineitem_url)
    else:
        launch.set_ags(lineitems_url)
        data = issue_deep_link_data(secret_key(), person.persona, course.context_id)
        launch.set_deep_linking(urls.deep_link_return_url, data)
    return launch


@blueprint.post("/sandbox/deep-link/return")
def deep_link_return() -> str:
    """Receive the tool's LtiDeepLinkingResponse and place its links (Deep Linking 2.0 §4.2)."""
    token = request.form.get("JWT", "")
    if not token:
        raise InvalidInput("JWT is required (the tool's LtiDeepLinkingResponse)", field="JWT")
    session = app_state.session()
    conf = platform_conf(tool_key_set(session))
    try:
        items = conf.validate_deeplinking_resp({"JWT": token})
    except (jwt.PyJWTError, LtiException) as exc:
        raise InvalidInput(f"the JWT is not valid: {exc}", field="JWT") from None
    except LtiDeepLinkingResponseException as exc:
        raise InvalidInput(str(exc), field="content_items") from None
    except (KeyError, TypeError):
        raise InvalidInput(
            "content_items must be a list of objects", field="content_items"
        ) from None
    claims = conf.verified_claims
    wrong = check_tool_jwt(claims, audience=sandbox_platform().urls.issuer)
    if wrong:
        raise InvalidInput(f"{wrong} of the JWT is not the expected value", field=wrong)
    if claims.get(CLAIM_DEPLOYMENT_ID) != DEPLOYMENT_ID:
        raise InvalidInput("deployment_id is not this deployment", field="deployment_id")
    asked = read_deep_link_data(
        secret_key(), claims.get(CLAIM_DEEP_LINKING_DATA), DEEP_LINK_DATA_SECONDS
    )
    if asked is None:
        # Deep Linking 2.0 §4.4.1: data must come back as sent; it names who asked, and when.
        raise InvalidInput("data is missing, expired or not the one we sent", field="data")
    persona, context_id = asked
    course = get_course(session, context_id)
    if not isinstance(items, list):
        raise InvalidInput("content_items must be a list", field="content_items")
    links = add_links_from_content_items(session, course, items)
    session.commit()
    return render_template(
        "sandbox/deep_link_done.html",
        links=links,
        persona=persona,
        message=_text_claim(claims, CLAIM_DEEP_LINKING_MSG),
        error_message=_text_claim(claims, CLAIM_DEEP_LINKING_ERRORMSG),
    )


def _text_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return value if isinstance(value, str) else ""


@blueprint.get("/sandbox/gradebook")
def gradebook_page() -> str:
    """The scores tools sent, per person and line item."""
    session = app_state.session()
    course = demo_course(session)
    person = find_person(session, current_persona())
    return render_template(
        "sandbox/gradebook.html",
        course=course,
        person=person,
        book=gradebook(session, course),
        role_labels=ROLE_LABELS,
    )


@blueprint.get("/sandbox/jwks.json")
def jwks() -> Response:
    """The platform's public key set, with kid (LTI 1.3 core §6.3)."""
    response = jsonify(platform_conf().get_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
