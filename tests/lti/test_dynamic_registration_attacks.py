"""Attacks on LTI Dynamic Registration, performed as reported, and refused.

- Takeover: a configuration claiming a registered platform's issuer and client_id replaced that
  registration's key set and login URLs, renamed it, re-enabled it and activated a deployment;
  the attacker then launched as Administrator.
- Server-side requests: with "*", a configuration naming an internal registration_endpoint made
  the tool POST there and show the answer, and the configuration fetch's different errors made
  /lti/register a port scanner.

The attacker's platform is the fake registration platform on 127.0.0.1 (a real HTTP server); its
origin is listed explicitly (as an operator would list a platform), so every refusal below
comes from the rule under test and not from the loopback guard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.core import guarded_http
from plugin.core.guarded_http import GuardedHttp
from plugin.lti.errors import RegistrationError
from plugin.lti.models import Registration
from plugin.lti.registrations import (
    PlatformDetails,
    create_registration,
    find_registration,
    register_platform,
)
from plugin.organisations.models import Organisation
from tests.support.flows import TOOL, Flow, counts
from tests.support.net import serving
from tests.support.platform import TestPlatform, auth_request, pooled_key, running_platform
from tests.support.registration_platform import (
    CLIENT_ID,
    FakePlatform,
    allowing,
    register_through,
)

VICTIM_ISSUER = "http://victim-lms.example"
VICTIM_CLIENT = "victim-client"
INTERNAL_SECRET = "internal-answer-4f1c9e"
GENERIC_EN = "The registration with the platform could not be completed"
GENERIC_ZH = "無法向平臺完成註冊"


@pytest.fixture
def attacker(fake_platform: FakePlatform) -> FakePlatform:
    """The attacker's registration platform, on 127.0.0.1."""
    return fake_platform


@pytest.fixture
def internal() -> Iterator[dict[str, Any]]:
    """An internal service on 127.0.0.1 that answers a secret and counts its requests."""
    seen: dict[str, Any] = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen["requests"] += 1
            body = INTERNAL_SECRET.encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen["port"] = server.server_address[1]
    with serving(server):
        yield seen


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the guarded HTTP helper opened a connection to."""
    opened: list[str] = []
    real_pool = guarded_http._pool

    def recording_pool(url: Any, address: str, timeout: float) -> Any:
        opened.append(address)
        return real_pool(url, address, timeout)

    monkeypatch.setattr(guarded_http, "_pool", recording_pool)
    return opened


def frame_ancestors(response: TestResponse) -> list[str]:
    """The response's CSP frame-ancestors sources."""
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        if name == "frame-ancestors":
            return values
    raise AssertionError("no frame-ancestors")


def snapshot(app: Flask, issuer: str, client_id: str) -> dict[str, Any]:
    """Everything dynamic registration must never change about a registration."""
    with app.extensions["plugin.db"].session_scope() as session:
        registration = find_registration(session, issuer, client_id)
        assert registration is not None
        return {
            "name": registration.name,
            "auth_login_url": registration.auth_login_url,
            "auth_token_url": registration.auth_token_url,
            "key_set_url": registration.key_set_url,
            "enabled": registration.enabled,
            "origin": registration.origin,
            "organisation": registration.organisation.key,
            "deployments": sorted((d.deployment_id, d.active) for d in registration.deployments),
        }


def organisations(app: Flask) -> int:
    """How many organisations exist."""
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalar(select(func.count()).select_from(Organisation)) or 0


def register_victim(
    app: Flask, issuer: str, client_id: str, *, key_set_url: str, enabled: bool
) -> dict[str, Any]:
    """The platform an operator registered with the CLI's service; returns its snapshot."""
    with app.extensions["plugin.db"].session_scope() as session:
        registration = register_platform(
            session,
            PlatformDetails(
                issuer=issuer,
                client_id=client_id,
                auth_login_url=issuer + "/original-auth",
                auth_token_url=issuer + "/original-token",
                key_set_url=key_set_url,
                name="Agency LMS",
            ),
            ["original-deployment"],
        )
        registration.enabled = enabled
    return snapshot(app, issuer, client_id)


