"""A SCORM attempt's interactions whose objective ids name an item the module teaches are
evidence for that item only (the share of them answered correctly), beside the module's own
evidence; and a commit that carries only some interactions keeps the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.case import case_uuid
from plugin.competencies.framework import get_framework, item_iri
from plugin.content.objective_evidence import result_score
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.lti.models import Person
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import evidence_for
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Learner
from plugin.rollup.reports import attainment_report
from plugin.xapi.models import OutboxStatement
from tests.content.packages import scorm12, scorm2004
from tests.support.app import IRI_BASE
from tests.support.flows import Flow
from tests.support.scorm import add_package, open_player, send, tagged_module

TLA_EVIDENCE = "https://w3id.org/xapi/tla/extensions/evidence"
TAGS = [{"item": "AT3", "level": 2}, {"item": "DC1", "level": 1}]
ENDED = {"cmi.completion_status": "completed", "cmi.exit": "normal"}


@pytest.fixture
def tagged(app: Flask) -> tuple[str, str]:
    """A module tagged AT3 at level 2 and the competency DC1 at level 1: (key, framework key)."""
    key, _iri, framework_key = tagged_module(app, TAGS)
    return key, framework_key


def interactions(answers: list[tuple[str, str, str]]) -> dict[str, str]:
    """Flattened 2004 interactions, one per (id, objective id, result)."""
    cmi: dict[str, str] = {}
    for index, (identifier, objective, result) in enumerate(answers):
        prefix = f"cmi.interactions.{index}."
        cmi |= {prefix + "id": identifier, prefix + "type": "choice",
                prefix + "objectives.0.id": objective, prefix + "result": result}  # fmt: skip
    return cmi


def attempt_learner(session: Session) -> Learner:
    """The learner of the one runtime attempt."""
    attempt = session.scalars(select(RuntimeAttempt)).one()
    person = session.get_one(Person, attempt.person_id)
    return learner_for(session, person.issuer, person.sub)


def evidence_rows(app: Flask) -> list[tuple[str, int, float, str]]:
    """The learner's evidence: (item, level, score, source id), in observation order."""
    with app.extensions["plugin.db"].session_scope() as session:
        rows = evidence_for(session, attempt_learner(session))
        return [(e.item_id, e.level, e.score, e.source_id) for e in rows]


def test_interactions_naming_a_taught_item_are_evidence_for_that_item_only(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, tagged: tuple[str, str]
) -> None:
    key, framework_key = tagged
    add_package(app, key, scorm2004(tmp_path / "multi.zip"))
    runtime = open_player(flow, key)
    at3_iri = item_iri(IRI_BASE, framework_key, "AT3")
    answers_a = [
        ("q1", "AT3", "correct"),
        ("q2", at3_iri, "incorrect"),  # the item's IRI names it too
        ("q3", "DC1-K1", "correct"),  # an indicator under the tagged competency
        ("q4", "DC2-K1", "correct"),  # an item the module does not teach
        ("q5", "learning-objective-7", "correct"),  # the package's own objective
        ("q6", "AT3", "neutral"),  # no score to give
    ]
    answers_b = [("q7", f"urn:uuid:{case_uuid(at3_iri)}", "1"), ("q8", "dc1-k1", "0.25")]
    for sco, scaled, answers in (("a", "0.8", answers_a), ("b", "0.6", answers_b)):
        cmi = {**ENDED, "cmi.score.scaled": scaled, **interactions(answers)}
        send(tool, runtime, {"sco": sco, "seq": 1, "final": True, "cmi": cmi})

    rows = evidence_rows(app)
    module_rows = [row for row in rows if not row[3].endswith("#objectives")]
    objective_rows = {row[0]: row[1:3] for row in rows if row[3].endswith("#objectives")}
    assert sorted(item for item, *_rest in module_rows) == ["AT3", "DC1"]
    at3 = [result_score(result) for _q, objective, result in answers_a + answers_b
           if objective in ("AT3", at3_iri) or objective.startswith("urn:uuid:")]  # fmt: skip
    dc1_k1 = [result_score(r) for _q, objective, r in answers_a + answers_b
              if objective.upper() == "DC1-K1"]  # fmt: skip
    at3_scores = [score for score in at3 if score is not None]
    assert objective_rows == {
        "AT3": (2, pytest.approx(sum(at3_scores) / len(at3_scores))),
        "DC1-K1": (1, pytest.approx(sum(s for s in dc1_k1 if s is not None) / len(dc1_k1))),
    }


def queued_statements(app: Flask) -> list[dict[str, Any]]:
    """Every statement queued for the LRS."""
    with app.extensions["plugin.db"].session_scope() as session:
        return [row.statement for row in session.scalars(select(OutboxStatement))]


