"""Launches from the sandbox through the real OIDC flow into the tool, and deep linking back."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import func, select

from sandbox.hints import issue_deep_link_data
from sandbox.models import SandboxLineItem, SandboxResourceLink
from tests.support.app import TEST_SECRET
from tests.support.flows import TOOL
from tests.support.sandbox import PLATFORM, Browser, launch_links, parse_page, query_of, tool_signed

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


def first_link_url(browser: Browser, persona: str = "learner") -> str:
    """The absolute launch URL of the course page's first link."""
    html = browser.get(f"{PLATFORM}/sandbox?as={persona}").get_data(as_text=True)
    return PLATFORM + launch_links(html)[0]["href"]


def id_token_of(browser: Browser, start_url: str) -> tuple[dict, dict]:
    """Walk to the authorization response; (id_token header, verified claims)."""
    login_url = browser.get(start_url).headers["Location"]
    login = browser.get(login_url)
    storage = parse_page(login.get_data(as_text=True)).json_scripts["lti-storage-config"]
    auth_url = json.loads(storage)["redirect"]
    form = parse_page(browser.get(auth_url).get_data(as_text=True)).forms[0]
    token = form.fields["id_token"]
    key_set = jwt.PyJWKSet.from_dict(browser.get(PLATFORM + "/sandbox/jwks.json").json)
    header = jwt.get_unverified_header(token)
    key = next(k for k in key_set.keys if k.key_id == header["kid"])
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="sandbox-tool")
    return header, claims


def test_learner_launch_reaches_the_tool_page_with_name_and_course(browser: Browser) -> None:
    start_url = first_link_url(browser)
    start = browser.get(start_url)
    params = query_of(start.headers["Location"])
    assert params == {
        "iss": PLATFORM + "/sandbox",
        "login_hint": "sandbox-learner",
        "target_link_uri": TOOL + "/lti/launch",
        "lti_message_hint": params["lti_message_hint"],
        "client_id": "sandbox-tool",
        "lti_deployment_id": "sandbox-deployment-1",
        "lti_storage_target": "_parent",
    }
    page, url = browser.launch(start_url)
    assert url.startswith(TOOL + "/lti/module?lt=")  # the seeded link names its module
    text = page.get_data(as_text=True)
    assert "王小明" in text
    assert "數位職能入門（示範課程）" in text
    assert "生成式AI的風險管理與應用規範" in text  # the module the seeded link names


def test_id_token_carries_link_course_services_and_names_but_no_email(browser: Browser) -> None:
    header, claims = id_token_of(browser, first_link_url(browser))
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == PLATFORM + "/sandbox"
    assert claims["sub"] == "sandbox-learner"
    assert (claims["name"], claims["given_name"], claims["family_name"]) == ("王小明", "小明", "王")
    assert "email" not in claims
    assert claims["locale"] == "zh-TW"
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI + "roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    assert claims[LTI + "context"]["id"] == "sandbox-course-1"
    assert claims[LTI + "resource_link"]["title"] == "數位安全基礎"
    assert claims[LTI + "custom"] == {
        "grade": "intermediate",
        "module_key": "tw-civil-service-dc.C4-T5",
    }
    assert claims[LTI + "launch_presentation"] == {
        "document_target": "iframe",
        "return_url": PLATFORM + "/sandbox?as=learner",
    }
    ags = claims[AGS_CLAIM]
    context_url = PLATFORM + "/sandbox/api/contexts/sandbox-course-1"
    assert ags["lineitems"] == context_url + "/lineitems"
    assert ags["lineitem"].startswith(context_url + "/lineitems/")
    assert set(ags["scope"]) == {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    }
    assert claims[NRPS_CLAIM] == {
        "context_memberships_url": context_url + "/memberships",
        "service_versions": ["2.0"],
    }


