"""Secrets never appear in logs, pages, headers or command output, while the tool works and
while it fails.

The secrets: the config's ``secret_key``, a database URL's password, the ``[[xapi.lrs]]``
usernames and passwords (and their Basic header), the tool's private keys, API tokens,
launch tokens, id_tokens, client-credentials access tokens and their client assertions, and
dynamic registration tokens. The drive: good and refused launches, a learner passing a
module, the statement worker against LRSs that answer 401 and 500, the grade worker against
a platform that refuses the score, a roster the platform refuses, dynamic registrations the
platform refuses and accepts, API calls with good and bad tokens, error pages 400 to 500,
and the operators' commands. Every log record (pytest's caplog at DEBUG and the handler
plugin/core/logging.py installs), every answer's body and headers and every command's output
is searched for every secret, and for ``-----BEGIN``, ``PRIVATE KEY`` and ``Bearer ey``.

A launch token is the tool's session on its links (README "Designers and learners"): it may
come back in the answer to a request that carried it, and in the launch's redirect that
issues it — nowhere else, and never in a log.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from plugin import create_app
from plugin.core.config import settings_from_mapping
from plugin.core.db import create_db_engine
from plugin.core.errors import ConfigError
from plugin.core.migrate import upgrade_database
from plugin.lti.keys import signing_key
from plugin.lti.models import ToolKey
from plugin.lti.tokens import issue_launch_token
from plugin.organisations.tokens import SCOPES, create_token, revoke_token
from tests.support.app import app_config, copy_database
from tests.support.authz import (
    ADMIN,
    DESIGNER,
    LEARNER_A,
    LEARNER_B,
    browser_headers,
    check_answers,
    launch_claims,
    token_of,
)
from tests.support.flows import TOOL, Flow, register
from tests.support.net import serving
from tests.support.platform import TestPlatform, running_platform

SECRET_KEY = "sk-" + secrets.token_urlsafe(40)
LRS_USERS = {
    "refusing": "lrs-user-" + secrets.token_hex(6),
    "failing": "lrs-user-" + secrets.token_hex(6),
}
LRS_PASSWORDS = {name: "lrs-pass-" + secrets.token_urlsafe(18) for name in LRS_USERS}
DB_PASSWORD = "db-pass-" + secrets.token_urlsafe(18)
LRS_REASON = '{"detail": "Invalid authentication credentials"}'
PATTERNS = ("-----BEGIN", "PRIVATE KEY", "Bearer ey")
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


# --- a platform and two LRSs on loopback ------------------------------------------------------


class Peer(ThreadingHTTPServer):
    """The platform's token, score and roster services, its dynamic registration, and two
    LRSs: one refusing the tool's credentials (401), one failing (500). It issues access
    tokens that look like JWTs and remembers the client assertions it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), PeerHandler)
        self.access_tokens: list[str] = []
        self.assertions: list[str] = []
        self.registration_tokens_accepted: set[str] = set()
        self.authorizations: list[str] = []

    @property
    def url(self) -> str:
        """Where the peer answers."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def new_access_token(self) -> str:
        """A fresh bearer token (a JWT, as many platforms issue)."""
        token = jwt.encode({"jti": secrets.token_hex(8)}, secrets.token_hex(16), "HS256")
        self.access_tokens.append(token)
        return token


class PeerHandler(BaseHTTPRequestHandler):
    server: Peer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, body: Any) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization", ""))
        path = urlsplit(self.path).path
        if path == "/dynreg/openid-configuration":
            base = self.server.url + "/dynreg"
            self._send(
                200,
                {
                    "issuer": base,
                    "authorization_endpoint": base + "/auth",
                    "registration_endpoint": base + "/register",
                    "jwks_uri": base + "/jwks",
                    "token_endpoint": base + "/token",
                },
            )
        elif path == "/platform/memberships":
            self._send(403, {"error": "the tool may not read this course's members"})
        else:
            self._send(404, {"error": "not here"})

    def do_POST(self) -> None:
        body = self._body()
        authorization = self.headers.get("Authorization", "")
        self.server.authorizations.append(authorization)
        path = urlsplit(self.path).path
        if path == "/platform/token":
            form = parse_qs(body.decode())
            self.server.assertions.extend(form.get("client_assertion", []))
            token = self.server.new_access_token()
            self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        elif path.endswith("/scores"):
            self._send(401, {"error": "invalid_token"})
        elif path == "/dynreg/register":
            token = authorization.removeprefix("Bearer ")
            if token in self.server.registration_tokens_accepted:
                self._send(
                    200,
                    {
                        "client_id": "dyn-client-1",
                        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                            "deployment_id": "dyn-deployment-1"
                        },
                    },
                )
            else:
                self._send(400, {"error": "invalid_client_metadata"})
        elif path == "/refusing/xAPI/statements":
            self._send(401, LRS_REASON)
        elif path == "/failing/xAPI/statements":
            self._send(500, {"detail": "the store is down"})
        else:
            self._send(404, {"error": "not here"})


@pytest.fixture
def peer() -> Iterator[Peer]:
    """The loopback peer, stopped after the test."""
    server = Peer()
    with serving(server):
        yield server


# --- recording everything --------------------------------------------------------------------


@dataclass
class Exchange:
    """One request the test made and the tool's answer."""

    request: str  # what was sent: method, path, query, form, headers
    path: str
    status: int
    text: str  # headers and body


