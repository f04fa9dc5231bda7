"""The 1EdTech LTI Advantage certification cases, through login → launch with signed id_tokens.

Twelve bad payloads are refused with a 4xx page in both languages naming the stable code, a
log line, and nothing stored; twenty valid launches (Instructor and Learner × ten variants)
are accepted, land on the tool's page, and store roles, names and email as sent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Launch, LoginState, Person
from tests.support.flows import TOOL, Flow, assert_refused, counts
from tests.support.platform import LTI, ROLE, TestPlatform

Token = Callable[[TestPlatform, str], str]


def _signed(**overrides: Any) -> Token:
    return lambda platform, nonce: platform.sign(platform.claims(nonce, **overrides))


def _header(**headers: Any) -> Token:
    return lambda platform, nonce: platform.sign(platform.claims(nonce), headers=headers)


def _expired(platform: TestPlatform, nonce: str) -> str:
    now = int(time.time())
    return platform.sign(platform.claims(nonce, exp=now - 3600, iat=now - 7200))


# (token maker, HTTP status, code, words the page must name)
BAD_PAYLOADS: dict[str, tuple[Token, int, str, str]] = {
    "no_kid": (_header(kid=None), 400, "missing_kid", "kid"),
    "unknown_kid": (_header(kid="kid-the-platform-never-published"), 401, "unknown_kid", "kid"),
    "wrong_lti_version": (_signed(**{LTI + "version": "1.2.0"}), 400, "wrong_version", "1.2.0"),
    "no_lti_version": (_signed(**{LTI + "version": None}), 400, "missing_claim", "version"),
    "not_an_lti_message": (
        _signed(**{LTI + "message_type": "LtiUnknownRequest"}),
        400,
        "unknown_message_type",
        "LtiUnknownRequest",
    ),
    "missing_claims": (
        _signed(
            **{
                LTI + "message_type": None,
                LTI + "version": None,
                LTI + "deployment_id": None,
                LTI + "roles": None,
                LTI + "resource_link": None,
            }
        ),
        400,
        "missing_claim",
        "message_type",
    ),
    "bad_timestamps": (_expired, 401, "token_expired", "exp"),
    "no_message_type": (
        _signed(**{LTI + "message_type": None}),
        400,
        "missing_claim",
        "message_type",
    ),
    "no_roles": (_signed(**{LTI + "roles": None}), 400, "missing_claim", "roles"),
    "no_deployment_id": (
        _signed(**{LTI + "deployment_id": None}),
        400,
        "missing_claim",
        "deployment_id",
    ),
    "no_resource_link_id": (
        _signed(**{LTI + "resource_link": {"title": "數位安全基礎"}}),
        400,
        "missing_claim",
        "resource_link.id",
    ),
    "no_sub": (_signed(sub=None), 400, "missing_claim", "sub"),
}


@pytest.mark.parametrize("case", list(BAD_PAYLOADS))
def test_certification_bad_payload_is_refused_and_stores_nothing(
    case: str, flow: Flow, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    make_token, status, code, named = BAD_PAYLOADS[case]
    before = counts(app)
    auth = flow.login()
    caplog.clear()
    response = flow.launch(make_token(flow.platform, auth["nonce"]), auth["state"])

    text = assert_refused(response, status, code)
    assert 400 <= status < 500
    assert named in text
    refusals = [r for r in caplog.records if r.name == "plugin.lti"]
    assert any(f"code={code}" in r.getMessage() for r in refusals), caplog.text
    assert counts(app) == before
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.get(LoginState, auth["state"]).used_at is None


def test_bad_payload_codes_cover_the_twelve_certification_cases() -> None:
    assert len(BAD_PAYLOADS) == 12


INSTRUCTOR = {
    "sub": "instructor-001",
    "name": "林老師",
    "given_name": "老師",
    "family_name": "林",
    "email": "lin@example.gov.tw",
    LTI + "roles": [ROLE + "Instructor"],
}
LEARNER = {
    "sub": "learner-001",
    "name": "王小明",
    "given_name": "小明",
    "family_name": "王",
    "email": "ming@example.gov.tw",
    LTI + "roles": [ROLE + "Learner"],
}
PERSONAS = {"instructor": (INSTRUCTOR, "designer"), "learner": (LEARNER, "learner")}
NO_NAMES = {"name": None, "given_name": None, "family_name": None}
FULL_EXTRAS = {
    LTI + "launch_presentation": {
        "document_target": "iframe",
        "return_url": "https://lms.example.edu/course/1",
        "locale": "zh-TW",
    },
    LTI + "custom": {"module_key": "dc1_basics"},
    LTI + "tool_platform": {"guid": "lms-guid", "name": "Test LMS", "version": "4.4"},
    LTI + "lis": {"person_sourcedid": "sis-001", "course_section_sourcedid": "sec-1"},
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
        "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
        "lineitems": "https://lms.example.edu/api/lineitems",
    },
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
        "context_memberships_url": "https://lms.example.edu/api/memberships",
        "service_versions": ["2.0"],
    },
}


def _variant(persona: dict[str, Any], name: str) -> tuple[dict[str, Any], str | None]:
    """Claim overrides for a variant, and the tool role it must map to (None: persona's)."""
    role = persona[LTI + "roles"][0]
    short = role.rsplit("#", 1)[-1]
    variants: dict[str, tuple[dict[str, Any], str | None]] = {
        "full_claims": (FULL_EXTRAS, None),
        "several_roles": (
            {
                LTI + "roles": [
                    role,
                    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Staff",
                    "http://purl.imsglobal.org/vocab/lis/v2/system/person#User",
                ]
            },
            None,
        ),
        "short_role_name": ({LTI + "roles": [short]}, None),
        "unknown_role": ({LTI + "roles": ["urn:example:roles#Wizard"]}, "learner"),
        "no_role": ({LTI + "roles": []}, "learner"),
        "email_only": (NO_NAMES, None),
        "names_only": ({"email": None}, None),
        "no_pii": ({**NO_NAMES, "email": None}, None),
        "no_context": ({LTI + "context": None}, None),
        "new_resource_link": (
            {LTI + "resource_link": {"id": "link-" + uuid.uuid4().hex, "title": "新單元"}},
            None,
        ),
    }
    return variants[name]


VARIANTS = [
    "full_claims",
    "several_roles",
    "short_role_name",
    "unknown_role",
    "no_role",
    "email_only",
    "names_only",
    "no_pii",
    "no_context",
    "new_resource_link",
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("persona_name", list(PERSONAS))
def test_certification_valid_launch_is_accepted(
    persona_name: str, variant: str, flow: Flow, app: Flask
) -> None:
    persona, persona_role = PERSONAS[persona_name]
    overrides, role_override = _variant(persona, variant)
    auth = flow.login()
    claims = flow.platform.claims(auth["nonce"], **persona)
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value

    response = flow.launch(flow.platform.sign(claims), auth["state"])

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/lti/unbound?lt=")
    page = flow.client.get(response.headers["Location"], base_url=TOOL)
    assert page.status_code == 200
    with app.extensions["plugin.db"].session_scope() as session:
        launch = session.scalars(select(Launch)).one()
        person = session.scalars(select(Person)).one()
        assert launch.role == (role_override or persona_role)
        assert launch.roles == claims[LTI + "roles"]
        assert (person.issuer, person.sub) == (flow.platform.issuer, persona["sub"])
        # Names and email are stored exactly when the platform sent them.
        assert person.name == claims.get("name", "")
        assert person.given_name == claims.get("given_name", "")
        assert person.family_name == claims.get("family_name", "")
        assert person.email == claims.get("email", "")
        context = claims.get(LTI + "context") or {}
        assert launch.context_id == context.get("id", "")
        assert launch.resource_link_id == claims[LTI + "resource_link"]["id"]
        assert session.get(LoginState, auth["state"]).used_at is not None
    text = page.get_data(as_text=True)
    if "name" in claims:
        assert claims["name"] in text
    else:
        assert persona["name"] not in text


def test_instructor_deep_linking_request_lands_on_the_picker(flow: Flow, app: Flask) -> None:
    response = flow.complete_with(
        lambda n: flow.platform.sign(flow.platform.deep_linking_claims(n))
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/lti/deep-link?lt=")
    assert flow.land(response).status_code == 200
    with app.extensions["plugin.db"].session_scope() as session:
        launch = session.scalars(select(Launch)).one()
        assert (launch.message_type, launch.role) == ("LtiDeepLinkingRequest", "designer")


@pytest.mark.parametrize(
    ("return_url", "linked"),
    [
        ("https://lms.example.edu/course/1", True),
        ("javascript:alert(document.domain)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
    ],
    ids=["https", "javascript", "javascript_mixed_case", "data"],
)
def test_return_url_is_linked_only_when_it_is_a_web_url(
    return_url: str, linked: bool, flow: Flow
) -> None:
    presentation = {"document_target": "iframe", "return_url": return_url}
    page = flow.land(flow.complete(**{LTI + "launch_presentation": presentation}))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert ('target="_top"' in text) is linked
    assert "javascript:" not in text.lower() and "data:text" not in text
