"""Login states: bounded per issuer and in all, purged when expired, and refused once expired.

Logins are unauthenticated, so a stream of them must not grow ``lti_login_states`` without
end; an expired login must be refused however it comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from plugin.core.db import utcnow
from plugin.lti.login import purge_expired_login_states
from plugin.lti.models import LoginState
from tests.support.flows import Flow, assert_refused, counts, register, registered_flow
from tests.support.platform import LTI, running_platform


def _states(app: Flask) -> int:
    with app.extensions["plugin.db"].session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(LoginState)) or 0)


def _expire_all(app: Flask) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        session.execute(update(LoginState).values(expires_at=utcnow() - timedelta(seconds=1)))


@pytest.fixture
def bounded(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, Flow]]:
    """An app allowing 10 login states per issuer and 15 in all, a platform registered."""
    app = make_app(lti={"max_login_states_per_issuer": 10, "max_login_states": 15})
    with running_platform() as platform:
        register(app, platform)
        yield app, Flow(app.test_client(), platform)


def test_a_flood_of_logins_from_one_issuer_is_refused_with_429_once_at_its_bound(
    bounded: tuple[Flask, Flow],
) -> None:
    app, flow = bounded
    answers = [flow.login_response().status_code for _ in range(100)]
    assert answers[:10] == [302] * 10
    assert set(answers[10:]) == {429}
    refused = flow.login_response()
    assert refused.headers["Retry-After"] == "60"
    text = assert_refused(refused, 429, "too_many_logins")
    assert "請稍候幾分鐘" in text and "Wait a few minutes" in text
    assert flow.platform.issuer in text
    assert _states(app) == 10


def test_the_issuer_bound_covers_all_its_client_ids(bounded: tuple[Flask, Flow]) -> None:
    # One issuer may have several registrations (Canvas: one per developer key); choosing
    # another client_id does not open a fresh allowance.
    app, flow = bounded
    register(app, flow.platform, client_id="tool-client-2")
    for index in range(10):
        client_id = ("tool-client-1", "tool-client-2")[index % 2]
        assert flow.login_response(client_id=client_id).status_code == 302
    assert_refused(flow.login_response(client_id="tool-client-2"), 429, "too_many_logins")
    assert _states(app) == 10


def test_logins_beyond_the_overall_bound_are_refused_with_503(bounded: tuple[Flask, Flow]) -> None:
    app, flow = bounded
    for _ in range(10):
        assert flow.login_response().status_code == 302
    with running_platform(1, issuer="https://other-lms.example.edu") as other:
        register(app, other)
        other_flow = Flow(app.test_client(), other)
        for _ in range(5):
            assert other_flow.login_response().status_code == 302
        assert_refused(other_flow.login_response(), 503, "login_capacity_reached")
    assert _states(app) == 15


def test_expired_states_are_purged_when_a_bound_is_reached_and_logins_go_on(
    bounded: tuple[Flask, Flow],
) -> None:
    app, flow = bounded
    for _ in range(10):
        flow.login()
    _expire_all(app)
    auth = flow.login()  # at the bound: the ten expired states make room
    assert _states(app) == 1
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert flow.launch(token, auth["state"]).status_code == 303


def test_a_refused_login_still_keeps_the_purge_of_expired_states(
    bounded: tuple[Flask, Flow],
) -> None:
    app, flow = bounded
    with running_platform(1, issuer="https://other-lms.example.edu") as other:
        register(app, other)
        other_flow = Flow(app.test_client(), other)
        for _ in range(5):
            other_flow.login()
    _expire_all(app)
    for _ in range(10):
        flow.login()
    assert _states(app) == 15
    # The issuer is at its bound with live states: refused, but the five expired states of
    # the other issuer are gone.
    assert_refused(flow.login_response(), 429, "too_many_logins")
    assert _states(app) == 10


def test_purge_deletes_only_expired_login_states(app: Flask, flow: Flow) -> None:
    for _ in range(3):
        flow.login()
    now = utcnow()
    with app.extensions["plugin.db"].session_scope() as session:
        first = session.scalars(select(LoginState).limit(1)).one()
        first.expires_at = now - timedelta(minutes=1)
    with app.extensions["plugin.db"].session_scope() as session:
        assert purge_expired_login_states(session, now) == 1
        assert purge_expired_login_states(session, now) == 0
    assert _states(app) == 2


@pytest.mark.parametrize("minutes", [10, 3])
def test_the_state_cookie_lives_exactly_as_long_as_the_login_state(
    make_app: Callable[..., Flask], minutes: int
) -> None:
    app = make_app(lti={"login_state_minutes": minutes})
    with running_platform() as platform:
        register(app, platform)
        response = Flow(app.test_client(), platform).login_response()
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "lti1p3-state-" in c]
    assert f"Max-Age={minutes * 60};" in cookie
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.scalars(select(LoginState)).one()
        assert row.expires_at - row.created_at == timedelta(minutes=minutes)


# An expired login is refused.


def test_a_launch_after_its_login_state_expired_is_refused_as_expired(
    app: Flask, flow: Flow
) -> None:
    auth = flow.login()
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.get(LoginState, auth["state"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    before = counts(app)
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    text = assert_refused(flow.launch(token, auth["state"]), 400, "state_expired")
    assert "逾時" in text and "expired" in text
    assert counts(app) == before


def test_a_launch_just_before_its_login_state_expires_is_accepted(app: Flask, flow: Flow) -> None:
    auth = flow.login()
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.get(LoginState, auth["state"])
        assert row is not None
        row.expires_at = utcnow() + timedelta(seconds=30)
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert flow.launch(token, auth["state"]).status_code == 303


# sub and deployment_id: at most 255 characters (LTI 1.3 core §5.3.3, OIDC Core §2).


def test_a_sub_of_255_characters_is_accepted_and_256_refused_naming_the_claim(
    app: Flask, flow: Flow
) -> None:
    assert flow.complete(sub="s" * 255).status_code == 303
    text = assert_refused(flow.complete(sub="s" * 256), 400, "invalid_claim")
    assert "sub" in text and "255" in text
    assert counts(app)["launches"] == 1


def test_a_deployment_id_of_255_characters_is_accepted_and_256_refused_naming_the_claim(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(lti={"auto_activate_deployments": True})
    with registered_flow(app) as flow:
        accepted = flow.complete(**{LTI + "deployment_id": "d" * 255})
        assert accepted.status_code == 303, accepted.get_data(as_text=True)
        refused = flow.complete(**{LTI + "deployment_id": "d" * 256})
        text = assert_refused(refused, 400, "invalid_claim")
    assert "deployment_id" in text and "255" in text
    assert counts(app)["launches"] == 1


def test_a_refused_login_sets_no_state_cookie(bounded: tuple[Flask, Flow]) -> None:
    _app, flow = bounded
    for _ in range(10):
        flow.login()
    response = flow.login_response()
    assert response.status_code == 429
    assert not [c for c in response.headers.getlist("Set-Cookie") if "lti1p3-state-" in c]