class RecordingClient(FlaskClient):
    """A test client that keeps every exchange (the class attribute is set per test)."""

    exchanges: list[Exchange]

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:  # type: ignore[override]
        """Send the request, read and close the answer, and keep both."""
        response = super().open(*args, **kwargs)
        body = response.get_data().decode("utf-8", errors="replace")
        response.close()
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        path = args[0] if args and isinstance(args[0], str) else str(kwargs.get("path", ""))
        self.exchanges.append(
            Exchange(repr((args, kwargs)), path, response.status_code, headers + "\n\n" + body)
        )
        return response


@dataclass
class Secrets:
    """Every secret value the drive made or saw, by label."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, value: str) -> None:
        """Remember ``value`` (ignored when empty)."""
        if value:
            self.values[label] = value

    def launch_tokens(self) -> set[str]:
        """The launch tokens among them."""
        return {value for label, value in self.values.items() if label.startswith("launch token")}


@contextmanager
def plugin_log_stream() -> Iterator[io.StringIO]:
    """What the handler of plugin/core/logging.py writes, into a buffer for the block."""
    logger = logging.getLogger("plugin")
    handlers = [h for h in logger.handlers if getattr(h, "plugin_handler", False)]
    assert handlers, "plugin/core/logging.py installs one handler on the 'plugin' logger"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)  # type: ignore[attr-defined]


def leaks_in(text: str, secrets_: Secrets, allowed: set[str] = frozenset()) -> list[str]:
    """The labels of secrets (and secret-looking patterns) in ``text``."""
    found = [
        label for label, value in secrets_.values.items() if value not in allowed and value in text
    ]
    found += [f"pattern {pattern!r}" for pattern in PATTERNS if pattern in text]
    return found


def basic(user: str, password: str) -> str:
    """The Basic credentials a request to an LRS carries."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def private_key_material(app: Flask) -> dict[str, str]:
    """The tool's private keys: each PEM's base64 body, in slices a leak would show."""
    found: dict[str, str] = {}
    with app.extensions["plugin.db"].session_scope() as session:
        pem = signing_key(session, SECRET_KEY).private_pem
        for row in session.scalars(select(ToolKey)):
            found[f"encrypted private key {row.kid}"] = row.private_key_encrypted[-60:]
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    for start in range(0, len(body) - 48, 400):
        found[f"private key slice {start}"] = body[start : start + 48]
    return found


# --- the app under test --------------------------------------------------------------------------


