"""Fixtures for the JSON API: tokens with chosen scopes, and the LTI test platform's launches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from plugin.organisations.tokens import SCOPES, create_token
from tests.lti.conftest import Flow, flow, platform, tool  # noqa: F401 (fixtures)

MakeToken = Callable[..., str]


@pytest.fixture
def make_token(app: Flask) -> MakeToken:
    """Create an API token with the given scopes (default: all) and return it."""

    def build(scopes: Iterable[str] = SCOPES, name: str = "test") -> str:
        with app.extensions["plugin.db"].session_scope() as session:
            _row, token = create_token(session, name, scopes)
        return token

    return build


@pytest.fixture
def all_scopes(make_token: MakeToken) -> dict[str, str]:
    """``Authorization`` headers of a token with every scope."""
    return {"Authorization": f"Bearer {make_token()}"}


def launch_token(driver: Flow, **claims: object) -> str:
    """Launch as a learner through the test platform; the launch token (``lt``)."""
    response = driver.complete(**claims)
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["lt"][0]
