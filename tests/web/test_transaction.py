"""The request's transaction: committed when the response succeeds, rolled back when it fails
(plugin/web/transaction.py), so that no view commits by hand."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from plugin import app_state
from plugin.core.errors import InvalidInput
from plugin.organisations.models import Organisation

TOOL = "https://tool.test"


def _add_organisation(key: str) -> None:
    app_state.session().add(Organisation(key=key, name=key))
    app_state.session().flush()


def _stored_keys(app: Flask) -> set[str]:
    with app.extensions["plugin.db"].session_scope() as session:
        return set(session.scalars(select(Organisation.key)))


def _routes(app: Flask) -> None:
    @app.get("/probe/ok")
    def ok() -> str:
        _add_organisation("on-success")
        return "ok"

    @app.get("/probe/redirect")
    def redirected() -> tuple[str, int, dict[str, str]]:
        _add_organisation("on-redirect")
        return "", 303, {"Location": "/"}

    @app.get("/probe/refused")
    def refused() -> str:
        _add_organisation("on-refusal")
        raise InvalidInput("refused", field="probe")

    @app.get("/probe/conflict")
    def conflict() -> tuple[str, int]:
        _add_organisation("on-error-status")
        return "conflict", 409

    @app.get("/probe/outer")
    def outer() -> str:
        _add_organisation("outer")
        # A request answered inside this one, as the tests' in-process LMS is: it shares the
        # app context and the session, and its 404 must not end this request's transaction.
        inner = app.test_client().get("/probe/nowhere", base_url=TOOL)
        assert inner.status_code == 404
        return "ok"


def test_a_successful_response_commits_what_the_view_wrote(app: Flask) -> None:
    _routes(app)
    client = app.test_client()
    assert client.get("/probe/ok", base_url=TOOL).status_code == 200
    assert client.get("/probe/redirect", base_url=TOOL).status_code == 303
    assert {"on-success", "on-redirect"} <= _stored_keys(app)


def test_an_error_response_rolls_back_what_the_view_wrote(app: Flask) -> None:
    _routes(app)
    client = app.test_client()
    assert client.get("/probe/refused", base_url=TOOL).status_code == 400
    assert client.get("/probe/conflict", base_url=TOOL).status_code == 409
    assert not {"on-refusal", "on-error-status"} & _stored_keys(app)


def test_a_request_answered_inside_another_leaves_the_transaction_to_the_outer_one(
    app: Flask,
) -> None:
    _routes(app)
    assert app.test_client().get("/probe/outer", base_url=TOOL).status_code == 200
    assert "outer" in _stored_keys(app)