def secret_settings(folder: Path, database_url: str, peer: Peer) -> dict[str, Any]:
    """Settings with every kind of secret, the LRSs on the peer, logs at DEBUG."""
    return app_config(
        folder,
        database_url,
        secret_key=SECRET_KEY,
        log={"level": "DEBUG"},
        xapi={
            "lrs": [
                {
                    "name": name,
                    "endpoint": f"{peer.url}/{name}/xAPI/",
                    "username": LRS_USERS[name],
                    "password": LRS_PASSWORDS[name],
                }
                for name in LRS_USERS
            ],
            "timeout_seconds": 5.0,
        },
        lti={"dynamic_registration_urls": [peer.url + "/dynreg/"], "http_timeout_seconds": 5.0},
    )


def failing_view() -> str:
    """A page that breaks (registered on the test app only): a 500."""
    raise RuntimeError("the page broke while it was being built")


@pytest.fixture
def secret_app(tmp_path: Path, seeded_sqlite: Path, peer: Peer) -> Iterator[Flask]:
    """The tool with the secrets configured, its test client recording every exchange."""
    app = create_app(secret_settings(tmp_path, copy_database(seeded_sqlite, tmp_path), peer))
    app.add_url_rule("/test-only/broken", "test_only_broken", failing_view)
    app.test_client_class = type("Recorder", (RecordingClient,), {"exchanges": []})
    yield app
    app.extensions["plugin.db"].dispose()


def register_with_peer(app: Flask, platform: TestPlatform, peer: Peer) -> None:
    """Register ``platform`` with its token endpoint on the peer."""
    register(app, platform, auth_token_url=peer.url + "/platform/token")


class Driver:
    """Launches and requests that remember the id_tokens and launch tokens they use."""

    def __init__(self, app: Flask, platform: TestPlatform, peer: Peer, found: Secrets) -> None:
        self.app = app
        self.client = app.test_client()
        self.flow = Flow(self.client, platform)
        self.platform = platform
        self.peer = peer
        self.found = found

    def sign(self, claims: dict[str, Any]) -> str:
        """A signed id_token, remembered as a secret."""
        token = self.platform.sign(claims)
        self.found.add(f"id_token {len(self.found.values)}", token)
        return token

    def launch(self, claims: dict[str, Any], label: str) -> TestResponse:
        """Login, then launch with ``claims`` over the platform's defaults."""
        auth = self.flow.login()
        id_token = self.sign(self.platform.claims(auth["nonce"], **claims))
        response = self.flow.launch(id_token, auth["state"])
        if response.status_code == 303:
            self.found.add(f"launch token {label}", token_of(response))
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET on the tool."""
        return self.client.get(path, base_url=TOOL, **kwargs)

    def post(self, path: str, data: dict[str, Any]) -> TestResponse:
        """POST a form the tool's page sent."""
        return self.client.post(path, data=data, headers=browser_headers(), base_url=TOOL)

    def cli(self, *args: str) -> str:
        """Run ``flask --app plugin …``; its output (stdout and stderr)."""
        result = self.app.test_cli_runner().invoke(args=list(args))
        return f"$ flask {' '.join(args)} (exit {result.exit_code})\n{result.output}"