def attacker_signer(attacker: FakePlatform, issuer: str, client_id: str) -> TestPlatform:
    """Signs launches as ``issuer`` with the attacker's own key, as Administrator."""
    private_pem, public = pooled_key(2)
    signer = TestPlatform(
        issuer=issuer,
        client_id=client_id,
        deployment_id="dyn-deployment-1",
        jwks_url=attacker.state.base_url + "/jwks",
    )
    signer.use_key(private_pem, public)
    return signer


def administrator_launch(app: Flask, signer: TestPlatform) -> TestResponse:
    """Login and launch with the Administrator role."""
    flow = Flow(app.test_client(), signer)
    auth = flow.login_response()
    if auth.status_code != 302:
        return auth
    params = auth_request(auth.headers["Location"])
    roles = ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]
    claims = signer.claims(params["nonce"])
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = roles
    return flow.launch(signer.sign(claims), params["state"])


# --- the takeover (High) -------------------------------------------------------------------------


def test_a_configuration_url_with_user_info_is_refused_before_any_request(
    make_app: Callable[..., Flask], attacker: FakePlatform, connections: list[str]
) -> None:
    app = allowing(make_app, "*", attacker.state.base_url + "/")
    with running_platform() as victim:
        before = register_victim(
            app, VICTIM_ISSUER, VICTIM_CLIENT, key_set_url=victim.jwks_url, enabled=True
        )
        port = attacker.state.base_url.rsplit(":", 1)[1]
        url = f"{VICTIM_ISSUER}@127.0.0.1:{port}/.well-known/openid-configuration"

        response = register_through(app, url)

        text = response.get_data(as_text=True)
        assert response.status_code == 400, text
        assert "user name or password" in text and "openid_configuration" in text
        assert attacker.state.requests == 0 and connections == []
        assert f"http://127.0.0.1:{port}" not in frame_ancestors(response)
        # Framed exactly as any other page: by the registered platforms only.
        other_page = app.test_client().get("/lti/config", base_url=TOOL)
        assert frame_ancestors(response) == frame_ancestors(other_page)
        assert snapshot(app, VICTIM_ISSUER, VICTIM_CLIENT) == before


def test_a_configuration_claiming_another_hosts_issuer_is_refused_and_its_launch_fails(
    make_app: Callable[..., Flask], attacker: FakePlatform
) -> None:
    # The reported attack: the configuration claims the victim's issuer and the platform
    # answers with the victim's client_id; the attacker then launches as Administrator.
    attacker.state.issuer_override = VICTIM_ISSUER
    attacker.state.client_id = VICTIM_CLIENT
    app = allowing(make_app, "*", attacker.state.base_url + "/")
    with running_platform() as victim:
        before = register_victim(
            app, VICTIM_ISSUER, VICTIM_CLIENT, key_set_url=victim.jwks_url, enabled=True
        )
        registrations = counts(app)["registrations"]

        response = register_through(app, attacker.configuration_url)

        text = response.get_data(as_text=True)
        assert response.status_code == 400, text
        assert "issuer_host_mismatch" in text and f"The issuer {VICTIM_ISSUER} is not on" in text
        assert attacker.state.posted == []  # nothing was sent to its registration endpoint
        assert snapshot(app, VICTIM_ISSUER, VICTIM_CLIENT) == before
        assert counts(app)["registrations"] == registrations

        launch = administrator_launch(app, attacker_signer(attacker, VICTIM_ISSUER, VICTIM_CLIENT))
        assert launch.status_code in (401, 403), launch.get_data(as_text=True)
        assert counts(app)["launches"] == 0


