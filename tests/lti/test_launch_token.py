"""The launch token (``lt``) is the tool's session in the LMS iframe: missing, tampered or
expired tokens give a 401 page, and a token never opens another person's launch."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.core.db import utcnow
from plugin.lti.models import Launch, Person
from plugin.lti.tokens import SALT
from tests.support.app import TEST_SECRET
from tests.support.flows import TOOL, Flow


def _token(response_location: str) -> str:
    return parse_qs(urlsplit(response_location).query)["lt"][0]


def _assert_launch_expired(response: TestResponse) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == 401, text
    assert "<code>launch_expired</code>" in text
    return text


@pytest.fixture
def two_launches(flow: Flow) -> tuple[str, str]:
    """Launch tokens of two people: the learner, and another learner."""
    first = flow.complete()
    second = flow.complete(sub="learner-002", name="陳大華", email="hua@example.gov.tw")
    assert first.status_code == second.status_code == 303
    return _token(first.headers["Location"]), _token(second.headers["Location"])


def test_home_without_a_launch_token_is_401(flow: Flow) -> None:
    _assert_launch_expired(flow.client.get("/lti/home", base_url=TOOL))


def test_each_token_shows_its_own_persons_launch(flow: Flow, two_launches: tuple[str, str]) -> None:
    mine, _theirs = two_launches
    page = flow.client.get("/lti/home", query_string={"lt": mine}, base_url=TOOL)
    assert page.status_code == 200
    assert "王小明" in page.get_data(as_text=True)
    assert "陳大華" not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.split(".", 1)[0] + "x." + t.split(".", 1)[1],
        lambda t: t + "x",
        lambda t: "not-a-token",
    ],
    ids=["signature", "payload", "appended", "garbage"],
)
def test_tampered_launch_token_is_401_and_never_another_persons_launch(
    tamper: Callable[[str], str], flow: Flow, two_launches: tuple[str, str]
) -> None:
    mine, _theirs = two_launches
    response = flow.client.get("/lti/home", query_string={"lt": tamper(mine)}, base_url=TOOL)
    text = _assert_launch_expired(response)
    assert "王小明" not in text and "陳大華" not in text


def test_token_naming_another_launch_but_signed_with_another_secret_is_401(
    flow: Flow, app: Flask, two_launches: tuple[str, str]
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        other_id = session.scalars(
            select(Launch.id).join(Launch.person).where(Person.sub == "learner-002")
        ).one()
    forged = URLSafeTimedSerializer("an-attacker-secret-" + "y" * 40, salt=SALT).dumps(other_id)
    _assert_launch_expired(flow.client.get("/lti/home", query_string={"lt": forged}, base_url=TOOL))


def test_token_older_than_the_launch_lifetime_is_401(
    flow: Flow, app: Flask, two_launches: tuple[str, str]
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        launch_id = session.scalars(select(Launch.id)).first()

    class ThreeHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3 * 3600

    old = URLSafeTimedSerializer(TEST_SECRET, salt=SALT, signer=ThreeHoursAgo).dumps(launch_id)
    _assert_launch_expired(flow.client.get("/lti/home", query_string={"lt": old}, base_url=TOOL))


def test_token_of_an_expired_launch_is_401(
    flow: Flow, app: Flask, two_launches: tuple[str, str]
) -> None:
    mine, _ = two_launches
    with app.extensions["plugin.db"].session_scope() as session:
        for launch in session.scalars(select(Launch)):
            launch.expires_at = utcnow() - timedelta(seconds=1)
    _assert_launch_expired(flow.client.get("/lti/home", query_string={"lt": mine}, base_url=TOOL))


def test_deep_link_picker_without_a_launch_token_is_401(flow: Flow) -> None:
    _assert_launch_expired(flow.client.get("/lti/deep-link", base_url=TOOL))
    _assert_launch_expired(flow.client.post("/lti/deep-link", base_url=TOOL))


def test_learner_launch_token_cannot_open_the_deep_link_picker(
    flow: Flow, two_launches: tuple[str, str]
) -> None:
    mine, _ = two_launches
    response = flow.client.get("/lti/deep-link", query_string={"lt": mine}, base_url=TOOL)
    assert response.status_code == 404
