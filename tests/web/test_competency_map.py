"""The learner's competency map: the server-drawn radar, the overview's indicator counts and
mean levels, the item table with evidence, gaps, suggestions and the learner's downloads."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.modules import get_module
from plugin.rollup.models import Identity
from plugin.web.competency_map import rank_modules
from tests.support.flows import TOOL, Flow
from tests.support.modules import (
    C4_T5,
    correct_answers,
    launch,
    registration_of,
    statements,
    token_of,
)
from tests.support.platform import LTI

RETURN_URL = "https://lms.example.edu/course/7"


def open_map(flow: Flow, token: str, **query: str) -> TestResponse:
    return flow.client.get("/lti/map", query_string={"lt": token, **query}, base_url=TOOL)


def radar(response: TestResponse) -> str:
    """The radar's SVG as the page sends it."""
    text = response.get_data(as_text=True)
    match = re.search(r'<svg class="radar__svg".*?</svg>', text, re.S)
    assert match, text
    return match.group(0)


def polygon(response: TestResponse, shape: str) -> str:
    """The points of the radar's ``shape`` (mean, level or target); "" when not drawn."""
    match = re.search(rf'<polygon class="radar__{shape}" points="([^"]*)"', radar(response))
    return match.group(1) if match else ""


def overview_row(response: TestResponse, code: str) -> str:
    """The overview table's row of competency ``code`` as its visible text."""
    text = response.get_data(as_text=True)
    table = text.split('id="overview-table"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<th scope="row"><span class="code">{code}</span>.*?</tr>', table, re.S)
    assert row, table
    return " ".join(re.sub(r"<[^>]+>", " ", row.group(0)).split())


# The radar is 520 × 440 with its centre at (260, 226) and a radius of 125 for level 3; axis i
# of five points at −90° + 72°·i (DC1 up, then clockwise). Points below are worked out by hand
# from that: r = 125 · value / 3, x = 260 + r·cos(angle), y = 226 + r·sin(angle).
CENTRE_ONLY = " ".join(["260.0,226.0"] * 5)
# Level 1 on every axis (r = 41.67): up (260, 184.3); −18°: (299.6, 213.1); 54°: (284.5, 259.7);
# 126°: (235.5, 259.7); 198°: (220.4, 213.1).
RING_ONE = "260.0,184.3 299.6,213.1 284.5,259.7 235.5,259.7 220.4,213.1"


