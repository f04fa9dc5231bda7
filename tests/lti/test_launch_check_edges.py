"""The launch checks at their edges (plugin/lti/launch.py): a login state at the very instant it
expires, and a state that PostgreSQL could not even look up. Each decision is tried on both
sides of its boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from plugin.core.db import utcnow
from plugin.lti import launch as launch_module
from plugin.lti.claims import CLAIM_AGS_ENDPOINT
from plugin.lti.models import LoginState
from tests.support.flows import Flow, assert_refused, counts
from tests.support.platform import LTI


def _expiry(app: Flask, state: str, when: datetime) -> datetime:
    """Set the login state's expiry; return it as the database gives it back."""
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.get(LoginState, state)
        assert row is not None
        row.expires_at = when
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.get(LoginState, state)
        assert row is not None
        return row.expires_at


@pytest.mark.parametrize(
    ("before_expiry", "status"),
    [(timedelta(0), 400), (timedelta(microseconds=1), 303)],
    ids=["at-the-instant-refused", "a-microsecond-before-accepted"],
)
def test_a_login_state_is_expired_from_the_instant_of_its_expiry(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch, before_expiry: timedelta, status: int
) -> None:
    auth = flow.login()
    expires_at = _expiry(app, auth["state"], utcnow() + timedelta(minutes=5))
    # The launch's clock reads exactly the expiry (or a microsecond before it).
    monkeypatch.setattr(launch_module, "utcnow", lambda: expires_at - before_expiry)
    before = counts(app)
    response = flow.launch(flow.platform.sign(flow.platform.claims(auth["nonce"])), auth["state"])
    if status == 400:
        assert_refused(response, 400, "state_expired")
        assert counts(app) == before
    else:
        assert response.status_code == 303, response.get_data(as_text=True)


@pytest.fixture
def refuses_nul(app: Flask) -> Iterator[list[str]]:
    """The database refuses a text parameter with a NUL, as PostgreSQL does; the attempts are
    listed (SQLite would otherwise look the value up and find nothing)."""
    engine = app.extensions["plugin.db"].engine
    attempts: list[str] = []

    def check(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        if any(isinstance(v, str) and "\x00" in v for v in values):
            attempts.append(statement)
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")

    event.listen(engine, "before_cursor_execute", check)
    yield attempts
    event.remove(engine, "before_cursor_execute", check)


def test_a_state_with_a_nul_is_refused_as_unknown_without_a_database_lookup(
    app: Flask, flow: Flow, refuses_nul: list[str]
) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    before = counts(app)
    # The attack: the issued state with a NUL appended, which no lookup could match.
    assert_refused(flow.launch(token, auth["state"] + "\x00"), 400, "state_unknown")
    assert refuses_nul == []
    assert counts(app) == before


@pytest.mark.parametrize("deployment_id", [42, ["dep-1"], {"id": "dep-1"}], ids=repr)
def test_a_deployment_id_that_is_not_a_string_is_refused_and_never_recorded(
    app: Flask, flow: Flow, deployment_id: object
) -> None:
    # Else str() of it ("42", "['dep-1']") would be recorded as a new deployment to approve.
    before = counts(app)
    text = assert_refused(
        flow.complete(**{LTI + "deployment_id": deployment_id}), 400, "invalid_claim"
    )
    assert "deployment_id" in text
    assert counts(app) == before


def test_an_empty_deployment_id_is_refused_as_missing(app: Flask, flow: Flow) -> None:
    before = counts(app)
    text = assert_refused(flow.complete(**{LTI + "deployment_id": ""}), 400, "missing_claim")
    assert "deployment_id" in text
    assert counts(app) == before


@pytest.mark.parametrize("link_id", [7, ["link-1"]], ids=repr)
def test_a_resource_link_id_that_is_not_a_string_is_refused_naming_the_claim(
    app: Flask, flow: Flow, link_id: object
) -> None:
    before = counts(app)
    link = {"id": link_id, "title": "數位安全基礎"}
    text = assert_refused(flow.complete(**{LTI + "resource_link": link}), 400, "invalid_claim")
    assert "resource_link" in text
    assert counts(app) == before


@pytest.mark.parametrize(
    "endpoint",
    [
        {"scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score"},
        {"scope": [], "lineitem": "javascript:alert(1)"},
        {"scope": [], "lineitems": "https://lms.example/" + "x" * 1000},
    ],
    ids=["scope-a-string", "lineitem-javascript", "lineitems-too-long"],
)
def test_a_grade_service_claim_the_tool_cannot_use_is_refused(
    app: Flask, flow: Flow, endpoint: dict[str, object]
) -> None:
    # LTI AGS 2.0 §3.1: the launch is refused rather than a bad URL stored for grade passback.
    before = counts(app)
    text = assert_refused(flow.complete(**{CLAIM_AGS_ENDPOINT: endpoint}), 400, "invalid_claim")
    assert "endpoint" in text
    assert counts(app) == before
