"""The learner's competency map: radar data, item table with evidence, gaps, suggestions."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.modules import get_module
from plugin.rollup.models import Identity
from tests.support.flows import TOOL, Flow
from tests.support.platform import LTI
from tests.web.modules.test_module_pages import launch, token_of
from tests.web.modules.test_module_statements import C4_T5, correct_answers, statements

RETURN_URL = "https://lms.example.edu/course/7"


def open_map(flow: Flow, token: str, **query: str) -> TestResponse:
    return flow.client.get("/lti/map", query_string={"lt": token, **query}, base_url=TOOL)


def chart(response: TestResponse) -> dict:
    text = response.get_data(as_text=True)
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.S)
    assert match, text
    return json.loads(match.group(1))


def graded_launch(flow: Flow, grade: str) -> str:
    """A learner launch of C4-T5 whose custom parameters carry ``grade``."""
    response = flow.complete(
        **{
            LTI + "resource_link": {"id": "rl-1", "title": "活動"},
            LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            LTI + "custom": {"module_key": C4_T5, "grade": grade},
            LTI + "launch_presentation": {"return_url": RETURN_URL},
            "sub": "learner-001",
        }
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return token_of(response)


def pass_c4_t5(flow: Flow, app: Flask) -> tuple[str, TestResponse]:
    """The test platform's learner launches C4-T5 and passes its check: the launch token and
    the result page."""
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    passed = flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    assert passed.status_code == 200
    return token, passed


def test_a_learner_sees_five_axes_and_the_table(flow: Flow) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    response = open_map(flow, token)
    assert response.status_code == 200
    data = chart(response)
    assert [axis["id"] for axis in data["axes"]] == ["DC1", "DC2", "DC3", "DC4", "DC5"]
    assert all(axis["level"] == 0 and axis["target"] is None for axis in data["axes"])
    assert data["axes"][0]["name"] == "資訊與資料素養"
    assert data["max"] == 3
    text = response.get_data(as_text=True)
    assert 'id="overview-table"' in text and "DC1-K1" in text and "AT5" in text
    assert "未達基礎" in text and "官等不明" in text
    assert 'src="/static/js/radar.js"' in text


def test_passing_c4_t5_shows_levels_and_the_passed_statement_as_evidence(
    flow: Flow, app: Flask
) -> None:
    token, passed = pass_c4_t5(flow, app)
    assert f"/lti/map?lt={token}" in passed.get_data(as_text=True)  # the result page links it
    passed_id = next(s["id"] for s in statements(app) if s["verb"]["id"].endswith("/passed"))
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, C4_T5)
        tagged = [t.item.code for t in module.active_tags if t.item.kind != "competency"]
        title = module.title_zh
    assert tagged
    text = open_map(flow, token).get_data(as_text=True)
    for code in tagged:
        row = re.search(rf'<span class="code">{code}</span>.*?</tr>', text, re.S)
        assert row, code
        assert "未達基礎" not in row.group(0), row.group(0)
        assert passed_id in row.group(0) and title in row.group(0)
        assert "100%" in row.group(0)
    module_page = flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)
    assert f"/lti/map?lt={token}" in module_page.get_data(as_text=True)


def test_a_grade_gives_targets_gaps_and_suggestions(flow: Flow) -> None:
    token = graded_launch(flow, "junior")
    response = open_map(flow, token)
    data = chart(response)
    assert all(axis["target"] == 1 for axis in data["axes"])
    text = response.get_data(as_text=True)
    assert "委任" in text and "官等不明" not in text
    suggest = text.split('id="suggest-title"', 1)[1].split('id="items-title"', 1)[0]
    assert "DC1" in suggest and 'class="module-row"' in suggest
    assert suggest.count('class="module-row"') <= 10  # two competencies, five modules each
    assert "差 1 級" in text


def test_english_switch(flow: Flow) -> None:
    token = graded_launch(flow, "junior")
    response = open_map(flow, token, lang="en")
    text = response.get_data(as_text=True)
    assert "My competency map" in text and "Not yet Foundation" in text
    assert chart(response)["axes"][0]["name"] == "Information and data literacy"


def test_without_a_launch_token_the_map_is_refused(flow: Flow) -> None:
    assert flow.client.get("/lti/map", base_url=TOOL).status_code == 401
    assert flow.client.get("/lti/map?lt=forged", base_url=TOOL).status_code == 401


def test_a_designer_sees_an_empty_map_of_their_own(flow: Flow) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    response = open_map(flow, token)
    assert response.status_code == 200
    assert all(axis["level"] == 0 for axis in chart(response)["axes"])


def test_the_page_loads_nothing_from_other_origins(flow: Flow) -> None:
    token = graded_launch(flow, "junior")
    for lang in ("zh_TW", "en"):
        text = open_map(flow, token, lang=lang).get_data(as_text=True)
        urls = re.findall(r'\b(?:src|href)="([^"]*)"', text)
        assert urls
        for url in urls:
            assert url.startswith(("/", "?", "#")) or url == RETURN_URL, url


def learner_id(app: Flask, sub: str) -> int:
    """The roll-up learner id of the test platform's identity ``sub``."""
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalars(select(Identity.learner_id).where(Identity.sub == sub)).one()


def test_a_designer_sees_a_learners_map_and_a_learner_never_sees_anothers(
    flow: Flow, app: Flask
) -> None:
    token, _passed = pass_c4_t5(flow, app)
    person = learner_id(app, "learner-001")
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    shown = open_map(flow, designer, person=str(person))
    assert shown.status_code == 200
    assert chart(shown) == chart(open_map(flow, token))  # the learner's own numbers
    items = re.findall(r"evidence__id", shown.get_data(as_text=True))
    assert items  # the learner's evidence, not the designer's empty map
    # Whose map it is, by the name the platform sent for them, and "your" nowhere.
    text = shown.get_data(as_text=True)
    assert f'王小明的職能地圖 <span class="muted">(學員 {person})</span></h1>' in text
    for yours in ("我的職能地圖", "依您的官等", "您的數位學習平臺"):
        assert yours not in text
    assert open_map(flow, designer, person="999999").status_code == 404
    assert open_map(flow, designer, person="x").status_code == 400
    # A second learner: their own map opens, the first learner's is refused.
    other = token_of(launch(flow, link="rl-1", module_key=C4_T5, sub="learner-002"))
    assert open_map(flow, token, person=str(person)).status_code == 200  # one's own id is fine
    refused = open_map(flow, other, person=str(person))
    assert refused.status_code == 403
    assert "evidence__id" not in refused.get_data(as_text=True)


@pytest.mark.parametrize("digits", ["²", "１", "٣"])
def test_a_person_id_not_in_ascii_digits_is_a_400_naming_the_field(
    flow: Flow, app: Flask, digits: str
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    person = learner_id(app, "learner-001")
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    for caller in (designer, token):
        # Full-width "１" used to be read as learner 1; "²" was a 500.
        refused = open_map(flow, caller, person=digits.replace("1", str(person)), lang="en")
        assert refused.status_code == 400, refused.get_data(as_text=True)
        assert "person" in refused.get_data(as_text=True)
        assert open_map(flow, caller, person=str(person)).status_code == 200


def test_labels_end_in_the_pages_languages_colon(flow: Flow) -> None:
    chinese = flow.client.get("/lti/map", base_url=TOOL).get_data(as_text=True)
    assert "錯誤代碼：<code>" in chinese and "錯誤代碼: " not in chinese
    english = flow.client.get("/lti/map?lang=en", base_url=TOOL).get_data(as_text=True)
    assert "Error code: <code>" in english