def graded_launch(flow: Flow, grade: str, module_key: str = C4_T5) -> str:
    """A learner launch of ``module_key`` whose custom parameters carry ``grade``."""
    response = flow.complete(
        **{
            LTI + "resource_link": {"id": "rl-1", "title": "活動"},
            LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            LTI + "custom": {"module_key": module_key, "grade": grade},
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
    svg = radar(response)
    codes = re.findall(r'<tspan class="radar__code"[^>]*>([^<]*)</tspan>', svg)
    assert codes == ["DC1", "DC2", "DC3", "DC4", "DC5"]
    assert ">資訊與資料素養<" in svg  # seven characters: one line
    assert re.findall(r'class="radar__ring"[^>]*>([^<]*)<', svg) == ["基礎", "中級", "高級"]
    assert polygon(response, "level") == polygon(response, "mean") == CENTRE_ONLY
    assert polygon(response, "target") == ""  # no grade, no target
    text = response.get_data(as_text=True)
    assert 'id="overview-table"' in text and "DC1-K1" in text and "AT5" in text
    assert "未達基礎" in text and "官等不明" in text
    # Drawn on the server: the page runs no script of its own to show it.
    assert "radar.js" not in text and "map-data" not in text and "<svg" in text


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
    assert polygon(response, "target") == RING_ONE  # 委任: Foundation in every competency
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
    assert "Information and data literacy" in overview_row(response, "DC1")
    # English names break at spaces, at most 16 characters a line.
    assert '<tspan x="260.0" dy="1.2em">Information and</tspan>' in radar(response)


def test_without_a_launch_token_the_map_is_refused(flow: Flow) -> None:
    assert flow.client.get("/lti/map", base_url=TOOL).status_code == 401
    assert flow.client.get("/lti/map?lt=forged", base_url=TOOL).status_code == 401


def test_a_designer_sees_an_empty_map_of_their_own(flow: Flow) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    response = open_map(flow, token)
    assert response.status_code == 200
    assert polygon(response, "level") == polygon(response, "mean") == CENTRE_ONLY


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
    assert radar(shown) == radar(open_map(flow, token))  # the learner's own numbers
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


C5_T2 = "tw-civil-service-dc.C5-T2"  # 多元識讀: builds DC1-K2, DC1-K4, DC1-S2 and DC4-S3 at 基礎


def pass_check(flow: Flow, app: Flask, token: str, module_key: str) -> None:
    """Answer every item of ``module_key``'s check correctly (a 100 % pass)."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, module_key)
        data: dict[str, object] = {"lt": token, "attempt": registration_of(app, token, module_key)}
        for item in module.check_items:
            data[f"item_{item.id}"] = [c["key"] for c in item.choices if c["correct"]]
    response = flow.client.post("/lti/module/check", data=data, base_url=TOOL)
    assert response.status_code == 200, response.get_data(as_text=True)


def suggested(response: TestResponse) -> list[tuple[str, list[str]]]:
    """The suggestions: each competency's code with the module titles offered for it."""
    text = response.get_data(as_text=True)
    part = text.split('id="suggest-title"', 1)[1].split('id="items-title"', 1)[0]
    cards = part.split('<div class="card suggest">')[1:]
    return [
        (
            re.search(r'<span class="code">([^<]+)</span>', card).group(1),  # type: ignore[union-attr]
            re.findall(r'<p class="module-row__title">([^<]+)</p>', card),
        )
        for card in cards
    ]


def builds(response: TestResponse, code: str, title: str) -> list[str]:
    """The indicator codes the suggestion ``title`` under competency ``code`` says it builds."""
    text = response.get_data(as_text=True)
    part = text.split('id="suggest-title"', 1)[1].split('id="items-title"', 1)[0]
    card = next(c for c in part.split('<div class="card suggest">')[1:] if f">{code}<" in c[:200])
    row = card.split(f'<p class="module-row__title">{title}</p>', 1)[1].split("</li>\n", 1)[0]
    return re.findall(r'<li class="tag"><span class="code">([^<]+)</span>', row)


def test_passing_a_module_of_four_indicators_shows_the_counts_and_the_mean_level_moving(
    flow: Flow, app: Flask
) -> None:
    """The issue's case: C4-T5 passed at 100 % builds DC4-K1, DC4-K2, DC4-S1 and DC3-K1 at
    基礎; under the "all indicators" rule no competency moves, but the map shows what did."""
    token = graded_launch(flow, "junior")
    pass_check(flow, app, token, C4_T5)
    response = open_map(flow, token, lang="en")
    # DC4 has six indicators, three now at Foundation: mean 3 / 6 = 0.5.
    dc4 = overview_row(response, "DC4")
    assert "3 / 6 indicators at Foundation" in dc4
    assert "0 / 6 indicators at Intermediate" in dc4 and "0 / 6 indicators at Advanced" in dc4
    assert "0.5 / 3" in dc4 and "Not yet Foundation (0/3)" in dc4 and "1 level short" in dc4
    chinese = overview_row(open_map(flow, token, lang="zh_TW"), "DC4")
    assert "3 / 6 指標達基礎" in chinese and "0.5 / 3" in chinese  # the wording
    # DC3 has five, one at Foundation: 1 / 5 = 0.2. DC1 has seven, none.
    dc3 = overview_row(response, "DC3")
    assert "1 / 5 indicators at Foundation" in dc3 and "0.2 / 3" in dc3
    assert "0 / 7 indicators at Foundation" in overview_row(response, "DC1")
    # The progress shape: DC3 at r = 125·0.2/3 = 8.33 on 54° → (264.9, 232.7); DC4 at
    # r = 125·0.5/3 = 20.83 on 126° → (247.8, 242.9); the others at the centre.
    assert polygon(response, "mean") == (
        "260.0,226.0 260.0,226.0 264.9,232.7 247.8,242.9 260.0,226.0"
    )
    assert polygon(response, "level") == CENTRE_ONLY  # no competency has moved yet
    assert polygon(response, "target") == RING_ONE
    text = response.get_data(as_text=True)
    assert '<span class="legend legend--mean">Progress: mean indicator level</span>' in text
    assert "DC4 Digital safety and ethics: mean indicator level 0.5 of 3" in radar(response)
    assert "only when all of its indicators have reached it" in text  # the rule in force
    # The percentages are explained where they appear.
    assert "An indicator&#39;s value (a percentage) is 65% of the latest score" in text
    assert "Score is a piece of evidence's result" in text


def test_suggestions_leave_out_a_passed_module_and_put_the_largest_gaps_first(
    flow: Flow, app: Flask
) -> None:
    token = graded_launch(flow, "junior", module_key=C5_T2)
    with app.extensions["plugin.db"].session_scope() as session:
        title = get_module(session, C5_T2).title_zh
    # 委任 aims at 基礎 everywhere, so every competency is one level short; the indicators
    # lacking it: DC1 7, DC2 7, DC3 5, DC4 6, DC5 6 → DC1 and DC2 (framework order breaks ties).
    before = suggested(open_map(flow, token))
    assert [code for code, _titles in before] == ["DC1", "DC2"]
    assert before[0][1][0] == title  # it builds three of DC1's seven: the most
    pass_check(flow, app, token, C5_T2)
    # Now DC1 lacks 7 − 3 = 4 and DC4 6 − 1 = 5: DC2 (7) and DC5 (6) have the largest gaps.
    after = suggested(open_map(flow, token))
    assert [code for code, _titles in after] == ["DC2", "DC5"]
    assert all(title not in titles for _code, titles in after)
    # Within DC2, modules by how many of its short indicators they build (3, 2, 2, 2, 1),
    # then the shorter first: C6-T3, C6-T1 (1 h), C6-T2 (3 h), C8-T2 (4 h), C1-T1.
    assert after[0][1] == [
        "數位溝通問題案例討論與演示",
        "數位溝通工具",
        "數位情緒與雜訊判讀",
        "設計思考的數位應用與實作",
        "地區數位機會中心參訪與聆聽簡報",
    ]


def test_a_failed_module_is_still_suggested(flow: Flow, app: Flask) -> None:
    token = graded_launch(flow, "junior", module_key=C5_T2)
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, C5_T2)
        title = module.title_zh
        # Every item answered with a wrong choice only: 0 %, below the mastery score.
        wrong: dict[str, object] = {"lt": token, "attempt": registration_of(app, token, C5_T2)}
        for item in module.check_items:
            wrong[f"item_{item.id}"] = [next(c["key"] for c in item.choices if not c["correct"])]
    failed = flow.client.post("/lti/module/check", data=wrong, base_url=TOOL)
    assert failed.status_code == 200, failed.get_data(as_text=True)
    dc1 = dict(suggested(open_map(flow, token)))["DC1"]
    assert dc1[0] == title  # not finished: still the module that builds the most of DC1


def fake_module(key: str, hours: float, *tags: tuple[str, int]) -> SimpleNamespace:
    """A catalog module as rank_modules reads it: key, hours and active tags."""
    return SimpleNamespace(
        key=key,
        hours=hours,
        active_tags=[SimpleNamespace(item=SimpleNamespace(code=c), level=lv) for c, lv in tags],
    )


def test_a_module_teaching_an_indicator_at_its_present_level_is_not_said_to_build_it() -> None:
    """Target 中級 (2); K1 is at 基礎 (1), K2 at nothing (0). A module teaching both at 基礎
    can raise only K2; one teaching K1 at 基礎 alone raises nothing and is left out."""
    short = {"DC1-K1": 1, "DC1-K2": 0}
    basic_both = fake_module("a", 3, ("DC1-K1", 1), ("DC1-K2", 1))
    basic_k1 = fake_module("b", 1, ("DC1-K1", 1))
    # Levels closed: K1 2 − 1 = 1 plus K2 2 − 0 = 2 → 3 (a level-3 tag counts up to the target).
    advanced_both = fake_module("c", 4, ("DC1-K1", 3), ("DC1-K2", 2))
    other = fake_module("d", 1, ("DC2-K1", 2))
    ranked = rank_modules([basic_both, basic_k1, advanced_both, other], short, 2, lambda m: True)
    assert [(m.key, [i.code for i in items]) for m, items, _other in ranked] == [
        ("c", ["DC1-K1", "DC1-K2"]),  # closes 3
        ("a", ["DC1-K2"]),  # closes 1
    ]


def test_modules_closing_as_much_go_for_the_learners_grade_then_shorter_first() -> None:
    short = {"DC1-K1": 0}
    long_for_grade = fake_module("a", 4, ("DC1-K1", 1))
    short_other_grade = fake_module("b", 1, ("DC1-K1", 1))
    short_for_grade = fake_module("c", 2, ("DC1-K1", 1))
    ranked = rank_modules(
        [long_for_grade, short_other_grade, short_for_grade],
        short,
        1,
        lambda module: module.key != "b",
    )
    assert [(m.key, other) for m, _items, other in ranked] == [
        ("c", False),
        ("a", False),
        ("b", True),
    ]


def passed_learner(flow: Flow, app: Flask) -> int:
    """learner-001 launches C4-T5 and passes its check; their learner id."""
    pass_check(flow, app, token_of(launch(flow, link="rl-1", module_key=C4_T5)), C4_T5)
    return learner_id(app, "learner-001")


def test_the_map_links_the_learners_own_downloads_and_they_hold_only_their_records(
    flow: Flow, app: Flask
) -> None:
    person = passed_learner(flow, app)
    other = token_of(launch(flow, link="rl-1", module_key=C4_T5, sub="learner-002"))
    text = open_map(flow, other).get_data(as_text=True)
    links = re.findall(r'<a href="(/exports/[^"]+)" download>', text)
    assert [link.split("?")[0] for link in links] == [
        "/exports/attainment.csv",
        "/exports/attainment.xlsx",
        "/exports/badges.json",
        "/exports/my-data.json",
    ]
    assert all("person=" not in link for link in links)
    csv = flow.client.get(links[0].replace("&amp;", "&"), base_url=TOOL)
    assert csv.status_code == 200
    rows = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]
    own = learner_id(app, "learner-002")
    assert rows and all(row.split(",")[0] == str(own) for row in rows)
    # The same link with the first learner's id added: refused, nothing of theirs sent.
    for link in links:
        attack = flow.client.get(f"{link.replace('&amp;', '&')}&person={person}", base_url=TOOL)
        assert attack.status_code == 403, link
        assert str(person) not in attack.headers.get("Content-Disposition", "")