def test_presentation_locale_sends_the_language_only_in_launch_presentation_as_moodle_does(
    browser: Browser,
) -> None:
    html = browser.get(f"{PLATFORM}/sandbox?as=learner&presentation_locale=en").get_data(
        as_text=True
    )
    start_url = PLATFORM + launch_links(html)[0]["href"]
    assert "presentation_locale=en" in start_url  # the course page's links carry it on
    _, claims = id_token_of(browser, start_url)
    assert "locale" not in claims
    assert claims[LTI + "launch_presentation"] == {
        "document_target": "iframe",
        "return_url": PLATFORM + "/sandbox?as=learner",
        "locale": "en",
    }
    page, url = browser.launch(start_url)
    assert url.startswith(TOOL + "/lti/module?lt=")
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_presentation_locale_that_is_not_a_language_tag_is_refused_naming_it(
    browser: Browser,
) -> None:
    response = browser.get(f"{PLATFORM}/sandbox?as=learner&presentation_locale=en%22%3E")
    assert response.status_code == 400
    assert "presentation_locale" in response.get_data(as_text=True)


def test_admin_launch_carries_the_institution_administrator_role(browser: Browser) -> None:
    _, claims = id_token_of(browser, first_link_url(browser, "admin"))
    assert claims[LTI + "roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    ]


def test_designer_deep_link_places_a_module_as_a_new_course_link(
    browser: Browser, sandbox_app: Flask
) -> None:
    course = browser.get(PLATFORM + "/sandbox?as=designer").get_data(as_text=True)
    before = {a["data-link-id"] for a in launch_links(course)}
    picker, picker_url = browser.launch(PLATFORM + "/sandbox/deep-link?as=designer")
    assert picker_url.startswith(TOOL + "/lti/deep-link?lt=")
    picker_html = picker.get_data(as_text=True)
    assert 'name="module"' in picker_html
    token = parse_page(picker_html).forms[-1].fields["lt"]
    answer = browser.post(
        TOOL + "/lti/deep-link", {"lt": token, "module": "tw-civil-service-dc.C4-T1"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    returned = parse_page(answer.get_data(as_text=True)).forms[0]
    assert returned.action == PLATFORM + "/sandbox/deep-link/return"
    done = browser.post(returned.action, returned.fields)
    assert done.status_code == 200, done.get_data(as_text=True)
    done_html = done.get_data(as_text=True)
    assert "/sandbox/static/reload-parent.js" in done_html
    assert 'href="/sandbox?as=designer" target="_top"' in done_html

    course = browser.get(PLATFORM + "/sandbox?as=learner").get_data(as_text=True)
    links = {a["data-link-id"]: a for a in launch_links(course)}
    (new_id,) = set(links) - before
    with sandbox_app.extensions["plugin.db"].session_scope() as session:
        link = session.get(SandboxResourceLink, int(new_id))
        assert link is not None
        assert link.custom == {"module_key": "tw-civil-service-dc.C4-T1"}
        line_item = session.scalars(
            select(SandboxLineItem).where(SandboxLineItem.resource_link_id == link.id)
        ).one()
        assert line_item.score_maximum == 100.0
        assert line_item.resource_id == "tw-civil-service-dc.C4-T1"
        title = link.title
    assert title in course
    page, _ = browser.launch(PLATFORM + links[new_id]["href"])
    assert f">{title}</h1>" in page.get_data(as_text=True)  # the placed module opens


def test_deep_linking_request_offers_resource_links_and_opaque_data(browser: Browser) -> None:
    _, claims = id_token_of(browser, PLATFORM + "/sandbox/deep-link?as=designer")
    assert claims[LTI + "message_type"] == "LtiDeepLinkingRequest"
    settings = claims[DL_SETTINGS]
    assert settings["deep_link_return_url"] == PLATFORM + "/sandbox/deep-link/return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["accept_presentation_document_targets"] == ["iframe", "window"]
    assert settings["accept_multiple"] is True
    assert isinstance(settings["data"], str) and settings["data"]
    assert LTI + "resource_link" not in claims


def test_learner_may_not_start_deep_linking(browser: Browser) -> None:
    response = browser.get(PLATFORM + "/sandbox/deep-link?as=learner")
    assert response.status_code == 403


def _auth_params(browser: Browser) -> dict[str, str]:
    """A valid authentication request's parameters, as the tool would send them."""
    login = browser.get(browser.get(first_link_url(browser)).headers["Location"])
    storage = parse_page(login.get_data(as_text=True)).json_scripts["lti-storage-config"]
    return query_of(json.loads(storage)["redirect"])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("scope", "profile"),
        ("response_type", "code"),
        ("response_mode", "query"),
        ("prompt", "login"),
        ("client_id", "another-tool"),
        ("redirect_uri", "https://evil.test/lti/launch"),
        ("nonce", ""),
        ("state", ""),
        ("login_hint", "sandbox-admin"),
        ("lti_message_hint", "forged"),
    ],
)
def test_authorization_request_with_a_bad_parameter_is_refused_naming_it(
    browser: Browser, param: str, value: str
) -> None:
    params = _auth_params(browser)
    params[param] = value
    response = browser.get(PLATFORM + "/sandbox/auth?" + urlencode(params))
    assert response.status_code == 400
    assert f"parameter {param} " in response.get_data(as_text=True)


def test_deep_link_return_signed_by_another_key_is_refused(browser: Browser) -> None:
    browser.get(PLATFORM + "/sandbox")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": "sandbox-tool",
            "aud": PLATFORM + "/sandbox",
            "iat": now,
            "exp": now + 60,
            LTI + "message_type": "LtiDeepLinkingResponse",
        },
        pem,
        algorithm="RS256",
        headers={"kid": "not-the-tool"},
    )
    response = browser.post(PLATFORM + "/sandbox/deep-link/return", {"JWT": forged})
    assert response.status_code == 400
    assert "JWT" in response.get_data(as_text=True)
    assert browser.post(PLATFORM + "/sandbox/deep-link/return", {}).status_code == 400


