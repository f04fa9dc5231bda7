"""Registering the test platform with an app, and driving login → launch as a browser would."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.lti.models import Deployment, Launch, LoginState, Person, Registration
from plugin.lti.registrations import PlatformDetails, register_platform
from tests.support.platform import (
    LTI,
    ROLE,
    TestPlatform,
    auth_request,
    login_params,
    running_platform,
)

TOOL = "https://tool.test"
# Makes a JSON API token with the scopes given (the ``make_token`` fixture of tests/web/api).
MakeToken = Callable[..., str]
# Words every refusal page carries, in both languages (templates/lti/rejected.html).
REFUSED_ZH = "無法開啟此活動"
REFUSED_EN = "This activity cannot be opened"


def register(
    app: Flask,
    platform: TestPlatform,
    deployment_ids: tuple[str, ...] | None = None,
    *,
    client_id: str | None = None,
    key_set_url: str | None = None,
    auth_token_url: str | None = None,
) -> None:
    """Register ``platform`` with ``app`` (its own deployment active unless told otherwise)."""
    deployments = (platform.deployment_id,) if deployment_ids is None else deployment_ids
    with app.extensions["plugin.db"].session_scope() as session:
        register_platform(
            session,
            PlatformDetails(
                issuer=platform.issuer,
                client_id=client_id or platform.client_id,
                auth_login_url=platform.auth_login_url,
                auth_token_url=auth_token_url or platform.auth_token_url,
                key_set_url=key_set_url or platform.jwks_url,
                name="Test LMS",
            ),
            deployments,
        )


def counts(app: Flask) -> dict[str, int]:
    """How many launches, people, deployments, registrations and used login states are stored."""
    used = select(func.count()).select_from(LoginState).where(LoginState.used_at.is_not(None))
    with app.extensions["plugin.db"].session_scope() as session:
        return {
            "launches": session.scalar(select(func.count()).select_from(Launch)) or 0,
            "people": session.scalar(select(func.count()).select_from(Person)) or 0,
            "deployments": session.scalar(select(func.count()).select_from(Deployment)) or 0,
            "registrations": session.scalar(select(func.count()).select_from(Registration)) or 0,
            "used_states": session.scalar(used) or 0,
        }


def assert_refused(response: TestResponse, status: int, code: str) -> str:
    """A refusal page: ``status``, both languages, the stable code; returns the page text."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert REFUSED_ZH in text and REFUSED_EN in text, text
    assert f"<code>{code}</code>" in text, text
    return text


def storage_config(response: TestResponse) -> dict[str, Any]:
    """The JSON config of the platform-storage page (templates/lti/storage.html)."""
    text = response.get_data(as_text=True)
    match = re.search(
        r'<script type="application/json" id="lti-storage-config">(.*?)</script>', text, re.S
    )
    assert match, text
    return json.loads(match.group(1))


class Flow:
    """Drives login → launch the way a browser between platform and tool would."""

    def __init__(self, client: FlaskClient, platform: TestPlatform):
        self.client = client
        self.platform = platform

    def login_response(self, **extra: str) -> TestResponse:
        """The tool's raw answer to a login initiation."""
        return self.client.get(
            "/lti/login", query_string=login_params(self.platform, **extra), base_url=TOOL
        )

    def login(self, **extra: str) -> dict[str, str]:
        """Initiate login; return the authentication request's parameters."""
        response = self.login_response(**extra)
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

    def complete_with(self, make_token: Callable[[str], str], **login: str) -> TestResponse:
        """Login, then launch with ``make_token(nonce)``."""
        auth = self.login(**login)
        return self.launch(make_token(auth["nonce"]), auth["state"])

    def land(self, response: TestResponse) -> TestResponse:
        """Follow an accepted launch's 303 to the tool's page."""
        assert response.status_code == 303, response.get_data(as_text=True)
        return self.client.get(response.headers["Location"], base_url=TOOL)


def launch_token(driver: Flow, **claims: object) -> str:
    """Launch as a learner through the test platform; the launch token (``lt``)."""
    response = driver.complete(**claims)
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["lt"][0]


def designer_token(driver: Flow) -> str:
    """Launch as a course designer (LIS role Instructor); the launch token (``lt``)."""
    return launch_token(
        driver, sub="instructor-001", name="林老師", **{LTI + "roles": [ROLE + "Instructor"]}
    )


@contextmanager
def registered_flow(app: Flask, **platform: Any) -> Iterator[Flow]:
    """A login/launch driver for a test platform (``platform``: its settings) registered with
    ``app``, its deployment active, until the block ends."""
    with running_platform(**platform) as test_platform:
        register(app, test_platform)
        yield Flow(app.test_client(), test_platform)
