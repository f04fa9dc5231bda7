"""GET /lti/config: the values an administrator copies into the platform, from lti.base_url."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.flows import TOOL

BASE = "https://dc-tool.example.gov.tw/lti-tool"


@pytest.fixture
def configured(make_app: Callable[..., Flask]) -> Flask:
    """An app whose public base URL differs from the host the test client talks to."""
    return make_app(lti={"base_url": BASE + "/"})


def _expected_urls() -> dict[str, str]:
    return {
        "oidc_login_url": BASE + "/lti/login",
        "target_link_uri": BASE + "/lti/launch",
        "deep_linking_url": BASE + "/lti/launch",
        "jwks_url": BASE + "/.well-known/jwks.json",
        "dynamic_registration_url": BASE + "/lti/register",
    }


@pytest.mark.parametrize(
    ("query", "headers"),
    [({"format": "json"}, {}), ({}, {"Accept": "application/json"})],
    ids=["format_json", "accept_json"],
)
def test_config_as_json_gives_the_tool_urls_from_base_url(
    query: dict[str, str], headers: dict[str, str], configured: Flask
) -> None:
    response = configured.test_client().get(
        "/lti/config", query_string=query, headers=headers, base_url=TOOL
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    for key, url in _expected_urls().items():
        assert data[key] == url, key
    assert data["redirect_uris"] == [BASE + "/lti/launch"]
    assert data["domain"] == "dc-tool.example.gov.tw"
    assert data["signing_algorithm"] == "RS256"
    assert set(data["messages"]) == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert "email" not in data["claims"]


def test_config_as_html_shows_the_same_urls(configured: Flask) -> None:
    response = configured.test_client().get(
        "/lti/config", headers={"Accept": "text/html"}, base_url=TOOL
    )
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    for url in _expected_urls().values():
        assert f"<code>{url}</code>" in text, url
    assert "tool.test" not in text


def test_config_defaults_to_html_for_a_browser(app: Flask) -> None:
    response = app.test_client().get(
        "/lti/config",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        base_url=TOOL,
    )
    assert response.mimetype == "text/html"
    assert "http://127.0.0.1:5000/lti/login" in response.get_data(as_text=True)