def deep_linking_response(**overrides: object) -> dict[str, object]:
    """A valid LtiDeepLinkingResponse body from the tool; overrides replace, or drop when None."""
    now = int(time.time())
    body: dict[str, object] = {
        "iss": "sandbox-tool",
        "aud": PLATFORM + "/sandbox",
        "iat": now,
        "exp": now + 60,
        "nonce": "n-1",
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": "sandbox-deployment-1",
        DL_DATA: issue_deep_link_data(TEST_SECRET, "designer", "sandbox-course-1"),
        DL_ITEMS: [{"type": "ltiResourceLink", "title": "自選活動", "custom": {"k": "v"}}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_tool_signed_deep_linking_response_adds_its_links(
    browser: Browser, sandbox_app: Flask
) -> None:
    browser.get(PLATFORM + "/sandbox")
    token = tool_signed(sandbox_app, deep_linking_response())
    response = browser.post(PLATFORM + "/sandbox/deep-link/return", {"JWT": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "自選活動" in browser.get(PLATFORM + "/sandbox").get_data(as_text=True)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"aud": "https://another-platform.test"}, "aud"),
        ({"iss": "another-tool"}, "iss"),
        ({LTI + "deployment_id": "another-deployment"}, "deployment_id"),
        ({DL_DATA: None}, "data"),
        ({DL_DATA: "forged"}, "data"),
        ({LTI + "message_type": "LtiResourceLinkRequest"}, "content_items"),
        ({DL_ITEMS: [{"type": "html", "html": "<p>x</p>"}]}, "content_items"),
        ({DL_ITEMS: ["not-an-object"]}, "content_items"),
        ({DL_ITEMS: [{"type": "ltiResourceLink", "custom": {"n": 1}}]}, "content_items[0].custom"),
        ({DL_ITEMS: [{"type": "ltiResourceLink", "lineItem": {"scoreMaximum": 0}}]}, None),
        ({"exp": None}, "JWT"),
    ],
)
def test_bad_deep_linking_response_is_refused_naming_the_claim_and_adds_nothing(
    browser: Browser, sandbox_app: Flask, override: dict[str, object], field: str | None
) -> None:
    browser.get(PLATFORM + "/sandbox")
    token = tool_signed(sandbox_app, deep_linking_response(**override))
    response = browser.post(PLATFORM + "/sandbox/deep-link/return", {"JWT": token})
    assert response.status_code == 400
    if field is not None:
        assert field in response.get_data(as_text=True)
    with sandbox_app.extensions["plugin.db"].session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SandboxResourceLink)) == 1
