"""Client-credentials tokens for LTI services: the assertion, the cache, expiry and 401s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from flask import Flask
from jwt.algorithms import RSAAlgorithm

from plugin.lti.keys import SigningKey, signing_key
from plugin.lti.registrations import find_registration
from plugin.lti.service_tokens import (
    CLIENT_ASSERTION_TYPE,
    EXTENSION,
    ServiceCredentials,
    ServiceError,
    ServiceTokens,
    ensure_service_tokens,
)
from tests.support.app import TEST_SECRET
from tests.support.grades import GradesWorld
from tests.support.sandbox import PLATFORM, TOKEN_URL

SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
CREDENTIALS = ServiceCredentials(
    registration_id=1,
    client_id="tool-123",
    token_url="https://lms.example/token",
    audience="https://lms.example/token",
)
SERVICE_URL = "https://lms.example/api/lineitems/1/scores"


class FakePlatform(requests.adapters.BaseAdapter):
    """A token endpoint and a service, both scripted, recording what they receive."""

    def __init__(self) -> None:
        super().__init__()
        self.token_forms: list[dict[str, str]] = []
        self.service_calls: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []
        self.token_answer: Callable[[int], tuple[int, bytes]] = lambda n: (
            200,
            f'{{"access_token": "token-{n}", "token_type": "Bearer", "expires_in": 3600}}'.encode(),
        )
        self.service_statuses: list[int] = []
        # Set, token answers wait until it is set: requests arrive while one is under way.
        self.token_gate: threading.Event | None = None
        self.lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Answer by path."""
        self.timeouts.append(kwargs.get("timeout"))
        response = requests.Response()
        # A body already read, as the tool's streamed reads expect (iter_content serves it).
        response._content, response._content_consumed = b"", True
        response.request = request
        response.url = request.url or ""
        if request.url == CREDENTIALS.token_url:
            if self.token_gate is not None:
                assert self.token_gate.wait(10), "the token gate was never opened"
            body = request.body if isinstance(request.body, str) else ""
            with self.lock:
                self.token_forms.append({k: v[0] for k, v in parse_qs(body).items()})
                number = len(self.token_forms)
            response.status_code, response._content = self.token_answer(number)
        else:
            self.service_calls.append(request)
            status = self.service_statuses.pop(0) if self.service_statuses else 200
            response.status_code = status
            response._content = b"{}"
        return response

    def close(self) -> None:
        """Nothing to release."""


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key(app: Flask) -> SigningKey:
    """The tool's signing key."""
    with app.extensions["plugin.db"].session_scope() as session:
        return signing_key(session, TEST_SECRET)


@pytest.fixture
def fake() -> FakePlatform:
    """A scripted platform."""
    return FakePlatform()


@pytest.fixture
def clock() -> Clock:
    """A movable clock."""
    return Clock()


@pytest.fixture
def tokens(fake: FakePlatform, clock: Clock) -> ServiceTokens:
    """Service tokens whose requests go to the fake platform."""
    service_tokens = ServiceTokens(timeout=4.5, clock=clock)
    service_tokens.http.mount("https://lms.example/", fake)
    return service_tokens


