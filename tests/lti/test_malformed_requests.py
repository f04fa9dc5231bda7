"""Malformed logins and launches get a 4xx page naming the stable code, never a 500.

``hypothesis`` is not a dependency of the project, so the inputs are a parametrised list:
broken JWT envelopes, signed tokens with claims of the wrong shape, and broken requests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.support.flows import TOOL, Flow, assert_refused, counts
from tests.support.platform import DL_SETTINGS, LTI, TestPlatform, apply_overrides


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(header: Any, body: Any, signature: str = "c2ln") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}.{signature}"


def _raw(token: str) -> Callable[[TestPlatform, str], str]:
    return lambda platform, nonce: token


def _unsigned_body(**overrides: Any) -> Callable[[TestPlatform, str], str]:
    """A well-formed envelope with an RS256 header but a body to be refused before the key."""

    def make(platform: TestPlatform, nonce: str) -> str:
        body = platform.claims(nonce, **overrides)
        return _jwt({"alg": "RS256", "kid": platform.kid}, body)

    return make


def _signed(**overrides: Any) -> Callable[[TestPlatform, str], str]:
    return lambda platform, nonce: platform.sign(apply_overrides(platform.claims(nonce), overrides))


def _signed_deep_link(**overrides: Any) -> Callable[[TestPlatform, str], str]:
    return lambda platform, nonce: platform.sign(platform.deep_linking_claims(nonce, **overrides))


GOOD_HEADER = {"alg": "RS256", "kid": "k"}
# (token maker, status, code)
MALFORMED_TOKENS: dict[str, tuple[Callable[[TestPlatform, str], str], int, str]] = {
    "garbage_string": (_raw("this is not a jwt"), 400, "malformed_token"),
    "two_part_jwt": (_raw("eyJhbGciOiJSUzI1NiJ9.e30"), 400, "malformed_token"),
    "four_part_jwt": (_raw("a.b.c.d"), 400, "malformed_token"),
    "empty_parts": (_raw(".."), 400, "malformed_token"),
    "not_base64": (_raw("!!!.@@@.###"), 400, "malformed_token"),
    "not_utf8": (
        _raw(_b64(b"\xff\xfe\xfd") + "." + _b64(b"\xc3\x28") + ".sig"),
        400,
        "malformed_token",
    ),
    "header_is_a_list": (_raw(_jwt(["RS256"], {"iss": "x"})), 400, "malformed_token"),
    "body_is_a_list": (_raw(_jwt(GOOD_HEADER, ["iss", "aud"])), 400, "malformed_token"),
    "body_is_a_string": (_raw(_jwt(GOOD_HEADER, "claims")), 400, "malformed_token"),
    "body_is_null": (_raw(_jwt(GOOD_HEADER, None)), 400, "malformed_token"),
    "header_without_alg": (_raw(_jwt({"kid": "k"}, {"iss": "x"})), 400, "unsupported_algorithm"),
    "alg_is_a_list": (_raw(_jwt({"alg": ["RS256"], "kid": "k"}, {})), 400, "unsupported_algorithm"),
    "no_iss": (_unsigned_body(iss=None), 400, "missing_claim"),
    "iss_not_a_string": (_unsigned_body(iss=42), 400, "invalid_claim"),
    "unknown_issuer": (_unsigned_body(iss="https://unknown.example"), 400, "unknown_platform"),
    "no_aud": (_unsigned_body(aud=None), 400, "missing_claim"),
    "aud_an_object": (_unsigned_body(aud={"client": "tool-client-1"}), 400, "invalid_claim"),
    "aud_list_of_numbers": (_unsigned_body(aud=[1, 2]), 400, "invalid_claim"),
    "signature_not_base64": (
        lambda p, n: p.sign(p.claims(n)).rsplit(".", 1)[0] + ".%%%",
        400,
        "invalid_claim",
    ),
    "signed_exp_not_a_number": (_signed(exp="tomorrow"), 400, "invalid_claim"),
    "signed_iat_not_a_number": (_signed(iat="now"), 400, "invalid_claim"),
    "signed_no_exp": (_signed(exp=None), 400, "missing_claim"),
    "signed_no_iat": (_signed(iat=None), 400, "missing_claim"),
    "signed_no_nonce": (_signed(nonce=None), 400, "missing_claim"),
    "signed_nonce_not_a_string": (_signed(nonce=12345), 400, "invalid_claim"),
    "signed_sub_not_a_string": (_signed(sub=12345), 400, "invalid_claim"),
    "signed_roles_a_string": (_signed(**{LTI + "roles": "Learner"}), 400, "invalid_claim"),
    "signed_roles_of_numbers": (_signed(**{LTI + "roles": [1, 2]}), 400, "invalid_claim"),
    "signed_context_a_list": (_signed(**{LTI + "context": ["course-1"]}), 400, "invalid_claim"),
    "signed_custom_a_string": (_signed(**{LTI + "custom": "a=b"}), 400, "invalid_claim"),
    "signed_resource_link_a_string": (
        _signed(**{LTI + "resource_link": "link-1"}),
        400,
        "missing_claim",
    ),
    "signed_message_type_a_list": (
        _signed(**{LTI + "message_type": ["LtiResourceLinkRequest"]}),
        400,
        "unknown_message_type",
    ),
    "signed_deep_link_settings_a_string": (
        _signed_deep_link(**{DL_SETTINGS: "https://lms.example.edu/return"}),
        400,
        "invalid_claim",
    ),
    "signed_deep_link_settings_without_return_url": (
        _signed_deep_link(
            **{
                DL_SETTINGS: {
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe"],
                }
            }
        ),
        400,
        "missing_claim",
    ),
    "signed_deep_link_settings_without_resource_links": (
        _signed_deep_link(
            **{
                DL_SETTINGS: {
                    "deep_link_return_url": "https://lms.example.edu/return",
                    "accept_types": ["file"],
                    "accept_presentation_document_targets": ["iframe"],
                }
            }
        ),
        400,
        "invalid_claim",
    ),
    "signed_deep_link_return_url_javascript": (
        _signed_deep_link(
            **{
                DL_SETTINGS: {
                    "deep_link_return_url": "javascript:alert(document.domain)",
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe"],
                }
            }
        ),
        400,
        "invalid_claim",
    ),
    "signed_deep_link_targets_a_string": (
        _signed_deep_link(
            **{
                DL_SETTINGS: {
                    "deep_link_return_url": "https://lms.example.edu/return",
                    "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": "iframe",
                }
            }
        ),
        400,
        "invalid_claim",
    ),
    "signed_sub_longer_than_255": (_signed(sub="s" * 256), 400, "invalid_claim"),
    "signed_deployment_id_longer_than_255": (
        _signed(**{LTI + "deployment_id": "d" * 256}),
        400,
        "invalid_claim",
    ),
    "signed_deployment_id_blank": (_signed(**{LTI + "deployment_id": "   "}), 400, "invalid_claim"),
}


@pytest.mark.parametrize("case", list(MALFORMED_TOKENS))
def test_malformed_id_token_is_refused_with_a_4xx_page(case: str, flow: Flow, app: Flask) -> None:
    make_token, status, code = MALFORMED_TOKENS[case]
    auth = flow.login()
    response = flow.launch(make_token(flow.platform, auth["nonce"]), auth["state"])
    assert_refused(response, status, code)
    assert counts(app) == {
        "launches": 0,
        "people": 0,
        "deployments": 1,
        "registrations": 1,
        "used_states": 0,
    }


def test_launch_without_state_is_refused(flow: Flow) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    response = flow.client.post("/lti/launch", data={"id_token": token}, base_url=TOOL)
    assert_refused(response, 400, "missing_state")


def test_launch_without_id_token_is_refused(flow: Flow) -> None:
    auth = flow.login()
    response = flow.client.post("/lti/launch", data={"state": auth["state"]}, base_url=TOOL)
    assert_refused(response, 400, "missing_id_token")


def test_empty_launch_post_is_refused(flow: Flow) -> None:
    assert_refused(flow.client.post("/lti/launch", base_url=TOOL), 400, "missing_id_token")


def test_launch_with_a_state_the_tool_never_issued_is_refused(flow: Flow) -> None:
    flow.login()
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert_refused(flow.launch(token, "state-" + "f" * 5000), 400, "state_unknown")


def test_get_on_the_launch_url_is_405(flow: Flow) -> None:
    response = flow.client.get("/lti/launch", base_url=TOOL)
    assert response.status_code == 405
    assert "method_not_allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize("missing", ["iss", "login_hint"])
def test_login_without_a_required_parameter_is_refused_naming_it(
    missing: str, flow: Flow, app: Flask
) -> None:
    response = flow.login_response(**{missing: ""})
    text = assert_refused(response, 400, "login_missing_parameter")
    assert missing in text


def test_login_for_an_unknown_issuer_is_refused(flow: Flow, app: Flask) -> None:
    response = flow.login_response(iss="https://unknown-lms.example")
    text = assert_refused(response, 400, "unknown_platform")
    assert "https://unknown-lms.example" in text
    with app.extensions["plugin.db"].session_scope() as session:
        from plugin.lti.models import LoginState

        assert session.query(LoginState).count() == 0


def test_login_for_an_unknown_client_id_is_refused(flow: Flow) -> None:
    assert_refused(flow.login_response(client_id="nobody"), 400, "unknown_platform")


def test_login_by_post_is_accepted(flow: Flow) -> None:
    from tests.support.platform import login_params

    response = flow.client.post("/lti/login", data=login_params(flow.platform), base_url=TOOL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(flow.platform.auth_login_url + "?")


def test_refusal_is_json_when_the_client_asks_for_json(flow: Flow) -> None:
    response = flow.client.post(
        "/lti/launch",
        data={"id_token": "garbage", "state": "s"},
        headers={"Accept": "application/json"},
        base_url=TOOL,
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "malformed_token"
    assert error["message"] and error["message_zh"]
