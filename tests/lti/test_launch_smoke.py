"""The full login → launch flow with a real signed id_token lands on the tool's page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from plugin.lti.models import Launch, LoginState, Person
from tests.support.flows import TOOL, Flow


def test_valid_launch_lands_on_the_tool_page_with_a_launch_token(flow: Flow, app: Flask) -> None:
    response = flow.complete()
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/lti/unbound?lt=")  # a link no module is placed on yet
    page = flow.client.get(location, base_url=TOOL)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "數位職能入門" in text and "王小明" in text
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Launch)) == 1
        person = session.scalars(select(Person)).one()
        assert (person.issuer, person.sub) == (flow.platform.issuer, "learner-001")


def test_replayed_id_token_is_rejected_and_stores_nothing_more(flow: Flow, app: Flask) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert flow.launch(token, auth["state"]).status_code == 303
    replay = flow.launch(token, auth["state"])
    assert replay.status_code == 401
    assert "replayed_launch" in replay.get_data(as_text=True)
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Launch)) == 1
        assert session.scalars(select(LoginState)).one().used_at is not None