def test_client_assertion_is_signed_by_the_tool_key_with_the_framework_claims(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    assert tokens.access_token(CREDENTIALS, [SCORE, LINEITEM], lambda: key) == "token-1"
    tokens.forget(CREDENTIALS, [SCORE, LINEITEM])
    tokens.access_token(CREDENTIALS, [SCORE, LINEITEM], lambda: key)
    first, second = fake.token_forms
    assert first["grant_type"] == "client_credentials"
    assert first["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert first["scope"] == f"{LINEITEM} {SCORE}"
    header = jwt.get_unverified_header(first["client_assertion"])
    assert header["alg"] == "RS256" and header["kid"] == key.kid
    public = RSAAlgorithm.from_jwk(key.public_jwk)
    claims = jwt.decode(
        first["client_assertion"],
        public,  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=CREDENTIALS.token_url,
    )
    assert claims["iss"] == claims["sub"] == "tool-123"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert abs(claims["iat"] - time.time()) < 10
    other = jwt.decode(second["client_assertion"], options={"verify_signature": False})
    assert claims["jti"] and claims["jti"] != other["jti"]  # a fresh jti every time


def test_assertion_audience_is_the_registrations_auth_audience_when_set(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    credentials = ServiceCredentials(1, "tool-123", CREDENTIALS.token_url, "https://idp.example")
    tokens.access_token(credentials, [SCORE], lambda: key)
    claims = jwt.decode(
        fake.token_forms[0]["client_assertion"], options={"verify_signature": False}
    )
    assert claims["aud"] == "https://idp.example"


def test_every_request_carries_the_configured_timeout(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    tokens.request("POST", SERVICE_URL, CREDENTIALS, [SCORE], lambda: key, json_body={})
    assert fake.timeouts == [4.5, 4.5]


def test_token_is_cached_per_registration_and_sorted_scopes(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    loads: list[int] = []

    def load() -> SigningKey:
        loads.append(1)
        return key

    assert tokens.access_token(CREDENTIALS, [SCORE, LINEITEM], load) == "token-1"
    assert tokens.access_token(CREDENTIALS, [LINEITEM, SCORE], load) == "token-1"
    assert tokens.access_token(CREDENTIALS, [SCORE], load) == "token-2"
    other = ServiceCredentials(2, "tool-456", CREDENTIALS.token_url, CREDENTIALS.audience)
    assert tokens.access_token(other, [SCORE], load) == "token-3"
    assert tokens.fetches == 3 and len(loads) == 3  # the key is read only to fetch


def test_token_is_renewed_shortly_before_it_expires(
    tokens: ServiceTokens, fake: FakePlatform, clock: Clock, key: SigningKey
) -> None:
    fake.token_answer = lambda n: (200, f'{{"access_token": "t{n}", "expires_in": 100}}'.encode())
    assert tokens.access_token(CREDENTIALS, [SCORE], lambda: key) == "t1"
    clock.now += 89  # 100 s life, 10 s margin
    assert tokens.access_token(CREDENTIALS, [SCORE], lambda: key) == "t1"
    clock.now += 2
    assert tokens.access_token(CREDENTIALS, [SCORE], lambda: key) == "t2"


def test_a_401_drops_the_token_and_retries_once_only(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    fake.service_statuses = [401, 200]
    response = tokens.request("POST", SERVICE_URL, CREDENTIALS, [SCORE], lambda: key)
    assert response.status_code == 200
    assert [c.headers["Authorization"] for c in fake.service_calls] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    fake.service_statuses = [401, 401, 200]
    response = tokens.request("POST", SERVICE_URL, CREDENTIALS, [SCORE], lambda: key)
    assert response.status_code == 401  # the caller judges a second refusal
    assert len(fake.service_calls) == 4 and tokens.fetches == 3


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        ((400, b'{"error": "invalid_scope"}'), False),
        ((401, b'{"error": "invalid_client"}'), False),
        ((503, b"busy"), True),
        ((429, b""), True),
        ((200, b'{"token_type": "bearer"}'), False),
        ((200, b"not json"), False),
        ((200, b'{"access_token": "x", "token_type": "mac"}'), False),
    ],
)
def test_token_endpoint_failures_raise_service_error_saying_if_a_retry_may_help(
    tokens: ServiceTokens,
    fake: FakePlatform,
    key: SigningKey,
    answer: tuple[int, bytes],
    transient: bool,
) -> None:
    fake.token_answer = lambda _n: answer
    with pytest.raises(ServiceError) as caught:
        tokens.access_token(CREDENTIALS, [SCORE], lambda: key)
    assert caught.value.transient is transient
    assert caught.value.at_token_endpoint
    assert caught.value.http_status == answer[0]
    assert caught.value.message.startswith(("access token refused: HTTP", "the token endpoint"))


def test_network_errors_are_transient(tokens: ServiceTokens, key: SigningKey) -> None:
    class Down(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            raise requests.ConnectTimeout("no route")

        def close(self) -> None:
            """Nothing to release."""

    tokens.http.mount("https://lms.example/", Down())
    with pytest.raises(ServiceError) as caught:
        tokens.request("GET", SERVICE_URL, CREDENTIALS, [SCORE], lambda: key)
    assert caught.value.transient and caught.value.at_token_endpoint
    assert "ConnectTimeout" in caught.value.message


def test_threads_wanting_the_same_token_fetch_it_once(
    tokens: ServiceTokens, fake: FakePlatform, key: SigningKey
) -> None:
    fake.token_gate = threading.Event()
    arrived: list[int] = []
    results: list[str] = []

    def want() -> None:
        arrived.append(1)
        if len(arrived) == 8:  # the token is answered only once all eight want it
            fake.token_gate.set()
        results.append(tokens.access_token(CREDENTIALS, [SCORE], lambda: key))

    threads = [threading.Thread(target=want) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["token-1"] * 8
    assert tokens.fetches == 1


def test_the_app_keeps_one_service_token_cache(app: Flask) -> None:
    tokens = app.extensions[EXTENSION]
    assert isinstance(tokens, ServiceTokens)
    assert ensure_service_tokens(app.extensions, 10.0) is tokens


def test_sandbox_token_endpoint_accepts_the_tools_assertion(sandbox_world: GradesWorld) -> None:
    sandbox_world.launch()  # registers the sandbox with the tool
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        registration = find_registration(session, PLATFORM + "/sandbox", "sandbox-tool")
        assert registration is not None
        credentials = ServiceCredentials.of(registration)
        key = signing_key(session, TEST_SECRET)
    assert credentials.audience == TOKEN_URL
    tokens: ServiceTokens = sandbox_world.app.extensions[EXTENSION]
    token = tokens.access_token(credentials, [SCORE, LINEITEM], lambda: key)
    assert token and sandbox_world.transport.count("POST", "/sandbox/token") == 1
    # The platform refuses a replayed jti, so each fetch must sign a new assertion.
    tokens.forget(credentials, [SCORE, LINEITEM])
    assert tokens.access_token(credentials, [SCORE, LINEITEM], lambda: key)
