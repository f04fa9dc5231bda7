"""A fake LTI platform that supports Dynamic Registration, on loopback, for the tool's tests.

It serves its openid-configuration and accepts a registration only with the registration token
as a Bearer token and a body that says what a tool must say; then it signs launches with its
own key, published at its own JWKS URL. Overrides let a test make it lie like an attacker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.test import TestResponse

from tests.support.flows import TOOL
from tests.support.net import serving
from tests.support.platform import TestPlatform, pooled_key

# The tool as make_run serves it: a registration platform on loopback is allowed to reach it.
DEV_TOOL_URL = "http://127.0.0.1:5000"
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
    client_id: str = CLIENT_ID
    registration_endpoint_override: str = ""
    refuse_with: int = 0
    messages_supported: tuple[str, ...] = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
    configuration_requests: int = 0
    requests: int = 0
    posted: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def configuration(self) -> dict[str, Any]:
        """The platform's OpenID configuration (Dynamic Registration §3.4)."""
        return {
            "issuer": self.issuer_override or self.base_url,
            "authorization_endpoint": self.base_url + "/auth",
            "token_endpoint": self.base_url + "/token",
            "jwks_uri": self.base_url + "/jwks",
            "registration_endpoint": self.registration_endpoint_override
            or self.base_url + "/register",
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
        state.requests += 1
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
        state.requests += 1
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
        answer["client_id"] = state.client_id
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


@contextmanager
def running_registration_platform(tool_base_url: str) -> Iterator[FakePlatform]:
    """A dynamic-registration platform on 127.0.0.1, for the tool at ``tool_base_url``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    private_pem, public = pooled_key(2)
    server.state = PlatformState(
        base_url=base_url, tool_base_url=tool_base_url.rstrip("/"), jwks={"keys": [public]}
    )
    signer = TestPlatform(
        issuer=base_url,
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT_ID,
        jwks_url=base_url + "/jwks",
    )
    signer.use_key(private_pem, public)
    with serving(server):
        yield FakePlatform(server.state, signer)


def allowing(make_app: Callable[..., Flask], *entries: str) -> Flask:
    """A tool whose ``lti.dynamic_registration_urls`` is ``entries``."""
    return make_app(lti={"dynamic_registration_urls": list(entries)})


def register_through(
    app: Flask, configuration_url: str | None, token: str | None = REGISTRATION_TOKEN
) -> TestResponse:
    """Open the tool's /lti/register as the platform's registration window does."""
    query = {}
    if configuration_url is not None:
        query["openid_configuration"] = configuration_url
    if token is not None:
        query["registration_token"] = token
    return app.test_client().get("/lti/register", query_string=query, base_url=TOOL)
