"""An id_token is good for one launch: replays, stale tokens and racing launches are refused."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Launch, LoginState
from tests.support.flows import TOOL, Flow, assert_refused, counts
from tests.support.races import race_past_the_checks


def test_same_id_token_posted_twice_is_refused_the_second_time(flow: Flow, app: Flask) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert flow.launch(token, auth["state"]).status_code == 303
    after_first = counts(app)

    replay = flow.launch(token, auth["state"])

    assert_refused(replay, 401, "replayed_launch")
    assert counts(app) == after_first
    assert after_first["launches"] == 1


def test_old_id_token_with_a_fresh_logins_state_is_refused_as_nonce_mismatch(
    flow: Flow, app: Flask
) -> None:
    first = flow.login()
    old_token = flow.platform.sign(flow.platform.claims(first["nonce"]))
    assert flow.launch(old_token, first["state"]).status_code == 303
    fresh = flow.login()
    before = counts(app)

    response = flow.launch(old_token, fresh["state"])

    assert_refused(response, 401, "nonce_mismatch")
    assert counts(app) == before
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.get(LoginState, fresh["state"]).used_at is None


def test_id_token_for_an_unused_login_cannot_be_launched_with_another_state(
    flow: Flow, app: Flask
) -> None:
    a = flow.login()
    b = flow.login()
    token_for_a = flow.platform.sign(flow.platform.claims(a["nonce"]))

    assert_refused(flow.launch(token_for_a, b["state"]), 401, "nonce_mismatch")
    # The token still works with its own login, once.
    assert flow.launch(token_for_a, a["state"]).status_code == 303
    assert counts(app)["launches"] == 1


def test_two_launches_racing_for_the_same_state_accept_only_one(
    flow: Flow, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    cookie = flow.client.get_cookie(f"lti1p3-{auth['state']}", domain="tool.test", path="/lti/")
    assert cookie is not None
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def racer() -> None:
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value, domain="tool.test", path="/lti/")
        response = client.post(
            "/lti/launch", data={"id_token": token, "state": auth["state"]}, base_url=TOOL
        )
        with lock:
            results.append((response.status_code, response.get_data(as_text=True)))

    race_past_the_checks(monkeypatch, racer)

    statuses = sorted(status for status, _ in results)
    assert statuses == [303, 401], results
    refused = next(text for status, text in results if status == 401)
    assert "<code>replayed_launch</code>" in refused
    with app.extensions["plugin.db"].session_scope() as session:
        assert len(session.scalars(select(Launch)).all()) == 1
