"""Statements from a SCORM attempt per ADL's xAPI SCORM profile: on the run-time attempt's own
registration, initialized, resumed and suspended as the learner leaves and comes back, an
``answered`` cmi.interaction as each interaction is committed (its type, correct-response
pattern, the learner's response and result in xAPI's form), then completed, passed/failed and
terminated, with the module's competency IRIs and the SCORM profile in context, through the
validated outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.content.runtime_models import RuntimeAttempt
from plugin.xapi.models import OutboxStatement
from plugin.xapi.validation import validate_statement
from tests.content.packages import scorm12, scorm2004
from tests.support.app import IRI_BASE
from tests.support.flows import Flow
from tests.support.scorm import add_package, open_player, send, tagged_module

INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
SCORM = "https://w3id.org/xapi/scorm"
PROFILE_TYPE = "http://adlnet.gov/expapi/activities/profile"


@pytest.fixture
def module(app: Flask) -> tuple[str, str]:
    """A module of the default organisation tagged DC1-K1: (key, activity IRI)."""
    key, iri, _framework = tagged_module(app, [{"item": "DC1-K1", "level": 2}])
    return key, iri


def statements(app: Flask) -> list[dict[str, Any]]:
    """Every queued statement, in the order queued."""
    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.scalars(select(OutboxStatement).order_by(OutboxStatement.id))
        return [row.statement for row in rows]


def verb(statement: dict[str, Any]) -> str:
    return str(statement["verb"]["id"].rsplit("/", 1)[-1])


def registrations(app: Flask) -> list[str]:
    """The run-time attempts' registrations, oldest attempt first."""
    with app.extensions["plugin.db"].session_scope() as session:
        return list(
            session.scalars(select(RuntimeAttempt.registration).order_by(RuntimeAttempt.id))
        )


def answered_12(index: int, identifier: str, response: str, result: str) -> dict[str, str]:
    """A SCORM 1.2 interaction the learner answered, flattened as the player commits it."""
    key = f"cmi.interactions.{index}"
    return {
        f"{key}.id": identifier, f"{key}.type": "choice", f"{key}.student_response": response,
        f"{key}.correct_responses.0.pattern": "a", f"{key}.result": result,
    }  # fmt: skip


def test_a_scorm_12_attempt_says_answered_per_interaction_in_xapis_form(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, module: tuple[str, str]
) -> None:
    key, iri = module
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    runtime = open_player(flow, key)
    cmi = {
        "cmi.core.lesson_status": "passed", "cmi.core.exit": "", "cmi.core.score.raw": "90",
        "cmi.interactions.0.id": "q1", "cmi.interactions.0.type": "choice",
        "cmi.interactions.0.student_response": "{a,c}",
        "cmi.interactions.0.correct_responses.0.pattern": "a,c",
        "cmi.interactions.0.result": "correct",
        "cmi.interactions.1.id": "q 2", "cmi.interactions.1.type": "true-false",
        "cmi.interactions.1.student_response": "f",
        "cmi.interactions.1.correct_responses.0.pattern": "t",
        "cmi.interactions.1.result": "wrong",
        "cmi.interactions.2.id": "q3", "cmi.interactions.2.type": "matching",
        "cmi.interactions.2.student_response": "1.a,2.c",
        "cmi.interactions.2.correct_responses.0.pattern": "1.a,2.b",
        "cmi.interactions.2.result": "neutral",
    }  # fmt: skip

    assert send(tool, runtime, {"sco": "item-1", "seq": 1, "final": True, "cmi": cmi}).json

    sent = statements(app)
    assert [verb(s) for s in sent] == [
        "launched",
        "initialized",
        "answered",
        "answered",
        "answered",
        "completed",
        "passed",
        "terminated",
        "assessed",
    ]  # fmt: skip  (assessed: the tag's evidence, plugin/xapi/assessment.py)
    answered = [s for s in sent if verb(s) == "answered"]
    first = answered[0]
    assert set(first) == {"id", "actor", "verb", "object", "result", "context", "timestamp"}
    assert first["actor"] == sent[0]["actor"]
    assert first["actor"]["account"]["name"] == "learner-001"  # the opaque account, no name
    assert first["verb"] == {
        "id": "http://adlnet.gov/expapi/verbs/answered",
        "display": {"en-US": "answered", "zh-TW": "作答"},
    }
    context = first["context"]
    assert context["registration"] == sent[0]["context"]["registration"]
    assert context["contextActivities"]["category"] == [
        {"id": IRI_BASE + "profile/v1", "objectType": "Activity",
         "definition": {"type": PROFILE_TYPE}},
        {"id": SCORM, "objectType": "Activity", "definition": {"type": PROFILE_TYPE}},
    ]  # fmt: skip
    other = context["contextActivities"]["other"]
    assert [activity["id"] for activity in other] == [IRI_BASE + "tw-civil-service-dc/DC1-K1"]
    base = f"{iri}/scos/item-1/interactions/"
    assert [(s["object"], s["result"]) for s in answered] == [
        (
            {"id": base + "q1", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "choice",
                "correctResponsesPattern": ["a[,]c"]}},
            {"response": "a[,]c", "success": True},
        ),
        (
            {"id": base + "q%202", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "true-false",
                "correctResponsesPattern": ["true"]}},
            {"response": "false", "success": False},
        ),
        (
            {"id": base + "q3", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "matching",
                "correctResponsesPattern": ["1[.]a[,]2[.]b"]}},
            {"response": "1[.]a[,]2[.]c"},  # neutral: no success either way
        ),
    ]  # fmt: skip
    for statement in sent[2:8]:  # every statement of the finished attempt names the profile
        assert {"id": SCORM, "objectType": "Activity", "definition": {"type": PROFILE_TYPE}} in (
            statement["context"]["contextActivities"]["category"]
        )


