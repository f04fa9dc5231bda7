"""LTI Advantage services of the sandbox: the token endpoint, AGS 2.0 and NRPS 2.0.

The token endpoint hands the client assertion to lti1p3platform, which verifies it against
the tool's key set and signs the access token; the services check that token with the
library, then require the scope each endpoint needs (AGS 2.0 §3.1, NRPS 2.0 §3.6.1.2).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Response, jsonify, request
from lti1p3platform.exceptions import (
    LtiException,
    MissingRequiredClaim,
    UnsupportedGrantType,
)
from lti1p3platform.membership import Context, ContextMembership, Status
from lti1p3platform.score import UPDATE_SCORE_STATUSCODE, UpdateScoreStatus
from lti1p3platform.utils import dataclass_to_dict

from plugin import app_state
from plugin.core.errors import InvalidInput
from plugin.web.inputs import MAX_PAGE, parse_int
from sandbox import blueprint, platform_conf, sandbox_platform, tool_key_set
from sandbox.courses import Page, find_memberships, get_course
from sandbox.errors import BearerError, TokenError
from sandbox.grades import (
    create_line_item,
    find_line_items,
    find_results,
    get_line_item,
    record_score,
)
from sandbox.links import get_link
from sandbox.models import (
    SandboxCourse,
    SandboxLineItem,
    SandboxMembership,
    SandboxResult,
)
from sandbox.platform import CLIENT_ASSERTION_TYPE, CLIENT_ID, check_tool_jwt

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS + "lineitem"
SCOPE_LINEITEM_READONLY = AGS + "lineitem.readonly"
SCOPE_RESULT_READONLY = AGS + "result.readonly"
SCOPE_SCORE = AGS + "score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
RESULTS_MEDIA = "application/vnd.ims.lis.v2.resultcontainer+json"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
MEMBERSHIPS_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_LIMIT = 1000
TOKEN_PARAMS = ("grant_type", "client_assertion_type", "client_assertion", "scope")


@blueprint.post("/sandbox/token")
def token() -> Response:
    """Issue an access token for a JWT client assertion (1EdTech Security Framework §4.1)."""
    form = request.form
    for name in TOKEN_PARAMS:
        if not form.get(name):
            raise TokenError("invalid_request", f"{name} is required", field=name)
    if form["grant_type"] != "client_credentials":
        raise TokenError(
            "unsupported_grant_type", "grant_type must be client_credentials", field="grant_type"
        )
    if form["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
        raise TokenError(
            "invalid_request",
            f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}",
            field="client_assertion_type",
        )
    session = app_state.session()
    conf = platform_conf(tool_key_set(session))
    session.commit()
    try:
        claims = conf.tool_validate_and_decode(form["client_assertion"])
    except (jwt.PyJWTError, LtiException) as exc:
        raise TokenError(
            "invalid_client", f"client_assertion is not valid: {exc}", field="client_assertion"
        ) from None
    _check_assertion(claims)
    try:
        issued = conf.get_access_token(form.to_dict())
    except (MissingRequiredClaim, UnsupportedGrantType, LtiException, jwt.PyJWTError) as exc:
        raise TokenError("invalid_request", str(exc) or type(exc).__name__) from None
    if not issued["scope"]:
        raise TokenError("invalid_scope", "no requested scope is offered here", field="scope")
    response = jsonify(issued)
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _check_assertion(claims: dict[str, Any]) -> None:
    """RFC 7523 §3 / Security Framework §4.1.1: iss = sub = client_id, aud = this endpoint,
    and a ``jti`` used once."""
    wrong = check_tool_jwt(claims, audience=sandbox_platform().urls.token_url)
    if wrong is None and claims.get("sub") != CLIENT_ID:
        wrong = "sub"
    if wrong:
        raise TokenError(
            "invalid_client",
            f"client_assertion {wrong} is not the expected value",
            field=f"client_assertion.{wrong}",
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise TokenError(
            "invalid_client", "client_assertion needs a jti", field="client_assertion.jti"
        )
    if not sandbox_platform().first_use_of_assertion(jti, float(claims["exp"])):
        raise TokenError(
            "invalid_client", "client_assertion was used before", field="client_assertion.jti"
        )


def require_scope(*scopes: str) -> None:
    """Refuse the call unless it carries a valid access token with one of ``scopes``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise BearerError("missing_token", "an access token is required (Authorization: Bearer)")
    try:
        allowed = platform_conf().validate_token(value.strip(), allowed_scopes=list(scopes))
    except (jwt.PyJWTError, LtiException):
        raise BearerError("invalid_token", "the access token is invalid or expired") from None
    if not allowed:
        raise BearerError("insufficient_scope", "the access token lacks the scope " + scopes[0])


