"""After a knowledge check there is always a way on: the result, a new attempt, and a stale
form's submission explained instead of a raw code; nothing is written by a form whose attempt
has ended, was replaced, or is not the sender's."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.modules import get_module
from plugin.lti.models import GradeOutbox
from plugin.xapi.models import Attempt, OutboxStatement
from tests.support.flows import TOOL, Flow
from tests.support.modules import C4_T5, correct_answers, launch, token_of, verbs

FINISHED_ZH = "您已完成此單元"
CMI5_FAILED = ["launched", "initialized", "answered", "answered", "answered", "completed",
               "failed", "terminated"]  # fmt: skip
CMI5_PASSED = [*CMI5_FAILED[:-2], "passed", "terminated"]


def fail(app: Flask, flow: Flow, token: str) -> TestResponse:
    """Send C4-T5's check with only its first item right (1 of 3, below its 0.8 mastery)."""
    data = correct_answers(app, token)
    with app.extensions["plugin.db"].session_scope() as session:
        for item in get_module(session, C4_T5).check_items[1:]:
            data[f"item_{item.id}"] = [c["key"] for c in item.choices if not c["correct"]][:1]
    return flow.client.post("/lti/module/check", data=data, base_url=TOOL)


def module_page(flow: Flow, token: str, **query: str) -> TestResponse:
    return flow.client.get("/lti/module", query_string={"lt": token, **query}, base_url=TOOL)


def grades(app: Flask) -> list[float]:
    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.scalars(select(GradeOutbox).order_by(GradeOutbox.id))
        return [row.score["scoreGiven"] for row in rows]


def outbox_size(app: Flask) -> int:
    with app.extensions["plugin.db"].session_scope() as session:
        return len(session.scalars(select(OutboxStatement)).all())


def attempts(app: Flask) -> list[tuple[str, str, str, bool]]:
    """(person sub, registration, outcome, open) of every attempt, oldest first."""
    with app.extensions["plugin.db"].session_scope() as session:
        rows = session.scalars(select(Attempt).order_by(Attempt.id))
        return [(a.person_sub, a.registration, a.outcome, a.is_open) for a in rows]