def test_a_scorm_2004_attempt_keeps_its_patterns_and_states_interactions_as_committed(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, module: tuple[str, str]
) -> None:
    key, iri = module
    add_package(app, key, scorm2004(tmp_path / "multi.zip"))
    runtime = open_player(flow, key)
    ended = {"cmi.completion_status": "completed", "cmi.exit": "normal"}
    b = {
        **ended, "cmi.interactions.0.id": "range", "cmi.interactions.0.type": "numeric",
        "cmi.interactions.0.learner_response": "7",
        "cmi.interactions.0.correct_responses.0.pattern": "5[:]10",
        "cmi.interactions.0.result": "correct",
    }  # fmt: skip
    a = {
        **ended, "cmi.interactions.0.id": "order", "cmi.interactions.0.type": "sequencing",
        "cmi.interactions.0.learner_response": "x[,]y",
        "cmi.interactions.0.correct_responses.0.pattern": "y[,]x",
        "cmi.interactions.0.correct_responses.1.pattern": "x[,]y",
        "cmi.interactions.0.result": "incorrect",
        "cmi.interactions.1.id": "essay", "cmi.interactions.1.type": "long-fill-in",
    }  # fmt: skip
    send(tool, runtime, {"sco": "b", "seq": 1, "final": True, "cmi": b})  # b ends first
    send(tool, runtime, {"sco": "a", "seq": 1, "final": True, "cmi": a})
    # Answered interactions are stated as each SCO commits them (b's, then a's answered one);
    # the one never answered is stated when the attempt finishes.

    sent = statements(app)
    assert [verb(s) for s in sent] == [
        "launched", "initialized", "answered", "answered", "answered", "completed", "terminated",
        "assessed",
    ]  # fmt: skip
    answered = [(s["object"], s.get("result")) for s in sent if verb(s) == "answered"]
    assert answered == [
        (
            {"id": f"{iri}/scos/b/interactions/range", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "numeric",
                "correctResponsesPattern": ["5[:]10"]}},
            {"response": "7", "success": True},
        ),
        (
            {"id": f"{iri}/scos/a/interactions/order", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "sequencing",
                "correctResponsesPattern": ["y[,]x", "x[,]y"]}},
            {"response": "x[,]y", "success": False},
        ),
        (
            {"id": f"{iri}/scos/a/interactions/essay", "objectType": "Activity", "definition": {
                "type": INTERACTION, "interactionType": "long-fill-in"}},
            None,  # never answered: stated when the attempt finishes, with no result
        ),
    ]  # fmt: skip


