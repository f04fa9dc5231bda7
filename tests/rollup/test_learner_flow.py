"""From a learner's launch to attainment, and to and from a real Ralph LRS."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select

from plugin import create_app
from plugin.xapi.models import OutboxStatement
from tests.support.app import IRI_BASE, app_config, copy_database
from tests.support.flows import TOOL, Flow
from tests.support.lrs import RalphServer
from tests.support.modules import C4_T5, correct_answers, launch, token_of

ASSESSED = "https://w3id.org/xapi/tla/verbs/assessed"
FRAMEWORK = "tw-civil-service-dc"


def outbox(app: Flask) -> list[dict]:
    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.scalars(select(OutboxStatement).order_by(OutboxStatement.id))
        return [row.statement for row in rows]


def test_passing_a_tagged_module_reports_the_level_with_the_passed_statement(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    assert (
        flow.client.post(
            "/lti/module/check", data=correct_answers(app, token), base_url=TOOL
        ).status_code
        == 200
    )
    passed = next(s for s in outbox(app) if s["verb"]["id"].endswith("/passed"))
    assessed = [s for s in outbox(app) if s["verb"]["id"] == ASSESSED]
    assert assessed and all(
        passed["id"] in s["context"]["extensions"]["https://w3id.org/xapi/tla/extensions/evidence"]
        for s in assessed
    )
    result = app.test_cli_runner().invoke(
        args=["rollup", "show", "--issuer", flow.platform.issuer, "--sub", "learner-001", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # The module's tagged items; their competency lists the same evidence through them.
    attained = [i for i in data["items"] if i["evidence"] and i["kind"] != "competency"]
    assert attained and all(i["evidence"] == [passed["id"]] for i in attained)
    assert all(i["level"] >= 1 and i["value"] == 1.0 for i in attained)
    assert {s["object"]["id"].rsplit("/", 1)[1] for s in assessed} == {
        i["id"] for i in data["items"] if i["level"] >= 1
    }


def test_grade_comes_from_the_grade_custom_parameter(flow: Flow, app: Flask) -> None:
    response = flow.complete(
        **{
            "https://purl.imsglobal.org/spec/lti/claim/custom": {"grade": "主管"},
        }
    )
    assert response.status_code == 303
    person = ["--issuer", flow.platform.issuer, "--sub", flow.platform.claims("n")["sub"]]
    result = app.test_cli_runner().invoke(args=["rollup", "show", *person, "--json"])
    assert json.loads(result.output)["person"]["grade"] == "supervisor"


def ralph_app(tmp_path: Path, seeded: Path, ralph: RalphServer) -> Flask:
    return create_app(
        app_config(tmp_path, copy_database(seeded, tmp_path), xapi={"lrs": [ralph.target()]})
    )


def test_worker_delivers_assessed_and_pull_takes_another_providers_statement(
    tmp_path: Path, seeded_sqlite: Path, running_ralph: RalphServer
) -> None:
    app = ralph_app(tmp_path, seeded_sqlite, running_ralph)
    runner = app.test_cli_runner()
    issuer, sub = "https://other-lms.example", f"u-{uuid.uuid4().hex[:8]}"
    foreign = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": issuer, "name": sub}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {"objectType": "Activity", "id": "https://other-provider.example/course/7"},
        "result": {"success": True, "score": {"scaled": 0.9}},
        "context": {
            "contextActivities": {
                "other": [{"objectType": "Activity", "id": f"{IRI_BASE}{FRAMEWORK}/DC3-S1"}]
            }
        },
        "timestamp": "2026-04-01T09:00:00.000Z",
    }
    posted = requests.post(
        running_ralph.endpoint + "statements",
        json=[foreign],
        timeout=10,
        auth=(running_ralph.username, running_ralph.password),
        headers={"X-Experience-API-Version": "1.0.3"},
    )
    assert posted.status_code == 200, posted.text
    first = runner.invoke(args=["evidence", "pull"])
    assert first.exit_code == 0, first.output
    assert "1 new evidence" in first.output
    second = runner.invoke(args=["evidence", "pull"])
    assert second.exit_code == 0 and "0 new evidence" in second.output, second.output
    show = runner.invoke(args=["rollup", "show", "--issuer", issuer, "--sub", sub, "--json"])
    item = next(i for i in json.loads(show.output)["items"] if i["id"] == "DC3-S1")
    assert (item["evidence"], item["value"], item["level"]) == ([foreign["id"]], 0.9, 1)
    queued = outbox(app)
    restated = [s for s in queued if s.get("authority")]
    assert len(restated) == 1
    assert restated[0]["authority"]["account"]["name"] == "evidence-pull"
    assert any(s["verb"]["id"] == ASSESSED for s in queued)
    delivered = runner.invoke(args=["xapi", "worker", "--once"])
    assert delivered.exit_code == 0, delivered.output
    stored = {s["id"] for s in running_ralph.stored_statements()}
    assert {s["id"] for s in queued} <= stored
    # Our restated and assessed statements carry our profile: a third pull skips them.
    third = runner.invoke(args=["evidence", "pull"])
    assert "0 new evidence" in third.output, third.output
    app.extensions["plugin.db"].dispose()