def report_items(app: Flask) -> dict[str, list[str]]:
    """What ``rollup show`` reports of the learner: each item's evidence (its sources)."""
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        config = rollup_config(app.extensions["plugin.settings"].rollup)
        report = attainment_report(session, attempt_learner(session), framework, config)
        return {item["id"]: item["evidence"] for item in report["items"]}


def test_the_rollup_lists_interaction_evidence_under_the_named_indicator_only(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, tagged: tuple[str, str]
) -> None:
    key, _framework = tagged
    add_package(app, key, scorm2004(tmp_path / "multi.zip"))
    runtime = open_player(flow, key)
    for sco, answers in (("a", [("q1", "DC1-K2", "correct")]), ("b", [])):
        cmi = {**ENDED, "cmi.score.scaled": "0.9", **interactions(answers)}
        send(tool, runtime, {"sco": sco, "seq": 1, "final": True, "cmi": cmi})

    sources = {item: source for item, _level, _score, source in evidence_rows(app)}
    items = report_items(app)
    assert items["DC1-K2"] == [sources["DC1-K2"]] and sources["DC1-K2"].endswith("#objectives")
    assert [code for code, ids in items.items() if ids and code.startswith("DC1-")] == ["DC1-K2"]
    queued = {row["id"]: row for row in queued_statements(app)}
    assessed = [row for row in queued.values() if row["object"]["id"].endswith("/DC1-K2")]
    (cited,) = assessed[0]["context"]["extensions"][TLA_EVIDENCE]
    assert queued[cited]["verb"]["id"].endswith("/passed")  # the attempt's result, 0.9 ≥ 0.7


def test_an_attempt_whose_objective_ids_name_nothing_taught_adds_only_the_modules_evidence(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, tagged: tuple[str, str]
) -> None:
    key, _framework = tagged
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    runtime = open_player(flow, key)
    cmi = {"cmi.core.lesson_status": "passed", "cmi.core.exit": "", "cmi.core.score.raw": "90",
           "cmi.interactions.0.id": "q1", "cmi.interactions.0.objectives.0.id": "AT9",
           "cmi.interactions.0.result": "correct"}  # fmt: skip
    send(tool, runtime, {"sco": "item-1", "seq": 1, "final": True, "cmi": cmi})

    assert [row[0] for row in evidence_rows(app)] == ["AT3", "DC1"]


@pytest.mark.parametrize(
    ("result", "score"),
    [("correct", 1.0), ("wrong", 0.0), ("incorrect", 0.0), ("0.4", 0.4), ("1", 1.0),
     ("75", None), ("-0.5", None), ("nan", None), ("unanticipated", None), ("", None)],
)  # fmt: skip
def test_an_interactions_result_scores_it_where_the_spec_gives_a_measure(
    result: str, score: float | None
) -> None:
    assert result_score(result) == score


def stored_interactions(app: Flask) -> list[dict[str, Any]]:
    with app.extensions["plugin.db"].session_scope() as session:
        return list(session.scalars(select(ScoState)).one().interactions)


def test_a_commit_of_some_interactions_keeps_the_others_and_a_late_one_changes_nothing(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, tagged: tuple[str, str]
) -> None:
    key, _framework = tagged
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    runtime = open_player(flow, key)
    first = interactions([("q1", "AT3", "wrong"), ("q2", "AT3", "correct")])
    send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": first})
    changed = {"cmi.interactions.0.result": "correct", "cmi.interactions.2.id": "q3"}
    send(tool, runtime, {"sco": "item-1", "seq": 2, "cmi": changed})
    merged = stored_interactions(app)
    late = send(tool, runtime, {"sco": "item-1", "seq": 1,
                                "cmi": {"cmi.interactions.1.result": "wrong"}})  # fmt: skip

    assert [entry.get("id") for entry in merged] == ["q1", "q2", "q3"]
    assert [entry.get("result") for entry in merged] == ["correct", "correct", None]
    assert merged[0]["objectives.0.id"] == "AT3"  # fields the commit did not name are kept
    assert late.json["stored"] is False
    assert stored_interactions(app) == merged


def test_a_new_id_at_a_stored_index_replaces_that_interaction(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, tagged: tuple[str, str]
) -> None:
    key, _framework = tagged
    add_package(app, key, scorm12(tmp_path / "course.zip"))
    runtime = open_player(flow, key)
    send(tool, runtime, {"sco": "item-1", "seq": 1,
                         "cmi": interactions([("q1", "AT3", "wrong")])})  # fmt: skip
    send(tool, runtime, {"sco": "item-1", "seq": 2, "cmi": {"cmi.interactions.0.id": "q9"}})

    assert stored_interactions(app) == [{"id": "q9"}]