def form_registration(page: TestResponse) -> str:
    match = re.search(r'name="attempt" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "the page has no form bound to an attempt"
    return match.group(1)


def test_a_failed_check_leaves_a_module_page_with_its_result_and_try_again_not_a_live_form(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    result = fail(app, flow, token)
    assert result.status_code == 200
    text = module_page(flow, token).get_data(as_text=True)
    assert "33%" in text and "及格標準：80%" in text  # the score beside the pass mark
    assert "尚未通過" in text
    assert 'action="/lti/module/retry"' in text and "再試一次" in text
    assert 'action="/lti/module/check"' not in text  # Back cannot lead to a live form
    assert FINISHED_ZH not in text  # not finished: it was failed


def test_try_again_starts_a_new_registration_and_passing_it_finishes_the_module(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    first = form_registration(module_page(flow, token))
    assert fail(app, flow, token).status_code == 200
    again = flow.client.post("/lti/module/retry", data={"lt": token}, base_url=TOOL)
    assert again.status_code == 303 and again.headers["Location"].startswith("/lti/module?lt=")
    second = form_registration(module_page(flow, token))
    assert second != first
    passed = flow.client.post("/lti/module/check", data=correct_answers(app, token), base_url=TOOL)
    assert passed.status_code == 200 and FINISHED_ZH in passed.get_data(as_text=True)
    # Each attempt its own registration, each in cmi5 order; the roll-up's assessed
    # statements (no registration) come after each judged attempt.
    by_registration: dict[str, list[str]] = {}
    with app.extensions["plugin.db"].session_scope() as session:
        targets = sorted({row.target for row in session.scalars(select(OutboxStatement))})
        rows = session.scalars(
            select(OutboxStatement)
            .where(OutboxStatement.target == targets[0])
            .order_by(OutboxStatement.id)
        )
        for row in rows:
            registration = row.statement["context"].get("registration")
            if registration:
                verb = row.statement["verb"]["id"].rsplit("/", 1)[1]
                by_registration.setdefault(registration, []).append(verb)
    assert by_registration == {first: CMI5_FAILED, second: CMI5_PASSED}
    assert grades(app) == [33.33, 100.0]  # each attempt's score goes to the gradebook
    text = module_page(flow, token).get_data(as_text=True)
    assert FINISHED_ZH in text and "100%" in text
    assert 'action="/lti/module/check"' not in text and 'action="/lti/module/retry"' not in text


def test_a_resent_check_answers_a_page_with_the_way_on_and_writes_nothing(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    answers = correct_answers(app, token)
    assert fail(app, flow, token).status_code == 200
    before = (outbox_size(app), grades(app), attempts(app))
    stale = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and stale.mimetype == "text/html"
    assert "這次送出的答案未記錄" in text and "已送出過" in text
    assert "attempt_closed" not in text and "問題所在欄位" not in text  # no raw code
    assert 'action="/lti/module/retry"' in text  # the failed attempt can be tried again
    assert f'href="/lti/module?lt={token}"' in text  # and its result seen
    assert (outbox_size(app), grades(app), attempts(app)) == before


def test_the_stale_form_page_speaks_the_launchs_language(flow: Flow, app: Flask) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    answers = correct_answers(app, token)
    module_page(flow, token, lang="en")  # the learner chose English
    assert flow.client.post("/lti/module/check", data=answers, base_url=TOOL).status_code == 200
    stale = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and '<html lang="en"' in text
    assert "These answers were not recorded" in text and "See your result" in text
    assert 'action="/lti/module/retry"' not in text  # passed: nothing to try again


def test_a_form_of_an_attempt_a_newer_launch_replaced_is_refused_with_the_way_on(
    flow: Flow, app: Flask
) -> None:
    old_token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    old_answers = correct_answers(app, old_token)  # the form as the first window shows it
    new_token = token_of(launch(flow, link="rl-1", module_key=C4_T5))  # launched again
    before = (outbox_size(app), grades(app), attempts(app))
    stale = flow.client.post("/lti/module/check", data=old_answers, base_url=TOOL)
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "較新的作答" in text and "前往此單元" in text
    assert (outbox_size(app), grades(app), attempts(app)) == before
    current = flow.client.post(
        "/lti/module/check", data=correct_answers(app, new_token), base_url=TOOL
    )
    assert current.status_code == 200
    assert [(outcome, is_open) for _, _, outcome, is_open in attempts(app)] == [
        ("", True),  # the replaced attempt takes no more steps
        ("passed", False),
    ]


def test_a_learner_cannot_submit_into_another_learners_attempt(flow: Flow, app: Flask) -> None:
    victim = token_of(launch(flow, link="rl-1", module_key=C4_T5, sub="learner-001"))
    attacker = token_of(launch(flow, link="rl-1", module_key=C4_T5, sub="learner-002"))
    victims_registration = correct_answers(app, victim)["attempt"]
    forged = correct_answers(app, attacker) | {"attempt": victims_registration}
    before = (outbox_size(app), grades(app), attempts(app))
    for path in ("/lti/module/check", "/lti/module/complete"):
        answer = flow.client.post(path, data=forged, base_url=TOOL)
        # 409 for the check; completing is refused sooner, as C4-T5 has a check to answer.
        assert answer.status_code == (409 if path.endswith("check") else 400), path
        assert victims_registration not in answer.get_data(as_text=True)
    assert (outbox_size(app), grades(app), attempts(app)) == before
    # With no attempt named, or a made-up one, nothing is written either.
    for registration in ("", "00000000-0000-4000-8000-000000000000"):
        answer = flow.client.post(
            "/lti/module/check", data=forged | {"attempt": registration}, base_url=TOOL
        )
        assert answer.status_code == 409
    assert (outbox_size(app), grades(app), attempts(app)) == before
    # The victim's own attempt is untouched and still theirs to finish.
    mine = flow.client.post("/lti/module/check", data=correct_answers(app, victim), base_url=TOOL)
    assert mine.status_code == 200
    assert [(sub, outcome) for sub, _, outcome, _ in attempts(app)] == [
        ("learner-001", "passed"),
        ("learner-002", ""),
    ]


def test_every_module_page_and_answer_is_not_stored_for_back_and_history(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    answers = correct_answers(app, token)
    for response in (
        module_page(flow, token),
        flow.client.post("/lti/module/check", data=answers, base_url=TOOL),  # the result
        flow.client.post("/lti/module/check", data=answers, base_url=TOOL),  # the stale page
        module_page(flow, token),  # the finished module
    ):
        assert response.headers["Cache-Control"] == "no-store"


def test_focus_moves_to_the_result_by_a_script_the_csp_allows(flow: Flow, app: Flask) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    answers = correct_answers(app, token)
    result = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    stale = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    for page, heading in ((result, "result-title"), (stale, "stale-title")):
        text = page.get_data(as_text=True)
        assert re.search(rf'id="{heading}" tabindex="-1" data-focus-on-load', text)
        assert '<script src="/static/js/focus-result.js"></script>' in text
        assert "<script>" not in text  # no inline script: script-src 'self' only
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = flow.client.get("/static/js/focus-result.js", base_url=TOOL)
    try:
        assert script.status_code == 200 and b"data-focus-on-load" in script.data
    finally:
        script.close()


def test_a_learner_who_launched_before_the_link_had_a_module_gets_a_first_attempt(
    flow: Flow, app: Flask
) -> None:
    learner = token_of(launch(flow, link="rl-empty"))
    designer = token_of(launch(flow, link="rl-empty", role="Instructor", sub="designer-1"))
    bound = flow.client.post("/lti/bind", data={"lt": designer, "module": C4_T5}, base_url=TOOL)
    assert bound.status_code == 303
    page = module_page(flow, learner)
    text = page.get_data(as_text=True)
    assert FINISHED_ZH not in text and 'action="/lti/module/check"' in text
    assert verbs(app) == ["launched", "initialized"]
    data = correct_answers(app, learner)
    assert data["attempt"] == form_registration(page)
    assert flow.client.post("/lti/module/check", data=data, base_url=TOOL).status_code == 200


def test_a_designer_preview_sends_the_check_without_an_attempt_and_records_nothing(
    flow: Flow, app: Flask
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5, role="Instructor",
                            sub="designer-1"))  # fmt: skip
    page = module_page(flow, token)
    assert 'name="attempt"' not in page.get_data(as_text=True)
    answers = {k: v for k, v in correct_answers(app, token).items() if k != "attempt"}
    result = flow.client.post("/lti/module/check", data=answers, base_url=TOOL)
    assert result.status_code == 200
    assert outbox_size(app) == 0 and grades(app) == [] and attempts(app) == []