def paging() -> tuple[int | None, int]:
    """``limit`` and ``page`` of a paged listing (AGS 2.0 §3.2.4, NRPS 2.0 §2.4.2)."""
    limit = _positive_int("limit", None)
    page = _positive_int("page", 1)
    if limit is not None and limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be at most {MAX_LIMIT}", field="limit")
    return limit, page or 1


def _positive_int(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    return parse_int(raw, name, minimum=1, maximum=MAX_PAGE)


def paged_response(
    body: Any, media_type: str, page: Page, url: str, query: dict[str, Any]
) -> Response:
    """``body`` as ``media_type``, with a Link rel="next" header when another page follows."""
    response = jsonify(body)
    response.headers["Content-Type"] = media_type
    if page.has_next:
        next_query = {k: v for k, v in query.items() if v not in (None, "")}
        next_query["page"] = parse_int(str(query.get("page") or 1), "page", minimum=1) + 1
        response.headers["Link"] = f'<{url}?{urlencode(next_query)}>; rel="next"'
    return response


def json_body() -> Any:
    """The request's JSON body, or InvalidInput naming it."""
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise InvalidInput("the body must be JSON", field="body")
    return body


def line_item_json(course: SandboxCourse, item: SandboxLineItem) -> dict[str, Any]:
    """A line item as AGS 2.0 §3.2.6 shows it."""
    body: dict[str, Any] = {
        "id": sandbox_platform().urls.lineitem_url(course.context_id, item.id),
        "label": item.label,
        "scoreMaximum": item.score_maximum,
    }
    if item.resource_id:
        body["resourceId"] = item.resource_id
    if item.tag:
        body["tag"] = item.tag
    if item.resource_link_id is not None:
        body["resourceLinkId"] = str(item.resource_link_id)
    return body


@blueprint.get("/sandbox/api/contexts/<context_id>/lineitems")
def list_line_items(context_id: str) -> Response:
    """The course's line items (AGS 2.0 §3.2.4)."""
    require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    session = app_state.session()
    course = get_course(session, context_id)
    limit, page_number = paging()
    filters = {
        "resource_link_id": request.args.get("resource_link_id", ""),
        "resource_id": request.args.get("resource_id", ""),
        "tag": request.args.get("tag", ""),
    }
    page = find_line_items(session, course, limit=limit, page=page_number, **filters)
    body = [line_item_json(course, item) for item in page.items]
    url = sandbox_platform().urls.lineitems_url(course.context_id)
    query = {**filters, "limit": limit, "page": page_number}
    return paged_response(body, LINEITEMS_MEDIA, page, url, query)


@blueprint.post("/sandbox/api/contexts/<context_id>/lineitems")
def add_line_item(context_id: str) -> Response:
    """Create a line item (AGS 2.0 §3.2.5)."""
    require_scope(SCOPE_LINEITEM)
    session = app_state.session()
    course = get_course(session, context_id)
    item = create_line_item(session, course, json_body())
    session.commit()
    response = jsonify(line_item_json(course, item))
    response.status_code = 201
    response.headers["Content-Type"] = LINEITEM_MEDIA
    response.headers["Location"] = line_item_json(course, item)["id"]
    return response


@blueprint.get("/sandbox/api/contexts/<context_id>/lineitems/<int:line_item_id>")
def show_line_item(context_id: str, line_item_id: int) -> Response:
    """One line item (AGS 2.0 §3.2.6)."""
    require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    session = app_state.session()
    course = get_course(session, context_id)
    response = jsonify(line_item_json(course, get_line_item(session, course, line_item_id)))
    response.headers["Content-Type"] = LINEITEM_MEDIA
    return response


@blueprint.post("/sandbox/api/contexts/<context_id>/lineitems/<int:line_item_id>/scores")
def post_score(context_id: str, line_item_id: int) -> Response:
    """Receive a score (AGS 2.0 §3.4); an older score than the one on record is kept, not used."""
    require_scope(SCOPE_SCORE)
    if request.mimetype not in (SCORE_MEDIA, "application/json"):
        raise InvalidInput(f"Content-Type must be {SCORE_MEDIA}", field="Content-Type")
    session = app_state.session()
    course = get_course(session, context_id)
    line_item = get_line_item(session, course, line_item_id)
    status = record_score(session, course, line_item, json_body())
    session.commit()
    if status is UpdateScoreStatus.OLD_TIMESTAMP:
        response = jsonify(
            {
                "error": {
                    "code": status.value,
                    "message": "a later score is on record; this one was kept but not applied",
                    "field": "timestamp",
                }
            }
        )
    else:
        response = Response(status=UPDATE_SCORE_STATUSCODE[status])
    response.status_code = UPDATE_SCORE_STATUSCODE[status]
    return response


def result_json(course: SandboxCourse, item: SandboxLineItem, result: SandboxResult) -> dict:
    """A result as AGS 2.0 §3.3.5 shows it (no null members)."""
    line_item_url = sandbox_platform().urls.lineitem_url(course.context_id, item.id)
    body: dict[str, Any] = {
        "id": f"{line_item_url}/results/{result.id}",
        "scoreOf": line_item_url,
        "userId": result.user_id,
    }
    if result.score_given is not None:
        body["resultScore"] = result.score_given
    if result.score_maximum is not None:
        body["resultMaximum"] = result.score_maximum
    if result.comment:
        body["comment"] = result.comment
    return body


@blueprint.get("/sandbox/api/contexts/<context_id>/lineitems/<int:line_item_id>/results")
def list_results(context_id: str, line_item_id: int) -> Response:
    """A line item's results (AGS 2.0 §3.3), optionally of one ``user_id``."""
    require_scope(SCOPE_RESULT_READONLY)
    session = app_state.session()
    course = get_course(session, context_id)
    item = get_line_item(session, course, line_item_id)
    limit, page_number = paging()
    user_id = request.args.get("user_id", "")
    page = find_results(session, item, user_id=user_id, limit=limit, page=page_number)
    body = [result_json(course, item, result) for result in page.items]
    url = sandbox_platform().urls.lineitem_url(course.context_id, item.id) + "/results"
    query = {"user_id": user_id, "limit": limit, "page": page_number}
    return paged_response(body, RESULTS_MEDIA, page, url, query)


def member_json(membership: SandboxMembership) -> dict[str, Any]:
    """A member as NRPS 2.0 §2.2 shows it: names and roles, no email."""
    person = membership.person
    return {
        "status": Status.ACTIVE.value,
        "user_id": person.sub,
        "roles": list(membership.roles),
        "name": person.name,
        "given_name": person.given_name,
        "family_name": person.family_name,
    }


@blueprint.get("/sandbox/api/contexts/<context_id>/memberships")
def list_memberships(context_id: str) -> Response:
    """The course's members (NRPS 2.0 §2), paged with ``limit`` and Link rel="next"."""
    require_scope(SCOPE_MEMBERSHIPS)
    session = app_state.session()
    course = get_course(session, context_id)
    rlid = request.args.get("rlid", "")
    if rlid:
        # NRPS 2.0 §3: a resource link's members; in the sandbox everyone sees every link.
        get_link(session, course, parse_int(rlid, "rlid", minimum=1))
    limit, page_number = paging()
    role = request.args.get("role", "")
    page = find_memberships(session, course, role=role, limit=limit, page=page_number)
    url = sandbox_platform().urls.memberships_url(course.context_id)
    container = ContextMembership(
        id=url, context=Context(id=course.context_id, label=course.label, title=course.title)
    )
    body = dataclass_to_dict(container)
    body["members"] = [member_json(m) for m in page.items]
    query = {"rlid": rlid, "role": role, "limit": limit, "page": page_number}
    return paged_response(body, MEMBERSHIPS_MEDIA, page, url, query)