def drive_launches(driver: Driver) -> dict[str, str]:
    """Good launches of a learner, a designer and an administrator, and refused ones."""
    peer = driver.peer
    learner = {
        **launch_claims(LEARNER_A),
        AGS: {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitem": peer.url + "/platform/lineitems/7",
        },
    }
    tokens = {"learner": token_of(driver.launch(learner, "learner"))}
    staff_claims = {NRPS: {"context_memberships_url": peer.url + "/platform/memberships",
                           "service_versions": ["2.0"]}}  # fmt: skip
    for name, persona in (("designer", DESIGNER), ("admin", ADMIN)):
        response = driver.launch({**launch_claims(persona), **staff_claims}, name)
        tokens[name] = token_of(response)
    # Refused: a replayed id_token, a broken signature, an expired token, a wrong audience,
    # an unknown platform at login, a launch without state.
    auth = driver.flow.login()
    replayed = driver.sign(driver.platform.claims(auth["nonce"], **launch_claims(LEARNER_B)))
    assert driver.flow.launch(replayed, auth["state"]).status_code == 303
    assert driver.flow.launch(replayed, auth["state"]).status_code == 401
    auth = driver.flow.login()
    broken = driver.sign(driver.platform.claims(auth["nonce"]))
    assert driver.flow.launch(broken[:-4] + "AAAA", auth["state"]).status_code == 401
    for overrides, status in (({"exp": int(time.time()) - 600}, 401), ({"aud": "someone"}, 401)):
        auth = driver.flow.login()
        refused = driver.sign(driver.platform.claims(auth["nonce"], **overrides))
        assert driver.flow.launch(refused, auth["state"]).status_code == status
    unknown = driver.flow.login_response(iss="https://unknown.example")
    assert unknown.status_code == 400
    auth = driver.flow.login()
    stateless = driver.sign(driver.platform.claims(auth["nonce"]))
    response = driver.client.post("/lti/launch", data={"id_token": stateless}, base_url=TOOL)
    assert response.status_code == 400
    return tokens


def drive_learning(driver: Driver, token: str) -> None:
    """The learner reads and passes the module: statements and a grade are queued."""
    assert driver.get("/lti/module", query_string={"lt": token}).status_code == 200
    assert driver.post("/lti/module/progress", {"lt": token, "percent": "80"}).status_code == 204
    answers = check_answers(driver.app, token, correct_items=3)
    assert driver.post("/lti/module/check", answers).status_code == 200


def drive_api(driver: Driver, learner_token: str) -> None:
    """API calls with good and bad credentials."""
    with driver.app.extensions["plugin.db"].session_scope() as session:
        good = create_token(session, "report", list(SCOPES))[1]
        old_row, revoked = create_token(session, "old", ["read:persons"])
        revoke_token(session, old_row.id)
        narrow = create_token(session, "narrow", ["read:modules"])[1]
    prefix = good.split(".")[1]
    wrong = f"dct.{prefix}.{secrets.token_urlsafe(32)}"
    for label, value in (("good", good), ("revoked", revoked), ("narrow", narrow),
                         ("wrong", wrong)):  # fmt: skip
        driver.found.add(f"API token {label}", value)
        driver.found.add(f"API token secret {label}", value.rsplit(".", 1)[1])
    lrs_basic = basic(LRS_USERS["refusing"], LRS_PASSWORDS["refusing"])
    for headers in (
        {"Authorization": f"Bearer {good}"},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": f"Bearer {narrow}"},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Basic {lrs_basic}"},
        {"Authorization": f"Bearer lt.{learner_token[:-3]}xyz"},
        {"Authorization": "Bearer"},
    ):
        driver.get("/api/v1/persons", headers=headers)
        driver.get("/api/v1/persons/1/attainment", headers=headers)
    assert (
        driver.get("/api/v1/me/attainment", query_string={"lt": learner_token}).status_code == 200
    )
    forged = issue_launch_token(SECRET_KEY + "-rotated", "no-such-launch")
    driver.found.add("launch token forged", forged)
    assert driver.get("/api/v1/me/attainment", query_string={"lt": forged}).status_code == 401