def test_a_suspended_attempt_resumed_on_a_new_launch_states_its_lifecycle_on_one_registration(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, module: tuple[str, str]
) -> None:
    key, iri = module
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    first = open_player(flow, key)
    left = {"cmi.core.lesson_status": "incomplete", "cmi.core.lesson_location": "p2"}
    q1 = answered_12(0, "q1", "a", "correct")
    send(tool, first, {"sco": "item-1", "seq": 1, "final": False, "cmi": {**left, **q1}})
    q2 = answered_12(1, "q2", "b", "wrong")
    suspend = {**left, "cmi.core.exit": "suspend", **q1, **q2}
    send(tool, first, {"sco": "item-1", "seq": 2, "final": True, "cmi": suspend})
    second = open_player(flow, key)  # the next launch takes the suspended attempt up again
    q3 = answered_12(2, "q3", "a", "correct")
    ended = {"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "90", "cmi.core.exit": ""}
    send(tool, second, {"sco": "item-1", "seq": 3, "final": True,
                        "cmi": {**ended, **q1, **q2, **q3}})  # fmt: skip

    sent = statements(app)
    # q1 with its own commit; q2 with the suspending one, before suspended; q3 after resumed.
    assert [verb(s) for s in sent] == [
        "launched", "initialized", "answered", "answered", "suspended", "resumed", "answered",
        "completed", "passed", "terminated", "assessed",
    ]  # fmt: skip
    assert registrations(app) == [sent[0]["context"]["registration"]]  # one attempt throughout
    lifecycle = sent[:-1]  # assessed is the roll-up's, about the competency, not the attempt
    for statement in lifecycle:
        validate_statement(statement)
        context = statement["context"]
        assert context["registration"] == registrations(app)[0]
        assert {"id": SCORM, "objectType": "Activity", "definition": {"type": PROFILE_TYPE}} in (
            context["contextActivities"]["category"]
        )
        assert [a["id"] for a in context["contextActivities"]["other"]] == [
            IRI_BASE + "tw-civil-service-dc/DC1-K1"
        ]
    answered = [s["object"]["id"].rsplit("/", 1)[-1] for s in sent if verb(s) == "answered"]
    assert answered == ["q1", "q2", "q3"]  # each once, in the order they were committed
    suspended = sent[4]
    assert suspended["object"]["id"] == iri
    assert suspended["verb"]["id"] == "http://adlnet.gov/expapi/verbs/suspended"
    assert sent[5]["verb"]["id"] == "http://adlnet.gov/expapi/verbs/resumed"


def test_a_repeated_or_late_commit_adds_no_statement(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, module: tuple[str, str]
) -> None:
    key, _iri = module
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    runtime = open_player(flow, key)
    left = {"cmi.core.lesson_status": "incomplete", "cmi.core.exit": "suspend"}
    commit = {"sco": "item-1", "seq": 2, "final": True,
              "cmi": {**left, **answered_12(0, "q1", "a", "correct")}}  # fmt: skip
    send(tool, runtime, commit)
    before = statements(app)
    assert [verb(s) for s in before] == ["launched", "initialized", "answered", "suspended"]

    again = send(tool, runtime, commit)  # sent twice (a retry, the page-hide beacon)
    late = send(tool, runtime, {**commit, "seq": 1, "cmi": {
        **left, **answered_12(0, "q9", "b", "wrong")}})  # fmt: skip
    newer = send(tool, runtime, {**commit, "seq": 3, "final": False})  # q1 again, no new exit

    assert (again.json, late.json, newer.json) == (
        {"result": True, "errorCode": 0, "stored": False},
        {"result": True, "errorCode": 0, "stored": False},
        {"result": True, "errorCode": 0, "stored": True},
    )
    assert statements(app) == before


def test_each_scorm_attempt_states_on_its_own_registration(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, module: tuple[str, str]
) -> None:
    key, _iri = module
    add_package(app, key, scorm2004(tmp_path / "multi.zip"))
    ended = {"cmi.completion_status": "completed", "cmi.exit": "normal"}
    first = open_player(flow, key)
    send(tool, first, {"sco": "a", "seq": 1, "final": True, "cmi": ended})
    send(tool, first, {"sco": "b", "seq": 1, "final": True, "cmi": ended})
    finished = len(statements(app))
    second = open_player(flow, key)  # the first attempt finished: a new one starts
    suspend = {"cmi.completion_status": "incomplete", "cmi.exit": "suspend"}
    send(tool, second, {"sco": "a", "seq": 1, "final": True, "cmi": suspend})

    sent = statements(app)
    one, two = registrations(app)
    assert one != two
    assert {s["context"]["registration"] for s in sent[:finished] if verb(s) != "assessed"} == {one}
    assert [(verb(s), s["context"]["registration"]) for s in sent[finished:]] == [
        ("launched", two),
        ("initialized", two),
        ("suspended", two),
    ]  # fmt: skip  (2004's cmi.exit = suspend; no resumed: this attempt is new)
