"""A learner's launch, reading and check produce the attempt's statements, in order."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from plugin.competencies.modules import get_module
from plugin.lti.models import GradeOutbox
from plugin.xapi.validation import validate_statement
from tests.support.flows import TOOL, Flow
from tests.support.modules import (
    C4_T5,
    correct_answers,
    launch,
    statements,
    token_of,
    verbs,
)


def test_learner_attempt_from_launch_to_pass_emits_the_cmi5_sequence(
    flow: Flow, app: Flask
) -> None:
    response = launch(flow, link="rl-1", module_key=C4_T5)
    assert verbs(app) == ["launched"]
    token = token_of(response)
    page = flow.land(response)
    assert page.status_code == 200 and 'id="reading-progress"' in page.get_data(as_text=True)
    assert verbs(app) == ["launched", "initialized"]
    flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)  # a reload
    assert verbs(app) == ["launched", "initialized"]
    moved = flow.client.post(
        "/lti/module/progress", data={"lt": token, "percent": "50"}, base_url=TOOL
    )
    assert moved.status_code == 204
    result = flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    assert result.status_code == 200
    # The attempt's cmi5 sequence, then the roll-up's TLA assessed statements (one per
    # item whose level changed; they belong to no registration).
    assert verbs(app)[:9] == [
        "launched", "initialized", "progressed", "answered", "answered", "answered",
        "completed", "passed", "terminated",
    ]  # fmt: skip
    assert set(verbs(app)[9:]) == {"assessed"}
    sequence = [s for s in statements(app) if "registration" in s.get("context", {})]
    assert len({s["context"]["registration"] for s in sequence}) == 1
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, C4_T5)
        tagged = {tag.item.code for tag in module.active_tags}
        assert session.scalars(select(GradeOutbox)).one().score["scoreGiven"] == 100.0
    for statement in sequence:
        validate_statement(statement)
        other = statement["context"]["contextActivities"]["other"]
        assert {a["id"].rsplit("/", 1)[1] for a in other} == tagged
        assert "王小明" not in str(statement) and "ming@example.gov.tw" not in str(statement)
        assert statement["actor"]["account"] == {
            "homePage": flow.platform.issuer,
            "name": "learner-001",
        }


def test_a_second_check_in_a_finished_attempt_is_refused_and_a_retry_is_a_new_registration(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    answers = correct_answers(app, token)
    assert flow.client.post("/lti/module/check", data=answers, base_url=TOOL).status_code == 200
    count = len(verbs(app))
    again = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    assert again.status_code == 409
    assert len(verbs(app)) == count
    retry = flow.client.post("/lti/module/retry", data={"lt": token}, base_url=TOOL)
    assert retry.status_code == 303
    registrations = {
        s["context"]["registration"] for s in statements(app) if "registration" in s["context"]
    }
    assert len(registrations) == 2
    assert verbs(app)[-1] == "launched"


def test_designer_preview_records_no_statements(flow: Flow, app: Flask) -> None:
    response = launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="designer-1")
    flow.land(response)
    assert statements(app) == []


def test_progress_must_be_a_percentage(flow: Flow, app: Flask) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    # "²" passed isdigit() and then failed int() (a 500); full-width "５０" was read as 50.
    for bad in ("-5", "101", "half", "", "²", "５０", "٥٠", " 50", "5_0"):
        response = flow.client.post(
            "/lti/module/progress", data={"lt": token, "percent": bad}, base_url=TOOL
        )
        assert response.status_code == 400, bad
        assert "percent" in response.get_data(as_text=True), bad
    assert verbs(app) == ["launched"]
    accepted = flow.client.post(
        "/lti/module/progress", data={"lt": token, "percent": "50"}, base_url=TOOL
    )
    assert accepted.status_code == 204
