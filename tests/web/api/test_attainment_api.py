"""Persons, attainment and evidence: after a learner passes a tagged module through a real LTI
launch, the API reports the new levels and lists the passing statement as their evidence."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.competencies.modules import get_module
from tests.support.flows import TOOL, Flow
from tests.support.modules import C4_T5, correct_answers, launch, statements, token_of


def _pass_module(app: Flask, flow: Flow) -> tuple[str, str]:
    """Launch C4-T5 as learner-001 and pass its check; the launch token and passed statement id."""
    response = launch(flow, link="rl-1", module_key=C4_T5)
    token = token_of(response)
    assert flow.land(response).status_code == 200
    result = flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    assert result.status_code == 200
    (passed,) = [s for s in statements(app) if s["verb"]["id"].endswith("/passed")]
    return token, passed["id"]


def _tagged(app: Flask) -> dict[str, int]:
    with app.extensions["plugin.db"].session_scope() as session:
        return {tag.item.code: tag.level for tag in get_module(session, C4_T5).active_tags}


def test_after_passing_a_tagged_module_the_api_reports_levels_and_the_statement(
    app: Flask, flow: Flow, client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    token, passed_id = _pass_module(app, flow)
    tagged = _tagged(app)
    indicators = {code: level for code, level in tagged.items() if "-" in code}
    assert indicators

    mine = client.get("/api/v1/me/attainment", headers={"Authorization": f"Bearer lt.{token}"})
    assert mine.status_code == 200, mine.get_data(as_text=True)
    report = mine.get_json()
    assert report["person"]["identities"] == [
        {"issuer": flow.platform.issuer, "sub": "learner-001"}
    ]
    items = {item["id"]: item for item in report["items"]}
    for code, level in indicators.items():
        assert items[code]["level"] == level, code
        assert passed_id in items[code]["evidence"], code
    assert {c["id"] for c in report["competencies"]} == {f"DC{n}" for n in range(1, 6)}

    person_id = report["person"]["id"]
    found = client.get(
        "/api/v1/persons",
        query_string={"issuer": flow.platform.issuer, "sub": "learner-001"},
        headers=all_scopes,
    ).get_json()
    assert [p["id"] for p in found["items"]] == [person_id]
    person = client.get(f"/api/v1/persons/{person_id}", headers=all_scopes).get_json()
    assert person["identities"] == report["person"]["identities"]
    assert person["href"] == f"/api/v1/persons/{person_id}"

    same = client.get(f"/api/v1/persons/{person_id}/attainment", headers=all_scopes).get_json()
    assert same["items"] == report["items"]

    code = sorted(indicators)[0]
    evidence = client.get(
        f"/api/v1/persons/{person_id}/evidence", query_string={"item": code}, headers=all_scopes
    ).get_json()
    assert evidence["total"] >= 1
    assert {row["item"] for row in evidence["items"]} == {code}
    assert passed_id in {row["source_id"] for row in evidence["items"]}
    row = next(row for row in evidence["items"] if row["source_id"] == passed_id)
    assert row["module_key"] == C4_T5 and row["source_kind"] == "statement"
    assert row["score"] == 1.0 and row["level"] == indicators[code]

    everything = client.get(
        f"/api/v1/persons/{person_id}/evidence?per_page=1", headers=all_scopes
    ).get_json()
    assert everything["total"] >= len(indicators)
    assert len(everything["items"]) == 1
    assert everything["links"]["next"] is not None


@pytest.mark.parametrize("path", ["", "/attainment", "/evidence"])
def test_unknown_person_is_404_for_every_person_route(
    client: FlaskClient, all_scopes: dict[str, str], path: str
) -> None:
    response = client.get(f"/api/v1/persons/999999{path}", headers=all_scopes)
    assert response.status_code == 404, path
    assert response.get_json()["error"] == {
        "code": "not_found",
        "message": "no person 999999",
        "field": "id",
    }


@pytest.mark.parametrize("person_id", ["abc", "-1", "99999999999999999999999"])
@pytest.mark.parametrize("path", ["", "/attainment", "/evidence"])
def test_non_numeric_person_id_is_404_not_500(
    client: FlaskClient, all_scopes: dict[str, str], person_id: str, path: str
) -> None:
    response = client.get(f"/api/v1/persons/{person_id}{path}", headers=all_scopes)
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")


def test_evidence_item_filter_is_validated(
    app: Flask, flow: Flow, client: FlaskClient, all_scopes: dict[str, str]
) -> None:
    token, _passed = _pass_module(app, flow)
    report = client.get("/api/v1/me/attainment", query_string={"lt": token}).get_json()
    response = client.get(
        f"/api/v1/persons/{report['person']['id']}/evidence?item=DROP%20TABLE", headers=all_scopes
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "item"