@pytest.mark.parametrize("enabled", [False, True], ids=["disabled", "enabled"])
def test_dynamic_registration_never_takes_over_an_existing_registration(
    enabled: bool, make_app: Callable[..., Flask], attacker: FakePlatform
) -> None:
    # Same host for issuer and configuration, the issuer and client_id of a registration an
    # operator made: the only thing left to refuse it is that it exists.
    issuer = attacker.state.base_url
    app = allowing(make_app, "*", issuer + "/")
    before = register_victim(
        app, issuer, CLIENT_ID, key_set_url=issuer + "/original-jwks", enabled=enabled
    )
    organisations_before = organisations(app)

    response = register_through(app, attacker.configuration_url)

    text = response.get_data(as_text=True)
    assert response.status_code == 409, text
    assert "<code>registration_exists</code>" in text and "HTTP 409" in text
    assert "flask --app plugin platform" in text
    assert "動態註冊只能新增註冊" in text and "never changes an existing registration" in text
    after = snapshot(app, issuer, CLIENT_ID)
    assert after == before  # URLs, name, enabled flag, organisation and deployments
    assert after["enabled"] is enabled
    assert after["deployments"] == [("original-deployment", True)]
    assert organisations(app) == organisations_before
    assert CLIENT_ID not in frame_ancestors(response)

    launch = administrator_launch(app, attacker.signer)
    assert launch.status_code in (401, 403, 502), launch.get_data(as_text=True)
    assert counts(app)["launches"] == 0


def test_the_create_service_refuses_an_existing_registration_and_changes_nothing(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    before = register_victim(
        app, VICTIM_ISSUER, VICTIM_CLIENT, key_set_url=VICTIM_ISSUER + "/jwks", enabled=False
    )
    with app.extensions["plugin.db"].session_scope() as session:
        with pytest.raises(RegistrationError) as refused:
            create_registration(
                session,
                PlatformDetails(
                    issuer=VICTIM_ISSUER,
                    client_id=VICTIM_CLIENT,
                    auth_login_url="http://attacker/auth",
                    auth_token_url="http://attacker/token",
                    key_set_url="http://attacker/jwks",
                    name="Attacker",
                ),
                ["attacker-deployment"],
                origin="dynamic",
            )
        session.rollback()
    assert (refused.value.code, refused.value.status) == ("registration_exists", 409)
    assert "flask --app plugin platform" in refused.value.message_zh
    assert snapshot(app, VICTIM_ISSUER, VICTIM_CLIENT) == before


def test_a_listed_prefix_does_not_admit_a_look_alike_host_or_path_and_widens_no_framing(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    requested: list[str] = []
    monkeypatch.setattr(
        GuardedHttp, "_request", lambda self, method, url, *a: requested.append(url)
    )
    app = allowing(make_app, "https://lms.gov.tw", "https://moodle.gov.tw/moodle")
    for url in (
        "https://lms.gov.tw.evil/.well-known/openid-configuration",
        "https://moodle.gov.tw/moodle-evil/openid-configuration",
    ):
        response = register_through(app, url)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, text
        assert "registration_not_allowed" in text
        assert frame_ancestors(response) == ["'self'"]
    assert requested == []
    assert counts(app)["registrations"] == 0


# --- server-side requests (Medium) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:{port}/register",
        "http://10.0.0.1/register",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/register",
    ],
    ids=["loopback", "private", "metadata", "ipv6_loopback"],
)
def test_an_internal_registration_endpoint_is_refused_without_a_request(
    endpoint: str,
    make_app: Callable[..., Flask],
    attacker: FakePlatform,
    internal: dict[str, Any],
    connections: list[str],
) -> None:
    attacker.state.registration_endpoint_override = endpoint.format(port=internal["port"])
    app = allowing(make_app, "*", attacker.state.base_url + "/")

    response = register_through(app, attacker.configuration_url)

    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert GENERIC_EN in text and GENERIC_ZH in text
    assert INTERNAL_SECRET not in text
    assert internal["requests"] == 0
    assert connections == ["127.0.0.1"]  # the configuration fetch, and nothing else
    assert attacker.state.configuration_requests == 1
    assert counts(app)["registrations"] == 0


