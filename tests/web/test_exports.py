"""Downloads behind a real LTI launch: coverage XLSX, attainment CSV/XLSX, badges, CASE JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from tests.support.evidence import record_level
from tests.support.flows import TOOL, Flow, designer_token, launch_token

DC1_INDICATORS = ("DC1-K1", "DC1-K2", "DC1-K3", "DC1-K4", "DC1-S1", "DC1-S2", "DC1-S3")


@pytest.fixture
def designer(flow: Flow) -> str:
    """A designer's (Instructor's) launch token."""
    return designer_token(flow)


def _evidence(app: Flask, issuer: str, sub: str, codes: tuple[str, ...]) -> int:
    """Record level-1 evidence for ``sub`` on ``codes``; the learner's id."""
    with app.extensions["plugin.db"].session_scope() as session:
        learner = record_level(app, session, issuer, sub, codes)
        return learner.id


@pytest.fixture
def learner(app: Flask, flow: Flow) -> tuple[str, int]:
    """learner-001's launch token and learner id, with DC1 attained at level 1."""
    token = launch_token(flow)
    return token, _evidence(app, flow.platform.issuer, "learner-001", DC1_INDICATORS)


def get(flow: Flow, path: str, token: str | None = None, **args: str) -> TestResponse:
    query = {"lt": token, **args} if token else args
    return flow.client.get(path, query_string=query, base_url=TOOL)


def _csv(response: TestResponse) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _sheet(response: TestResponse) -> list[tuple]:
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    return rows


def test_case_json_is_public_and_parses(flow: Flow) -> None:
    response = get(flow, "/exports/case.json")
    assert response.status_code == 200
    package = json.loads(response.get_data(as_text=True))
    assert len(package["CFItems"]) == 41
    assert len(package["CFAssociations"]) == 31
    assert package["CFDocument"]["uri"].endswith("tw-civil-service-dc")


def test_coverage_xlsx_for_designers_and_403_for_learners(
    flow: Flow, designer: str, learner: tuple[str, int]
) -> None:
    response = get(flow, "/exports/coverage.xlsx", designer)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    rows = _sheet(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ("code", "kind", "competency")
    assert len(body) == 41
    assert body[0][0] == "DC1" and isinstance(body[0][header.index("total_hours")], int | float)
    assert get(flow, "/exports/coverage.xlsx", learner[0]).status_code == 403
    assert get(flow, "/exports/coverage.xlsx").status_code == 401


def test_a_learner_downloads_their_own_attainment_as_csv_and_xlsx(
    flow: Flow, learner: tuple[str, int]
) -> None:
    token, learner_id = learner
    response = get(flow, "/exports/attainment.csv", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = {row["code"]: row for row in _csv(response)}
    assert len(rows) == 41
    assert rows["DC1"]["level"] == "1" and rows["DC1-K2"]["level"] == "1"
    assert rows["DC2"]["level"] == "0"
    assert rows["DC1-K2"]["competency"] == "DC1"
    assert {row["person"] for row in rows.values()} == {str(learner_id)}

    sheet = _sheet(get(flow, "/exports/attainment.xlsx", token))
    header = sheet[0]
    by_code = {row[header.index("code")]: row for row in sheet[1:]}
    assert by_code["DC1"][header.index("level")] == 1
    assert by_code["DC1-K2"][header.index("evidence_count")] == 1


def test_learners_get_only_their_own_records(
    app: Flask, flow: Flow, learner: tuple[str, int]
) -> None:
    token, learner_id = learner
    for path in ("/exports/attainment.csv", "/exports/attainment.xlsx", "/exports/badges.json"):
        assert get(flow, path, token, person=str(learner_id)).status_code == 403, path
    other = launch_token(flow, sub="learner-002", name="陳大華")
    other_id = _evidence(app, flow.platform.issuer, "learner-002", ("DC2-K1",))
    assert other_id != learner_id
    rows = _csv(get(flow, "/exports/attainment.csv", other))
    assert {row["person"] for row in rows} == {str(other_id)}
    assert get(flow, "/exports/badges.json", other).get_json() == []
    assert get(flow, "/exports/attainment.csv", other, person=str(learner_id)).status_code == 403


def test_designers_name_the_learner(flow: Flow, designer: str, learner: tuple[str, int]) -> None:
    _token, learner_id = learner
    response = get(flow, "/exports/attainment.csv", designer, person=str(learner_id))
    assert response.status_code == 200
    assert {row["person"] for row in _csv(response)} == {str(learner_id)}
    assert get(flow, "/exports/attainment.csv", designer).status_code == 400
    assert get(flow, "/exports/attainment.csv", designer, person="999999").status_code == 404
    badges = get(flow, "/exports/badges.json", designer, person=str(learner_id)).get_json()
    assert [b["credentialSubject"]["achievement"]["humanCode"] for b in badges] == ["DC1"]


def test_badges_json_lists_the_learners_credentials_without_personal_data(
    flow: Flow, learner: tuple[str, int]
) -> None:
    token, _learner_id = learner
    response = get(flow, "/exports/badges.json", token)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    credentials = json.loads(text)
    assert isinstance(credentials, list) and len(credentials) == 1
    credential = credentials[0]
    assert "OpenBadgeCredential" in credential["type"]
    assert credential["credentialSubject"]["achievement"]["alignment"][0]["targetCode"] == "DC1"
    for private in ("learner-001", "王小明", "ming@example.gov.tw", flow.platform.issuer):
        assert private not in text


@pytest.mark.parametrize("digits", ["²", "１", "٣", " 1", "1_0", "+1"])
@pytest.mark.parametrize(
    "path", ["/exports/attainment.csv", "/exports/attainment.xlsx", "/exports/badges.json"]
)
def test_a_person_id_not_in_ascii_digits_is_a_400_naming_the_field(
    flow: Flow, designer: str, learner: tuple[str, int], path: str, digits: str
) -> None:
    _token, learner_id = learner
    # "１" was read as learner 1 and "²" was a 500 (int() refuses what isdigit() accepts).
    response = get(flow, path, designer, person=digits.replace("1", str(learner_id)), lang="en")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "person" in response.get_data(as_text=True)
    assert "digits 0-9" in response.get_data(as_text=True)
    assert get(flow, path, designer, person=str(learner_id)).status_code == 200


def test_the_refusal_of_a_non_ascii_person_id_is_in_the_launch_language(
    flow: Flow, designer: str
) -> None:
    response = get(flow, "/exports/attainment.csv", designer, person="²")
    assert response.status_code == 400
    assert "person 必須是以數字 0-9 書寫" in response.get_data(as_text=True)
