"""The organisation view's tables download as CSV and XLSX, for administrators only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from flask import Flask
from openpyxl import load_workbook

from tests.support.flows import TOOL, Flow
from tests.support.modules import C4_T5, correct_answers, launch, token_of

ADMIN = "Administrator"


@pytest.fixture
def passed(flow: Flow, app: Flask) -> Iterator[None]:
    """A learner who passed C4-T5."""
    response = launch(flow, link="rl-1", module_key=C4_T5)
    token = token_of(response)
    answers = correct_answers(app, token)
    assert flow.client.post("/lti/module/check", data=answers, base_url=TOOL).status_code == 200
    yield


def admin_token(flow: Flow) -> str:
    role = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
    response = flow.complete(
        **{
            "https://purl.imsglobal.org/spec/lti/claim/roles": [role],
            "sub": "admin-1",
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-admin"},
        }
    )
    return token_of(response)


def test_administrator_downloads_both_tables_as_csv_and_one_workbook(
    flow: Flow, app: Flask, passed: None
) -> None:
    token = admin_token(flow)
    get = flow.client.get
    distribution = get(
        "/exports/organisation-distribution.csv", query_string={"lt": token}, base_url=TOOL
    )
    assert distribution.status_code == 200
    rows = list(csv.reader(io.StringIO(distribution.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["competency", "grade", "target"]
    counted = sum(int(n) for row in rows[1:] for n in row[3:])
    assert counted >= 5  # the learner (and the admin) counted once per competency
    below = get("/exports/organisation-below_target.csv", query_string={"lt": token}, base_url=TOOL)
    assert below.status_code == 200
    workbook = get("/exports/organisation.xlsx", query_string={"lt": token}, base_url=TOOL)
    sheets = load_workbook(io.BytesIO(workbook.data)).sheetnames
    assert sheets == ["distribution", "below_target"]
    unknown = get("/exports/organisation-nothing.csv", query_string={"lt": token}, base_url=TOOL)
    assert unknown.status_code == 404


def test_learners_and_designers_cannot_download_the_organisation_tables(
    flow: Flow, app: Flask
) -> None:
    learner = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    for token in (learner, designer):
        for path in ("/exports/organisation-distribution.csv", "/exports/organisation.xlsx"):
            response = flow.client.get(path, query_string={"lt": token}, base_url=TOOL)
            assert response.status_code == 403