def test_the_registration_answer_of_a_failing_platform_is_never_shown(
    make_app: Callable[..., Flask], attacker: FakePlatform, internal: dict[str, Any]
) -> None:
    # Even an origin the operator listed gets the generic error: its answer stays in no page.
    internal_origin = f"http://127.0.0.1:{internal['port']}"
    attacker.state.registration_endpoint_override = internal_origin + "/register"
    app = allowing(make_app, attacker.state.base_url + "/", internal_origin + "/")
    response = register_through(app, attacker.configuration_url)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and internal["requests"] == 1
    assert INTERNAL_SECRET not in text and "HTTP 500" not in text
    assert GENERIC_EN in text


def _error_section(response: TestResponse) -> tuple[int, str]:
    text = response.get_data(as_text=True)
    return response.status_code, text[text.index("<section") : text.index("</section>")]


def test_configuration_fetches_answer_one_error_whatever_the_address_does(
    make_app: Callable[..., Flask], attacker: FakePlatform, connections: list[str]
) -> None:
    # With "*" (development), an open port, a closed port, a private and a metadata address
    # must look the same: no port scan through /lti/register.
    app = allowing(make_app, "*")
    urls = [
        attacker.configuration_url,
        "http://127.0.0.1:9/.well-known/openid-configuration",
        "http://10.255.255.1/.well-known/openid-configuration",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:22/",
    ]
    pages = {_error_section(register_through(app, url)) for url in urls}
    assert len(pages) == 1, pages
    ((status, section),) = pages
    assert status == 400 and GENERIC_EN in section
    assert attacker.state.requests == 0 and connections == []


def test_listed_origins_that_fail_differently_answer_one_error(
    make_app: Callable[..., Flask], attacker: FakePlatform
) -> None:
    app = allowing(make_app, attacker.state.base_url + "/", "http://127.0.0.1:9/")
    missing = register_through(app, attacker.state.base_url + "/no-such-page")
    closed = register_through(app, "http://127.0.0.1:9/.well-known/openid-configuration")
    refused = register_through(app, attacker.configuration_url, token="wrong-token")
    assert _error_section(missing) == _error_section(closed) == _error_section(refused)


# --- tenants -------------------------------------------------------------------------------------


def test_each_dynamically_registered_platform_gets_an_organisation_of_its_own(
    make_app: Callable[..., Flask], attacker: FakePlatform
) -> None:
    app = allowing(make_app, attacker.state.base_url + "/")
    with running_platform() as operators:
        register_victim(
            app, operators.issuer, "operator-client", key_set_url=operators.jwks_url, enabled=True
        )
    assert register_through(app, attacker.configuration_url).status_code == 200
    attacker.state.client_id = "second-client"
    assert register_through(app, attacker.configuration_url).status_code == 200
    with app.extensions["plugin.db"].session_scope() as session:
        keys = {
            r.client_id: r.organisation.key
            for r in session.scalars(select(Registration).order_by(Registration.id))
        }
    assert keys == {
        "operator-client": "default",
        CLIENT_ID: "127.0.0.1",
        "second-client": "127.0.0.1-2",
    }


def test_the_registration_page_is_framed_by_an_admitted_platform(
    make_app: Callable[..., Flask], attacker: FakePlatform
) -> None:
    app = allowing(make_app, attacker.state.base_url + "/")
    attacker.state.refuse_with = 400
    response = register_through(app, attacker.configuration_url)
    assert response.status_code == 400
    assert attacker.state.base_url in frame_ancestors(response)
    page = app.test_client().get("/lti/config", base_url=TOOL)
    assert attacker.state.base_url not in frame_ancestors(page)
