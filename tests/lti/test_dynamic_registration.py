"""LTI Dynamic Registration 1.0 end to end, against a fake platform on loopback.

The fake platform (tests/support/registration_platform.py) runs on 127.0.0.1, so the tool reaches
it only because its allow-list names the platform's origin: loopback is internal and allowed
only when named (docs/ARCHITECTURE.md §9).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Deployment, Registration
from tests.support.flows import TOOL, Flow, counts
from tests.support.registration_platform import (
    CLIENT_ID,
    DEPLOYMENT_ID,
    DEV_TOOL_URL,
    TOOL_CONFIGURATION,
    FakePlatform,
    PlatformState,
    allowing,
    register_through,
)


@pytest.fixture
def app(make_app: Callable[..., Flask], fake_platform: FakePlatform) -> Flask:
    """The tool, its allow-list naming the fake platform's origin."""
    application = allowing(make_app, fake_platform.state.base_url + "/")
    assert application.extensions["plugin.settings"].lti.base_url == DEV_TOOL_URL
    return application


_register = register_through


def test_dynamic_registration_stores_the_platform_and_a_launch_from_it_is_accepted(
    app: Flask, fake_platform: FakePlatform
) -> None:
    response = _register(app, fake_platform.configuration_url)

    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert fake_platform.state.problems == []
    assert len(fake_platform.state.posted) == 1
    assert "/static/js/lti-close.js" in page
    assert CLIENT_ID in page
    close_script = app.test_client().get("/static/js/lti-close.js", base_url=TOOL)
    assert 'subject: "org.imsglobal.lti.close"' in close_script.get_data(as_text=True)
    close_script.close()
    with app.extensions["plugin.db"].session_scope() as session:
        registration = session.scalars(select(Registration)).one()
        assert (registration.issuer, registration.client_id) == (
            fake_platform.state.base_url,
            CLIENT_ID,
        )
        assert registration.origin == "dynamic" and registration.enabled
        # Its own organisation, named after the issuer's host; never the default one.
        assert registration.organisation.key == "127.0.0.1"
        assert registration.auth_login_url == fake_platform.state.base_url + "/auth"
        assert registration.key_set_url == fake_platform.state.base_url + "/jwks"
        deployment = session.scalars(select(Deployment)).one()
        assert (deployment.deployment_id, deployment.active) == (DEPLOYMENT_ID, True)

    flow = Flow(app.test_client(), fake_platform.signer)
    launch = flow.complete()
    assert flow.land(launch).status_code == 200
    assert counts(app)["launches"] == 1


def test_registration_body_omits_deep_linking_when_the_platform_does_not_offer_it(
    app: Flask, fake_platform: FakePlatform
) -> None:
    fake_platform.state.messages_supported = ("LtiResourceLinkRequest",)
    assert _register(app, fake_platform.configuration_url).status_code == 200
    messages = fake_platform.state.posted[0][TOOL_CONFIGURATION]["messages"]
    assert [m["type"] for m in messages] == ["LtiResourceLinkRequest"]


def _assert_failed(response: Any, *named: str) -> str:
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, text
    for words in named:
        assert words in text, text
    return text


def test_issuer_on_another_host_than_the_configuration_url_is_refused(
    app: Flask, fake_platform: FakePlatform
) -> None:
    fake_platform.state.issuer_override = "https://elsewhere.example"
    response = _register(app, fake_platform.configuration_url)
    _assert_failed(
        response, "issuer_host_mismatch", "The issuer https://elsewhere.example is not on", "§3.5.1"
    )
    assert fake_platform.state.posted == []  # nothing was sent to the impostor's endpoint
    assert counts(app)["registrations"] == 0


def test_platform_refusing_the_registration_is_reported_without_its_answer(
    app: Flask, fake_platform: FakePlatform
) -> None:
    fake_platform.state.refuse_with = 400
    response = _register(app, fake_platform.configuration_url)
    text = _assert_failed(response, "platform_unreachable", "LTI Dynamic Registration")
    assert len(fake_platform.state.posted) == 1
    assert "invalid_client_metadata" not in text  # the platform's answer is not echoed
    assert counts(app)["registrations"] == 0 and counts(app)["deployments"] == 0


def test_missing_openid_configuration_is_refused(app: Flask) -> None:
    _assert_failed(
        _register(app, None),
        "openid_configuration_missing",
        "openid_configuration is missing",
        "缺少 openid_configuration",
    )
    assert counts(app)["registrations"] == 0


def test_openid_configuration_that_is_not_a_url_is_refused(app: Flask) -> None:
    _assert_failed(_register(app, "javascript:alert(1)"), "openid_configuration")
    assert counts(app)["registrations"] == 0


def test_unreachable_openid_configuration_is_reported(make_app: Callable[..., Flask]) -> None:
    app = allowing(make_app, "http://127.0.0.1:9/")
    response = _register(app, "http://127.0.0.1:9/.well-known/openid-configuration")
    _assert_failed(response, "platform_unreachable")
    assert counts(app)["registrations"] == 0


@pytest.mark.parametrize("token", ["wrong-token", None], ids=["wrong_token", "no_token"])
def test_registration_without_the_right_token_is_refused_by_the_platform(
    token: str | None, app: Flask, fake_platform: FakePlatform
) -> None:
    response = _register(app, fake_platform.configuration_url, token)
    _assert_failed(response, "platform_unreachable")
    assert fake_platform.state.configuration_requests == 1
    assert fake_platform.state.posted == []
    assert counts(app)["registrations"] == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(
            lambda config: {k: v for k, v in config.items() if k != "registration_endpoint"},
            "registration_endpoint",
            id="without-a-registration-endpoint",
        ),
        pytest.param(
            lambda config: {**config, "id_token_signing_alg_values_supported": ["HS256"]},
            "RS256",
            id="platform-not-signing-with-rs256",
        ),
    ],
)
def test_a_configuration_the_tool_cannot_use_is_refused_naming_what_is_wrong(
    app: Flask,
    fake_platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    named: str,
) -> None:
    original = PlatformState.configuration
    monkeypatch.setattr(PlatformState, "configuration", lambda self: change(original(self)))
    _assert_failed(_register(app, fake_platform.configuration_url), named)
    assert fake_platform.state.posted == []
    assert counts(app)["registrations"] == 0


@pytest.mark.parametrize(
    "allowed", [["https://moodle.agency.gov.tw/"], []], ids=["other_platform_listed", "none"]
)
def test_registration_from_a_url_not_allowed_is_refused_before_any_request(
    allowed: list[str], make_app: Callable[..., Flask], fake_platform: FakePlatform
) -> None:
    app = make_app(lti={"dynamic_registration_urls": allowed or ["https://nowhere.invalid/"]})
    if not allowed:
        # What production does when the list is empty: dynamic registration is off.
        app.extensions["plugin.settings"] = dataclasses.replace(
            app.extensions["plugin.settings"],
            lti=dataclasses.replace(
                app.extensions["plugin.settings"].lti, dynamic_registration_urls=()
            ),
        )
    response = _register(app, fake_platform.configuration_url)
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "registration_not_allowed" in text and "lti.dynamic_registration_urls" in text
    assert fake_platform.state.configuration_requests == 0
    assert fake_platform.state.posted == []
    assert counts(app)["registrations"] == 0


def test_registration_from_an_allowed_url_prefix_is_accepted(
    make_app: Callable[..., Flask], fake_platform: FakePlatform
) -> None:
    app = allowing(make_app, fake_platform.state.base_url)
    assert _register(app, fake_platform.configuration_url).status_code == 200
    assert counts(app)["registrations"] == 1
