"""The typed accessors of the app's state (plugin/web/app_state.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from plugin import app_state
from plugin.core.config import Settings
from plugin.core.db import Database
from plugin.lti.keysets import KeySetCache


def test_accessors_hand_out_what_create_app_installed(empty_app: Flask) -> None:
    with empty_app.app_context():
        assert app_state.settings() is empty_app.extensions[app_state.SETTINGS]
        assert isinstance(app_state.settings(), Settings)
        assert app_state.database() is empty_app.extensions[app_state.DATABASE]
        assert isinstance(app_state.database(), Database)
        assert isinstance(app_state.key_sets(), KeySetCache)
    assert app_state.settings(empty_app) is empty_app.extensions[app_state.SETTINGS]


def test_the_request_session_is_one_per_request_and_closed_at_teardown(empty_app: Flask) -> None:
    with empty_app.test_request_context("/"):
        first = app_state.session()
        assert app_state.session() is first
        first.execute(text("SELECT 1"))
        assert first.in_transaction()
    assert not first.in_transaction()  # closed (rolled back) when the request ended
    with empty_app.test_request_context("/"):
        assert app_state.session() is not first


def test_a_wrong_object_under_a_key_fails_naming_the_key(empty_app: Flask) -> None:
    empty_app.extensions[app_state.SETTINGS] = {"secret_key": "a mapping, not Settings"}
    with pytest.raises(TypeError, match=r"plugin\.settings"):
        app_state.settings(empty_app)
