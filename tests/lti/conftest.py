"""Fixtures for LTI tests: a registered test platform and a client that completes logins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from plugin.lti.registrations import PlatformDetails, register_platform
from tests.lti.platform import TestPlatform, auth_request, login_params, running_platform

TOOL = "https://tool.test"


@pytest.fixture
def platform(app: Flask) -> Iterator[TestPlatform]:
    """A test platform registered with the app, its deployment active."""
    with running_platform() as test_platform:
        with app.extensions["plugin.db"].session_scope() as session:
            register_platform(
                session,
                PlatformDetails(
                    issuer=test_platform.issuer,
                    client_id=test_platform.client_id,
                    auth_login_url=test_platform.auth_login_url,
                    auth_token_url=test_platform.auth_token_url,
                    key_set_url=test_platform.jwks_url,
                    name="Test LMS",
                ),
                [test_platform.deployment_id],
            )
        yield test_platform


@pytest.fixture
def tool(app: Flask) -> FlaskClient:
    """A browser on the tool over HTTPS (the state cookie is Secure)."""
    return app.test_client()


class Flow:
    """Drives login → launch the way a browser between platform and tool would."""

    def __init__(self, client: FlaskClient, platform: TestPlatform):
        self.client = client
        self.platform = platform

    def login(self, **extra: str) -> dict[str, str]:
        """Initiate login; return the authentication request's parameters."""
        response = self.client.get(
            "/lti/login", query_string=login_params(self.platform, **extra), base_url=TOOL
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return auth_request(response.headers["Location"])

    def launch(self, id_token: str, state: str, **extra: str) -> TestResponse:
        """POST the id_token and state back, as the platform's auto-submitted form does."""
        return self.client.post(
            "/lti/launch", data={"id_token": id_token, "state": state, **extra}, base_url=TOOL
        )

    def complete(self, claims: dict[str, Any] | None = None, **overrides: Any) -> TestResponse:
        """Login, then launch with the platform's claims (overrides applied)."""
        auth = self.login()
        body = claims if claims is not None else self.platform.claims(auth["nonce"], **overrides)
        return self.launch(self.platform.sign(body), auth["state"])


@pytest.fixture
def flow(tool: FlaskClient, platform: TestPlatform) -> Flow:
    """Login/launch driver for the registered test platform."""
    return Flow(tool, platform)
