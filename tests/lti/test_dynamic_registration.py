"""LTI Dynamic Registration 1.0 end to end, against a fake platform on loopback.

The fake platform serves its openid-configuration and accepts a registration only with the
registration token as a Bearer token and a body that says what a tool must say; then it signs
a launch with its own key, published at its own JWKS URL.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Deployment, Registration
from tests.lti.conftest import TOOL, Flow, counts
from tests.lti.platform import TestPlatform, pooled_key

REGISTRATION_TOKEN = "reg-token-7f3a"
CLIENT_ID = "dyn-client-1"
DEPLOYMENT_ID = "dyn-deployment-1"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass
class PlatformState:
    """What the fake platform serves, and what it saw."""

    base_url: str = ""
    tool_base_url: str = ""
    jwks: dict[str, Any] = field(default_factory=dict)
    issuer_override: str = ""
    refuse_with: int = 0
    messages_supported: tuple[str, ...] = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
    configuration_requests: int = 0
    posted: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def configuration(self) -> dict[str, Any]:
        """The platform's OpenID configuration (Dynamic Registration §3.4)."""
        return {
            "issuer": self.issuer_override or self.base_url,
            "authorization_endpoint": self.base_url + "/auth",
            "token_endpoint": self.base_url + "/token",
            "jwks_uri": self.base_url + "/jwks",
            "registration_endpoint": self.base_url + "/register",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["iss", "sub", "name", "given_name", "family_name"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": "fake-lms",
                "version": "1.0",
                "messages_supported": [{"type": t} for t in self.messages_supported],
            },
        }

    def check_registration(self, body: dict[str, Any]) -> list[str]:
        """What is wrong with a tool's registration request (Dynamic Registration §3.5.2)."""
        tool = self.tool_base_url
        launch = tool + "/lti/launch"
        expected = {
            "initiate_login_uri": tool + "/lti/login",
            "jwks_uri": tool + "/.well-known/jwks.json",
            "token_endpoint_auth_method": "private_key_jwt",
            "application_type": "web",
        }
        problems = [f"{k}={body.get(k)!r}" for k, v in expected.items() if body.get(k) != v]
        if launch not in (body.get("redirect_uris") or []):
            problems.append("redirect_uris")
        if body.get("response_types") != ["id_token"]:
            problems.append("response_types")
        if not {"implicit", "client_credentials"} <= set(body.get("grant_types") or []):
            problems.append("grant_types")
        config = body.get(TOOL_CONFIGURATION)
        if not isinstance(config, dict):
            return [*problems, "lti-tool-configuration"]
        if config.get("domain") != urlsplit(tool).netloc:
            problems.append("domain")
        if config.get("target_link_uri") != launch:
            problems.append("target_link_uri")
        if not {"iss", "sub"} <= set(config.get("claims") or []):
            problems.append("claims")
        types = {m.get("type") for m in config.get("messages") or [] if isinstance(m, dict)}
        wanted = {"LtiResourceLinkRequest"}
        if "LtiDeepLinkingRequest" in self.messages_supported:
            wanted.add("LtiDeepLinkingRequest")
        if not wanted <= types:
            problems.append(f"messages={sorted(t for t in types if t)}")
        return problems


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {REGISTRATION_TOKEN}"

    def do_GET(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            state.configuration_requests += 1
            if not self._authorized():
                self._send(401, {"error": "invalid_token"})
            else:
                self._send(200, state.configuration())
        elif path == "/jwks":
            self._send(200, state.jwks)
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        state = self.server.state
        if urlsplit(self.path).path != "/register":
            self._send(404, {"error": "not_found"})
            return
        if not self._authorized():
            self._send(401, {"error": "invalid_token"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        state.posted.append(body)
        state.problems = state.check_registration(body) if isinstance(body, dict) else ["body"]
        if state.refuse_with or state.problems:
            status = state.refuse_with or 400
            self._send(status, {"error": "invalid_client_metadata", "problems": state.problems})
            return
        answer = dict(body)
        answer["client_id"] = CLIENT_ID
        answer[TOOL_CONFIGURATION] = {**body[TOOL_CONFIGURATION], "deployment_id": DEPLOYMENT_ID}
        self._send(200, answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    state: PlatformState


@dataclass
class FakePlatform:
    """The running fake platform: its state, and a :class:`TestPlatform` that signs for it."""

    state: PlatformState
    signer: TestPlatform

    @property
    def configuration_url(self) -> str:
        """Where its openid-configuration is served."""
        return self.state.base_url + "/.well-known/openid-configuration"


@pytest.fixture
def fake_platform(app: Flask) -> Iterator[FakePlatform]:
    """A platform supporting dynamic registration, on 127.0.0.1."""
    server = _Server(("127.0.0.1", 0), _Handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    private_pem, public = pooled_key(2)
    server.state = PlatformState(
        base_url=base_url,
        tool_base_url=app.extensions["plugin.settings"].lti.base_url.rstrip("/"),
        jwks={"keys": [public]},
    )
    signer = TestPlatform(
        issuer=base_url,
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT_ID,
        jwks_url=base_url + "/jwks",
    )
    signer.use_key(private_pem, public)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield FakePlatform(server.state, signer)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _register(app: Flask, configuration_url: str | None, token: str | None = REGISTRATION_TOKEN):
    query = {}
    if configuration_url is not None:
        query["openid_configuration"] = configuration_url
    if token is not None:
        query["registration_token"] = token
    return app.test_client().get("/lti/register", query_string=query, base_url=TOOL)


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
    assert "registration_failed" in text
    for words in named:
        assert words in text, text
    return text


def test_issuer_that_is_not_a_prefix_of_the_configuration_url_is_refused(
    app: Flask, fake_platform: FakePlatform
) -> None:
    fake_platform.state.issuer_override = "https://elsewhere.example"
    response = _register(app, fake_platform.configuration_url)
    _assert_failed(response, "issuer https://elsewhere.example does not match")
    assert fake_platform.state.posted == []  # nothing was sent to the impostor's endpoint
    assert counts(app)["registrations"] == 0


def test_platform_refusing_the_registration_is_reported(
    app: Flask, fake_platform: FakePlatform
) -> None:
    fake_platform.state.refuse_with = 400
    response = _register(app, fake_platform.configuration_url)
    _assert_failed(response, "refused the registration (HTTP 400)", "registration_endpoint")
    assert counts(app)["registrations"] == 0 and counts(app)["deployments"] == 0


def test_missing_openid_configuration_is_refused(app: Flask) -> None:
    _assert_failed(_register(app, None), "openid_configuration is missing")
    assert counts(app)["registrations"] == 0


def test_openid_configuration_that_is_not_a_url_is_refused(app: Flask) -> None:
    _assert_failed(_register(app, "javascript:alert(1)"), "openid_configuration")
    assert counts(app)["registrations"] == 0


def test_unreachable_openid_configuration_is_reported(app: Flask) -> None:
    response = _register(app, "http://127.0.0.1:9/.well-known/openid-configuration")
    _assert_failed(response, "openid_configuration could not be fetched")
    assert counts(app)["registrations"] == 0


@pytest.mark.parametrize("token", ["wrong-token", None], ids=["wrong_token", "no_token"])
def test_registration_without_the_right_token_is_refused_by_the_platform(
    token: str | None, app: Flask, fake_platform: FakePlatform
) -> None:
    response = _register(app, fake_platform.configuration_url, token)
    _assert_failed(response, "openid_configuration could not be fetched")
    assert fake_platform.state.configuration_requests == 1
    assert fake_platform.state.posted == []
    assert counts(app)["registrations"] == 0


def test_configuration_without_a_registration_endpoint_is_refused_naming_it(
    app: Flask, fake_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = PlatformState.configuration

    def without_endpoint(self: PlatformState) -> dict[str, Any]:
        config = original(self)
        del config["registration_endpoint"]
        return config

    monkeypatch.setattr(PlatformState, "configuration", without_endpoint)
    _assert_failed(_register(app, fake_platform.configuration_url), "registration_endpoint")
    assert counts(app)["registrations"] == 0


def test_platform_that_does_not_sign_with_rs256_is_refused(
    app: Flask, fake_platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = PlatformState.configuration

    def hs256_only(self: PlatformState) -> dict[str, Any]:
        return {**original(self), "id_token_signing_alg_values_supported": ["HS256"]}

    monkeypatch.setattr(PlatformState, "configuration", hs256_only)
    _assert_failed(_register(app, fake_platform.configuration_url), "RS256")
    assert fake_platform.state.posted == []
    assert counts(app)["registrations"] == 0


@pytest.mark.parametrize(
    "allowed", [["https://moodle.agency.gov.tw/"], []], ids=["other_platform_listed", "none"]
)
def test_registration_from_a_url_not_allowed_is_refused_before_any_request(
    allowed: list[str], make_app: Any, fake_platform: FakePlatform
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
    make_app: Any, fake_platform: FakePlatform
) -> None:
    app = make_app(lti={"dynamic_registration_urls": [fake_platform.state.base_url + "/"]})
    assert _register(app, fake_platform.configuration_url).status_code == 200
    assert counts(app)["registrations"] == 1
