"""What a resource-link launch opens: the placed module, its check, the queued grade."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.framework import get_framework
from plugin.competencies.models import Placement
from plugin.competencies.modules import create_module
from plugin.lti.models import GradeOutbox
from tests.support.app import IRI_BASE
from tests.support.flows import TOOL, Flow
from tests.support.modules import LINE_ITEM, launch, registration_of, token_of


@pytest.fixture
def quiz_key(app: Flask) -> str:
    """A module with a two-item knowledge check and a mastery score of 0.5."""
    choices = [
        {"key": "a", "text_zh": "正確", "text_en": "Right", "correct": True,
         "feedback_zh": "對", "feedback_en": "Yes"},
        {"key": "b", "text_zh": "錯誤", "text_en": "Wrong", "correct": False,
         "feedback_zh": "再想想", "feedback_en": "Think again"},
    ]  # fmt: skip
    data = {
        "title_zh": "個資保護小測驗",
        "title_en": "Personal data quiz",
        "hours": 1,
        "content_markdown_zh": "## 個人資料保護法\n\n蒐集前先告知。",
        "content_markdown_en": "## Personal Data Protection Act\n\nTell people before collecting.",
        "mastery_score": 0.5,
        "check_items": [
            {"prompt_zh": "第一題", "prompt_en": "Q1", "choices": choices},
            {"prompt_zh": "第二題", "prompt_en": "Q2", "choices": choices},
        ],
    }
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        return create_module(session, data, framework, IRI_BASE).key


def outbox(app: Flask) -> list[GradeOutbox]:
    with app.extensions["plugin.db"].session_scope() as session:
        return list(session.scalars(select(GradeOutbox).order_by(GradeOutbox.id)))


def _create(app: Flask, **fields: Any) -> str:
    """A half-hour module of the default catalog with ``fields``; its key."""
    with app.extensions["plugin.db"].session_scope() as session:
        data = {"hours": 0.5, **fields}
        return create_module(session, data, get_framework(session), IRI_BASE).key


def test_link_made_by_deep_linking_opens_its_module(flow: Flow, app: Flask, quiz_key: str) -> None:
    response = launch(flow, link="rl-quiz", module_key=quiz_key)
    assert response.headers["Location"].startswith("/lti/module?lt=")
    page = flow.land(response).get_data(as_text=True)
    assert "個資保護小測驗" in page and "<h2>個人資料保護法</h2>" in page
    assert 'name="item_' in page and "數位職能入門" in page
    with app.extensions["plugin.db"].session_scope() as session:
        placement = session.scalars(select(Placement)).one()
        assert (placement.resource_link_id, placement.module.key) == ("rl-quiz", quiz_key)


def answer_all(flow: Flow, app: Flask, token: str, choice: str) -> TestResponse:
    page = flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)
    names = sorted(set(part.split('"')[0] for part in page.get_data(as_text=True).split(
        'name="item_')[1:]))  # fmt: skip
    attempt = page.get_data(as_text=True).split('name="attempt" value="', 1)[1].split('"', 1)[0]
    data = {"lt": token, "attempt": attempt} | {f"item_{name}": choice for name in names}
    return flow.client.post("/lti/module/check", data=data, base_url=TOOL)


def test_passing_the_check_queues_a_full_score_for_the_gradebook(
    flow: Flow, app: Flask, quiz_key: str
) -> None:
    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key))
    result = answer_all(flow, app, token, "a")
    text = result.get_data(as_text=True)
    assert result.status_code == 200 and "100%" in text
    # The answer to a POST offers no language links: its address does not answer GET (405).
    assert "toolbar__langs" not in text
    page = flow.client.get("/lti/module", query_string={"lt": token}, base_url=TOOL)
    assert "toolbar__langs" in page.get_data(as_text=True)
    (row,) = outbox(app)
    assert row.line_item_url == LINE_ITEM and row.user_sub == "learner-001"
    assert row.score["scoreGiven"] == 100.0 and row.score["scoreMaximum"] == 100.0
    assert row.score["activityProgress"] == "Completed"
    assert row.score["gradingProgress"] == "FullyGraded"
    assert row.status == "pending" and row.resource_id == quiz_key


def test_failing_the_check_queues_the_low_score(flow: Flow, app: Flask, quiz_key: str) -> None:
    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key))
    text = answer_all(flow, app, token, "b").get_data(as_text=True)
    assert "再想想" in text  # the feedback of the chosen answer
    assert [row.score["scoreGiven"] for row in outbox(app)] == [0.0]


@pytest.mark.parametrize("answer", ["", "z"], ids=["unanswered", "forged_choice"])
def test_incomplete_or_forged_answers_are_refused_and_nothing_is_queued(
    flow: Flow, app: Flask, quiz_key: str, answer: str
) -> None:
    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key))
    response = answer_all(flow, app, token, answer)
    assert response.status_code == 400
    assert "question 1" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_no_grade_is_queued_when_the_platform_offers_no_grade_service(
    flow: Flow, app: Flask, quiz_key: str
) -> None:
    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key, grades=False))
    assert answer_all(flow, app, token, "a").status_code == 200
    assert outbox(app) == []


def test_finishing_a_module_without_a_check_queues_a_completion(flow: Flow, app: Flask) -> None:
    key = _create(app, title_zh="閱讀教材", title_en="Reading", content_markdown_zh="讀")
    token = token_of(launch(flow, link="rl-reading", module_key=key))
    data = {"lt": token, "attempt": registration_of(app, token, key)}
    response = flow.client.post("/lti/module/complete", data=data, base_url=TOOL)
    assert response.status_code == 200
    assert [row.score["scoreGiven"] for row in outbox(app)] == [100.0]


def test_unplaced_link_tells_a_learner_it_is_not_ready(flow: Flow) -> None:
    response = launch(flow, link="rl-empty")
    assert response.headers["Location"].startswith("/lti/unbound?lt=")
    page = flow.land(response)
    assert page.status_code == 200
    assert "尚未設定" in page.get_data(as_text=True)
    bind = flow.client.post(
        "/lti/bind",
        data={"lt": token_of(response), "module": "tw-civil-service-dc.C1-T1"},
        base_url=TOOL,
    )
    assert bind.status_code == 403


def test_designer_binds_an_unplaced_link_and_learners_then_get_the_module(
    flow: Flow, app: Flask
) -> None:
    designer = launch(flow, link="rl-empty", role="Instructor", sub="designer-1")
    picker = flow.land(designer).get_data(as_text=True)
    assert 'name="module"' in picker
    bound = flow.client.post(
        "/lti/bind",
        data={"lt": token_of(designer), "module": "tw-civil-service-dc.C6-T2"},
        base_url=TOOL,
    )
    assert bound.status_code == 303
    learner = launch(flow, link="rl-empty")
    assert learner.headers["Location"].startswith("/lti/module?lt=")
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Placement)).one().module
        assert module.key == "tw-civil-service-dc.C6-T2"
        title = module.title_zh
    assert f">{title}</h1>" in flow.land(learner).get_data(as_text=True)


def test_binding_an_unknown_module_is_refused(flow: Flow) -> None:
    designer = launch(flow, link="rl-empty", role="Instructor", sub="designer-1")
    response = flow.client.post(
        "/lti/bind", data={"lt": token_of(designer), "module": "no-such"}, base_url=TOOL
    )
    assert response.status_code == 404


def test_finishing_is_refused_while_the_module_has_a_check(
    flow: Flow, app: Flask, quiz_key: str
) -> None:
    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key))
    response = flow.client.post("/lti/module/complete", data={"lt": token}, base_url=TOOL)
    assert response.status_code == 400
    assert outbox(app) == []


def test_learner_reads_the_content_in_the_locale_or_else_the_other_language(
    flow: Flow, app: Flask, quiz_key: str
) -> None:
    def page(token: str, lang: str) -> str:
        query = {"lt": token, "lang": lang}
        response = flow.client.get("/lti/module", query_string=query, base_url=TOOL)
        return response.get_data(as_text=True)

    token = token_of(launch(flow, link="rl-quiz", module_key=quiz_key))
    chinese, english = page(token, "zh_TW"), page(token, "en")
    assert "<h2>個人資料保護法</h2>" in chinese and "Personal Data Protection Act" not in chinese
    assert "<h2>Personal Data Protection Act</h2>" in english and "個人資料保護法" not in english

    key = _create(
        app, title_zh="只有中文", title_en="Chinese only", content_markdown_zh="## 只有中文的內容"
    )
    only_chinese = page(token_of(launch(flow, link="rl-zh-only", module_key=key)), "en")
    assert "<h2>只有中文的內容</h2>" in only_chinese  # the other language rather than nothing
    assert "This module has no content yet." not in only_chinese