def test_a_designer_opening_a_learners_map_links_that_learners_downloads(
    flow: Flow, app: Flask
) -> None:
    person = passed_learner(flow, app)
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    text = open_map(flow, designer, person=str(person)).get_data(as_text=True)
    links = [link.replace("&amp;", "&") for link in re.findall(r'<a href="(/exports/[^"]+)"', text)]
    assert len(links) == 3 and all(f"person={person}" in link for link in links)
    badge = flow.client.get(links[2], base_url=TOOL)
    assert badge.status_code == 200
    assert badge.headers["Content-Disposition"] == f'attachment; filename="badges-{person}.json"'


def test_a_designer_without_a_record_of_their_own_is_offered_no_downloads(flow: Flow) -> None:
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    assert "/exports/" not in open_map(flow, designer).get_data(as_text=True)


@pytest.mark.parametrize("role", ["Instructor", "Administrator"])
def test_a_learners_map_opened_by_staff_says_whose_it_is_in_every_heading(
    flow: Flow, app: Flask, role: str
) -> None:
    learner = graded_launch(flow, "junior")
    pass_check(flow, app, learner, C4_T5)
    person = learner_id(app, "learner-001")
    staff = token_of(launch(flow, link="rl-1", module_key=C4_T5, role=role, sub="staff-1"))
    shown = open_map(flow, staff, person=str(person), lang="en")
    assert shown.status_code == 200, shown.get_data(as_text=True)
    text = shown.get_data(as_text=True)
    # The test platform sends the learner's name 王小明.
    assert "<title>王小明's competency map</title>" in text
    assert "<h1>王小明's competency map <span" in text
    assert "Targets for 王小明's grade: Junior rank" in text
    assert '<span class="legend legend--target">Target for 王小明\'s grade</span>' in text
    assert "Downloads</h2>" in text
    for yours in ("My competency map", "your grade", "My downloads", "Your LMS"):
        assert yours not in text, yours
    chinese = open_map(flow, staff, person=str(person), lang="zh_TW").get_data(as_text=True)
    assert "<h1>王小明的職能地圖 <span" in chinese
    assert "依王小明的官等設定目標：委任" in chinese
    assert '<span class="legend legend--target">王小明官等的目標</span>' in chinese
    assert '<h2 id="downloads-title">下載</h2>' in chinese
    for yours in ("我的", "依您的官等", "您官等的目標"):
        assert yours not in chinese, yours


