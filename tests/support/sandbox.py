"""A browser that walks between the sandbox platform's host and the tool's host, and the
sandbox's tokens.

The platform answers on http://localhost and the tool on https://tool.test (the tool's state
cookie is Secure), as two sites in one app. The tool fetches the platform's JWKS with
``requests``; that call is routed into the same app.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import requests
from flask import Flask
from flask.testing import FlaskClient
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import TestResponse

from plugin import create_app
from plugin.lti.keys import signing_key
from tests.support.app import TEST_SECRET, app_config
from tests.support.flows import TOOL

PLATFORM = "http://localhost"
TOKEN_URL = PLATFORM + "/sandbox/token"
CONTEXT_URL = PLATFORM + "/sandbox/api/contexts/sandbox-course-1"
ALL_SCOPES = " ".join(
    [
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    ]
)


class AppTransport(BaseAdapter):
    """A ``requests`` adapter that answers from the Flask app instead of the network."""

    def __init__(self, app: Flask):
        super().__init__()
        self.client = app.test_client()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Run the request through the app's test client."""
        parts = urlsplit(request.url or "")
        answer = self.client.open(
            parts.path,
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method or "GET",
            headers=dict(request.headers),
            data=request.body,
        )
        response = requests.Response()
        # A body already read, as the tool's streamed reads expect (iter_content serves it).
        response._content, response._content_consumed = b"", True
        response.status_code = answer.status_code
        response._content = answer.get_data()
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class FormData:
    """One form on a page: where it posts and its named fields."""

    action: str
    fields: dict[str, str]


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[FormData] = []
        self.anchors: list[dict[str, str]] = []
        self.json_scripts: dict[str, str] = {}
        self._script_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(FormData(values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name"):
            if values.get("type") in ("checkbox", "radio") and "checked" not in values:
                return
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "a":
            self.anchors.append(values)
        elif tag == "script" and values.get("type") == "application/json":
            self._script_id = values.get("id", "")

    def handle_data(self, data: str) -> None:
        if self._script_id is not None:
            self.json_scripts[self._script_id] = self.json_scripts.get(self._script_id, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_id = None


def parse_page(html: str) -> _PageParser:
    """Forms, anchors and JSON scripts of a page."""
    parser = _PageParser()
    parser.feed(html)
    return parser


@dataclass
class Browser:
    """A test client that opens absolute URLs on either host and follows redirects by hand."""

    client: FlaskClient
    visited: list[str] = field(default_factory=list)

    def open(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        """``method`` on the absolute ``url``."""
        parts = urlsplit(url)
        self.visited.append(f"{method} {url}")
        return self.client.open(
            parts.path,
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=method,
            **kwargs,
        )

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        """GET ``url``."""
        return self.open("GET", url, **kwargs)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
        """POST a form to ``url``."""
        return self.open("POST", url, data=data, **kwargs)

    def submit(self, page: TestResponse, page_url: str, **extra: Any) -> TestResponse:
        """Submit the page's first form (as its auto-submit script would)."""
        form = parse_page(page.get_data(as_text=True)).forms[0]
        return self.post(urljoin(page_url, form.action), {**form.fields, **extra})

    def launch(self, start_url: str) -> tuple[TestResponse, str]:
        """From a sandbox launch URL to the tool's landing page: (response, its URL).

        sandbox 302 → tool /lti/login (storage page) → sandbox /sandbox/auth (form_post)
        → tool POST /lti/launch 303 → tool page.
        """
        start = self.get(start_url)
        assert start.status_code == 302, start.get_data(as_text=True)
        login_url = start.headers["Location"]
        assert login_url.startswith(TOOL + "/lti/login?"), login_url
        login = self.get(login_url)
        assert login.status_code == 200, login.get_data(as_text=True)
        storage = json.loads(
            parse_page(login.get_data(as_text=True)).json_scripts["lti-storage-config"]
        )
        auth_url = storage["redirect"]
        assert auth_url.startswith(PLATFORM + "/sandbox/auth?"), auth_url
        auth = self.get(auth_url)
        assert auth.status_code == 200, auth.get_data(as_text=True)
        launched = self.submit(auth, auth_url)
        assert launched.status_code == 303, launched.get_data(as_text=True)
        landing_url = urljoin(TOOL + "/lti/launch", launched.headers["Location"])
        landing = self.get(landing_url)
        assert landing.status_code == 200, landing.get_data(as_text=True)
        return landing, landing_url


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url``."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def launch_links(html: str) -> list[dict[str, str]]:
    """The ``a.launch-link`` anchors of a course page."""
    return [a for a in parse_page(html).anchors if "launch-link" in a.get("class", "").split()]


def tool_signed(app: Flask, claims: dict[str, Any]) -> str:
    """``claims`` signed with the tool's own key, as the tool signs its JWTs."""
    with app.extensions["plugin.db"].session_scope() as session:
        key = signing_key(session, TEST_SECRET)
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def client_assertion(app: Flask, **overrides: Any) -> str:
    """A client assertion signed with the tool's key; overrides replace, or drop when None."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "sandbox-tool",
        "sub": "sandbox-tool",
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return tool_signed(app, {k: v for k, v in claims.items() if v is not None})


def token_request(assertion: str, scope: str = ALL_SCOPES) -> dict[str, str]:
    """The form of a client-credentials grant (1EdTech Security Framework §4.1)."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": scope,
    }


def request_token(browser: Browser, app: Flask, scope: str = ALL_SCOPES) -> TestResponse:
    """POST a client-credentials grant to the sandbox token endpoint."""
    return browser.post(TOKEN_URL, token_request(client_assertion(app), scope))


def access_token(browser: Browser, app: Flask, scope: str = ALL_SCOPES) -> str:
    """A bearer token for ``scope``."""
    response = request_token(browser, app, scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def sandbox_app_on(tmp_path: Path, template: Path) -> Flask:
    """An app with the sandbox on, on a copy of the SQLite file ``template``, platform and tool
    on two hosts (``PLATFORM`` and ``TOOL``)."""
    database = tmp_path / "plugin.sqlite3"
    shutil.copy(template, database)
    config = app_config(
        tmp_path,
        f"sqlite:///{database}",
        sandbox={"enabled": True, "platform_url": PLATFORM},
        lti={"base_url": TOOL},
    )
    return create_app(config)