def drive_staff_pages(driver: Driver, tokens: dict[str, str]) -> None:
    """The roster the platform refuses, the heat map, delivery status, and error pages."""
    designer, admin, learner = tokens["designer"], tokens["admin"], tokens["learner"]
    course = driver.get("/lti/course", query_string={"lt": designer, "lang": "en"})
    assert course.status_code == 200 and "HTTP 403" in course.get_data(as_text=True)
    assert driver.get("/lti/course/heatmap", query_string={"lt": designer}).status_code == 200
    assert driver.get("/xapi/status", query_string={"lt": admin}).status_code == 200
    assert driver.get("/lti/organisation", query_string={"lt": admin}).status_code == 200
    pages = (
        ("/no-such-page", {"lt": learner}, 404),
        ("/lti/launch", {}, 405),
        ("/lti/map", {"lt": designer, "person": "not-a-number"}, 400),
        ("/lti/map", {}, 401),
        ("/lti/organisation", {"lt": learner}, 403),
        ("/test-only/broken", {"lt": admin}, 500),
        ("/healthz", {}, 200),
        ("/.well-known/jwks.json", {}, 200),
        ("/lti/config", {"format": "json"}, 200),
    )
    for path, query, status in pages:
        response = driver.get(path, query_string=query, headers={"Accept": "text/html"})
        assert response.status_code == status, path
    broken = driver.get(
        "/test-only/broken",
        headers={"Authorization": f"Bearer {driver.found.values['API token good']}"},
    )
    assert broken.status_code == 500


def drive_dynamic_registration(driver: Driver) -> None:
    """A registration the platform refuses, one it accepts, one from a URL not allowed."""
    peer = driver.peer
    refused, accepted = "regtok-" + secrets.token_urlsafe(16), "regtok-" + secrets.token_urlsafe(16)
    peer.registration_tokens_accepted.add(accepted)
    driver.found.add("registration token refused", refused)
    driver.found.add("registration token accepted", accepted)
    config_url = peer.url + "/dynreg/openid-configuration"
    for token, status in ((refused, 400), (accepted, 200)):
        response = driver.get(
            "/lti/register",
            query_string={"openid_configuration": config_url, "registration_token": token},
        )
        assert response.status_code == status, response.get_data(as_text=True)
    elsewhere = driver.get(
        "/lti/register",
        query_string={
            "openid_configuration": "http://127.0.0.1:9/x",
            "registration_token": refused,
        },
    )
    assert elsewhere.status_code == 400


def drive_workers_and_reports(driver: Driver) -> list[str]:
    """The statement and grade workers once each, then every operator's report."""
    outputs = [
        driver.cli("xapi", "worker", "--once"),
        driver.cli("grades", "worker", "--once"),
        driver.cli("xapi", "status"),
        driver.cli("grades", "status"),
        driver.cli("platform", "list"),
        driver.cli("keys", "list"),
        driver.cli("token", "list"),
        driver.cli("framework", "show"),
    ]
    assert "credentials refused by the LRS" in outputs[2] and "HTTP 500" in outputs[2]
    assert "score refused: HTTP 401" in outputs[3]
    return outputs