def test_the_personal_data_download_holds_the_launched_persons_records_and_no_one_elses(
    flow: Flow, app: Flask
) -> None:
    first = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    pass_check(flow, app, first, C4_T5)
    passed_id = next(s["id"] for s in statements(app) if s["verb"]["id"].endswith("/passed"))
    person = learner_id(app, "learner-001")
    second = token_of(launch(flow, link="rl-1", module_key=C4_T5, sub="learner-002"))
    link = re.search(
        r'<a href="(/exports/my-data.json\?[^"]+)" download>',
        open_map(flow, second).get_data(as_text=True),
    )
    assert link and "person=" not in link.group(1)
    url = link.group(1).replace("&amp;", "&")
    mine = flow.client.get(url, base_url=TOOL)
    assert mine.status_code == 200
    assert mine.headers["Content-Disposition"] == 'attachment; filename="personal-data.json"'
    assert mine.headers["Cache-Control"] == "private, no-store"
    document = mine.get_json(force=True)
    assert [account["sub"] for account in document["accounts"]] == ["learner-002"]
    body = mine.get_data(as_text=True)
    assert "learner-001" not in body and passed_id not in body
    # Naming anyone, even oneself, is refused; nothing is sent.
    own = learner_id(app, "learner-002")
    for named in (str(person), str(own)):
        refused = flow.client.get(f"{url}&person={named}", base_url=TOOL)
        assert refused.status_code == 403
        assert "attachment" not in refused.headers.get("Content-Disposition", "")
    # The first learner's own download holds their passed statement.
    first_body = flow.client.get(
        "/exports/my-data.json", query_string={"lt": first}, base_url=TOOL
    ).get_data(as_text=True)
    assert passed_id in first_body
    # A designer's copy is the designer's own, and their view of a learner offers none.
    designer = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor", sub="d-1"))
    theirs = flow.client.get(
        "/exports/my-data.json", query_string={"lt": designer}, base_url=TOOL
    ).get_data(as_text=True)
    assert "learner-001" not in theirs and passed_id not in theirs
    shown = open_map(flow, designer, person=str(person)).get_data(as_text=True)
    assert "my-data.json" not in shown
    assert flow.client.get("/exports/my-data.json", base_url=TOOL).status_code == 401
    refused = flow.client.get(f"{url}&person={own}&lang=zh_TW", base_url=TOOL)
    assert "此下載僅包含您本人的紀錄。" in refused.get_data(as_text=True)
    chinese = open_map(flow, second, lang="zh_TW").get_data(as_text=True)
    assert "本工具保存的我的所有個人資料（JSON）</a>" in chinese
