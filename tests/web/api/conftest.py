"""Fixtures for the JSON API: tokens with chosen scopes."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from flask import Flask

from plugin.organisations.tokens import SCOPES, create_token
from tests.support.flows import MakeToken


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