def test_no_secret_reaches_a_log_a_page_a_header_or_a_report(
    secret_app: Flask, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    found = Secrets()
    found.add("secret_key", SECRET_KEY)
    for name in LRS_USERS:
        found.add(f"LRS {name} username", LRS_USERS[name])
        found.add(f"LRS {name} password", LRS_PASSWORDS[name])
        found.add(f"LRS {name} Basic credentials", basic(LRS_USERS[name], LRS_PASSWORDS[name]))
    with running_platform() as platform, plugin_log_stream() as plugin_log:
        register_with_peer(secret_app, platform, peer)
        driver = Driver(secret_app, platform, peer, found)
        tokens = drive_launches(driver)
        drive_learning(driver, tokens["learner"])
        drive_api(driver, tokens["learner"])
        # The workers run first, so that the pages below show their last errors.
        outputs = drive_workers_and_reports(driver)
        drive_staff_pages(driver, tokens)
        drive_dynamic_registration(driver)
        outputs += drive_workers_and_reports(driver)
    # What the drive must have exercised, or the search below proves nothing.
    assert peer.access_tokens and peer.assertions, "the tool fetched access tokens"
    expected_basic = {f"Basic {basic(LRS_USERS[n], LRS_PASSWORDS[n])}" for n in LRS_USERS}
    assert expected_basic <= set(peer.authorizations), "the LRSs were sent their credentials"
    for index, token in enumerate(peer.access_tokens):
        found.add(f"access token {index}", token)
    for index, assertion in enumerate(peer.assertions):
        found.add(f"client assertion {index}", assertion)
    found.values.update(private_key_material(secret_app))
    exchanges = secret_app.test_client_class.exchanges  # type: ignore[attr-defined]
    assert len(exchanges) > 50 and {e.status for e in exchanges} >= {200, 303, 400, 401, 403,
                                                                       404, 405, 500}  # fmt: skip
    logs = {
        "caplog": caplog.text,
        "log messages": "\n".join(record.getMessage() for record in caplog.records),
        "plugin handler": plugin_log.getvalue(),
    }
    assert "score refused" in logs["plugin handler"], "the plugin handler saw the drive"
    assert "Exception on /test-only/broken" in logs["caplog"], "the 500 was logged"
    problems = [f"{name}: {leaks_in(text, found)}" for name, text in logs.items()
                if leaks_in(text, found)]  # fmt: skip
    launch_tokens = found.launch_tokens()
    for exchange in exchanges:
        # A launch token may come back to whoever sent it, or from the launch issuing it.
        allowed = {t for t in launch_tokens if t in exchange.request}
        if exchange.path == "/lti/launch":
            allowed |= launch_tokens
        leaked = leaks_in(exchange.text, found, allowed)
        if leaked:
            problems.append(f"{exchange.status} {exchange.request[:300]}: {leaked}")
    api_token = found.values["API token good"]
    for output in outputs:
        leaked = leaks_in(output, found)
        if leaked:
            problems.append(f"{output.splitlines()[0]}: {leaked}")
    created = driver.cli("token", "create", "--name", "ops", "--scope", "read:modules")
    new_token = created.strip().splitlines()[-1]
    assert new_token.startswith("dct.") and new_token != api_token
    assert not leaks_in(created, found), "token create prints only the new token"
    assert not problems, "\n".join(problems)


# --- regressions ---------------------------------------------------------------------------------


def test_dynamic_registration_pages_do_not_repeat_the_registration_token(
    secret_app: Flask, peer: Peer
) -> None:
    # The page's language links repeated the query string, registration_token included, and
    # following one would have run the registration a second time.
    token = "regtok-" + secrets.token_urlsafe(16)
    peer.registration_tokens_accepted.add(token)
    client = secret_app.test_client()
    config_url = peer.url + "/dynreg/openid-configuration"
    for wanted in (token, "regtok-refused-" + secrets.token_hex(8)):
        response = client.get(
            "/lti/register",
            query_string={"openid_configuration": config_url, "registration_token": wanted},
            base_url=TOOL,
        )
        text = response.get_data(as_text=True)
        assert response.status_code in (200, 400) and "<h1>" in text
        assert wanted not in text and "registration_token" not in text


def test_the_servers_request_log_keeps_no_launch_or_registration_token(
    secret_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # The web server writes every request line, query string included: `make run` printed
    # each page's launch token, and /lti/register's registration_token, to the terminal.
    caplog.set_level(logging.INFO)
    launch_token = issue_launch_token(SECRET_KEY, "00000000-0000-0000-0000-000000000000")
    registration = "regtok-" + secrets.token_urlsafe(16)
    server = make_server("127.0.0.1", 0, secret_app, threaded=True)
    with serving(server):
        base = f"http://127.0.0.1:{server.port}"
        with requests.Session() as http:
            http.get(f"{base}/lti/map", params={"lt": launch_token, "lang": "en"}, timeout=30)
            query = {"openid_configuration": "http://127.0.0.1:9/x",
                     "registration_token": registration}  # fmt: skip
            http.get(f"{base}/lti/register", params=query, timeout=30)
    # gunicorn's access log (`%(r)s` is the request line) and error log (the request's URI)
    # go through the same filter.
    request_line = f"GET /lti/home?lt={launch_token} HTTP/1.1"
    logging.getLogger("gunicorn.access").info("%(r)s %(s)s", {"r": request_line, "s": "200"})
    uri = f"/lti/register?registration_token={registration}"
    logging.getLogger("gunicorn.error").error("Error handling request %s", uri)
    servers = ("werkzeug", "gunicorn.access", "gunicorn.error")
    lines = [r.getMessage() for r in caplog.records if r.name in servers]
    assert any("/lti/map?lt=[redacted]&lang=en" in line for line in lines), lines
    assert any("registration_token=[redacted]" in line for line in lines), lines
    assert any("/lti/home?lt=[redacted] HTTP/1.1 200" in line for line in lines), lines
    assert "Error handling request /lti/register?registration_token=[redacted]" in lines
    assert not [line for line in lines if launch_token in line or registration in line]


def test_the_servers_request_log_masks_the_login_hints(
    secret_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # login_hint (and lti_message_hint) carry a platform's user id or email: a login by GET
    # printed them in every request line, as the launch token used to be.
    caplog.set_level(logging.INFO)
    hint = "ming@example.gov.tw-" + secrets.token_hex(6)
    message_hint = "msg-" + secrets.token_hex(6)
    server = make_server("127.0.0.1", 0, secret_app, threaded=True)
    with serving(server):
        base = f"http://127.0.0.1:{server.port}"
        query = {"iss": "https://lms.example", "login_hint": hint,
                 "lti_message_hint": message_hint, "client_id": "c"}  # fmt: skip
        with requests.Session() as http:
            http.get(f"{base}/lti/login", params=query, timeout=30)
    request_line = f"GET /lti/login?iss=x&login_hint={hint}&lti_message_hint={message_hint}"
    logging.getLogger("gunicorn.access").info("%(r)s %(s)s", {"r": request_line, "s": "302"})
    servers = ("werkzeug", "gunicorn.access")
    lines = [r.getMessage() for r in caplog.records if r.name in servers]
    logged = [line for line in lines if "/lti/login?" in line]
    assert len(logged) == 2, lines
    assert all("login_hint=[redacted]" in line for line in logged), logged
    assert all("lti_message_hint=[redacted]" in line for line in logged), logged
    assert not [line for line in caplog.text.splitlines() if hint in line or message_hint in line]


# --- configuration -------------------------------------------------------------------------------

SECRET_VALUE = "cfg-secret-" + secrets.token_hex(8)
BASE: dict[str, Any] = {"env": "development", "secret_key": "k" * 40, "instance_dir": "/tmp"}


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"secret_key": SECRET_VALUE}, "secret_key"),
        ({"secret_key": [SECRET_VALUE]}, "secret_key"),
        ({"database": f"postgresql://tool:{SECRET_VALUE}@db.example/dc"}, "database"),
        ({"database": {"url": [f"postgresql://tool:{SECRET_VALUE}@db/dc"]}}, "database.url"),
        ({"database": {"password": SECRET_VALUE}}, "database.password"),
        ({"xapi": {"lrs_password": SECRET_VALUE}}, "xapi.lrs_password"),
        (
            {
                "xapi": {
                    "lrs": [
                        {
                            "name": "a",
                            "endpoint": "https://lrs.example/x/",
                            "password": [SECRET_VALUE],
                        }
                    ]
                }
            },
            "xapi.lrs[0].password",
        ),
        (
            {"xapi": {"lrs": [{"name": "a", "endpoint": f"ftp://tool:{SECRET_VALUE}@lrs/x/"}]}},
            "xapi.lrs[0].endpoint",
        ),
        (
            {"xapi": {"lrs": [{"name": "a", "endpoint": f"tool:{SECRET_VALUE}@lrs.example/x/"}]}},
            "xapi.lrs[0].endpoint",
        ),
        (
            {
                "xapi": {
                    "lrs": [
                        {"name": "a", "endpoint": f"https://tool:{SECRET_VALUE}@lrs.example/x/"}
                    ]
                }
            },
            "xapi.lrs[0].endpoint",
        ),
    ],
)
def test_config_errors_name_the_key_and_never_echo_a_secret(
    overrides: dict[str, Any], key: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping({**BASE, "instance_dir": str(tmp_path), **overrides})
    assert f"'{key}'" in refused.value.message
    assert SECRET_VALUE not in refused.value.message and SECRET_VALUE not in str(refused.value)


def test_an_lrs_endpoint_carrying_credentials_is_refused_without_echoing_them(
    tmp_path: Path,
) -> None:
    # An endpoint with user:password@ would be printed by `xapi status`, /xapi/status and
    # every delivery log line: the config refuses it and points to username and password.
    endpoint = f"https://tool:{SECRET_VALUE}@lrs.example.gov.tw/xAPI/"
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping(
            {**BASE, "instance_dir": str(tmp_path),
             "xapi": {"lrs": [{"name": "lrs", "endpoint": endpoint}]}}
        )  # fmt: skip
    message = refused.value.message
    assert "xapi.lrs[0].username" in message and "xapi.lrs[0].password" in message
    assert SECRET_VALUE not in message


# --- the database password -------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def what_the_database_pages_said(app: Flask) -> tuple[list[str], str]:
    """What the database pages said (:func:`drive_database_pages`) and what the plugin logged
    meanwhile; the app's database is closed afterwards."""
    try:
        with plugin_log_stream() as plugin_log:
            said = drive_database_pages(app)
    finally:
        app.extensions["plugin.db"].dispose()
    return said, plugin_log.getvalue()


def drive_database_pages(app: Flask) -> list[str]:
    """Pages, API calls and commands that touch the database; everything they said."""
    client = app.test_client()
    lt = issue_launch_token(SECRET_KEY, "00000000-0000-0000-0000-000000000000")
    said = []
    for path, query in (("/healthz", {}), ("/", {}), ("/framework", {}), ("/lti/map", {"lt": lt}),
                        ("/api/v1/modules", {}), ("/.well-known/jwks.json", {})):  # fmt: skip
        response = client.get(path, query_string=query, base_url=TOOL,
                               headers={"Authorization": "Bearer dct.abc.def"})  # fmt: skip
        said.append(answer_of(response))
    for args in (["db", "current"], ["xapi", "status"], ["grades", "status"], ["platform", "list"]):
        result = app.test_cli_runner().invoke(args=args)
        said.append(f"{args}: {result.output} {result.exception!r}")
    return said


def answer_of(response: TestResponse) -> str:
    """An answer's status, headers and body as text (closed after reading)."""
    text = response.get_data(as_text=True)
    response.close()
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n\n{text}"


def test_an_unreachable_databases_password_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql://tool:{DB_PASSWORD}@127.0.0.1:{closed_port()}/dc"
    app = create_app(app_config(tmp_path, url, secret_key=SECRET_KEY, log={"level": "DEBUG"}))
    said, plugin_log = what_the_database_pages_said(app)
    assert '"reachable":false' in said[0].replace(" ", "")
    assert any(line.startswith("500") for line in said), "the pages met the database error"
    for text in [*said, caplog.text, plugin_log]:
        assert DB_PASSWORD not in text, text[:3000]
        assert SECRET_KEY not in text


@pytest.mark.postgres
def test_a_postgres_urls_password_never_shows(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The test server trusts loopback, so any password opens it: the URL carries one.
    url = make_url(postgres_url).set(username="postgres", password=DB_PASSWORD)
    engine = create_db_engine(url.render_as_string(hide_password=False))
    upgrade_database(engine)
    engine.dispose()
    app = create_app(
        app_config(tmp_path, url.render_as_string(hide_password=False), secret_key=SECRET_KEY,
                   log={"level": "DEBUG"})
    )  # fmt: skip
    said, plugin_log = what_the_database_pages_said(app)
    assert '"reachable":true' in said[0].replace(" ", "")
    for text in [*said, caplog.text, plugin_log]:
        assert DB_PASSWORD not in text, text[:3000]
