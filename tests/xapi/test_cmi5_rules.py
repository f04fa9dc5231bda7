"""The cmi5 §9 rules for an AU's statements: each rule, kept and broken (cmi5 "quartz" text)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from typing import Any

import pytest

from plugin.xapi.cmi5_rules import (
    Accepted,
    Progress,
    Refused,
    Session,
    check_statement,
    merge_context_template,
)

ADL = "http://adlnet.gov/expapi/verbs/"
CMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_ID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
MASTERY = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
LEARNER = {
    "objectType": "Agent",
    "account": {"homePage": "https://platform.example.tw", "name": "opaque-7f3a"},
}
AU = "https://tool.example.tw/cmi5/courses/1/au/intro"
SESSION = Session(
    actor=LEARNER,
    registration=str(uuid.uuid4()),
    activity_id=AU,
    session_id=str(uuid.uuid4()),
    launch_mode="Normal",
    mastery_score=0.8,
    move_on="CompletedAndPassed",
)
DURATION = "PT4M12S"


def statement(verb: str, result: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    """A cmi5 defined statement from the AU, keeping every rule unless a test changes it."""
    categories = [{"id": CMI5}]
    if result and ("success" in result or "completion" in result):
        categories.append({"id": MOVEON})
    built: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": copy.deepcopy(LEARNER),
        "verb": {"id": ADL + verb},
        "object": {"objectType": "Activity", "id": AU},
        "context": {
            "registration": SESSION.registration,
            "contextActivities": {"category": categories},
            "extensions": {SESSION_ID: SESSION.session_id, **context},
        },
        "timestamp": "2026-12-03T10:00:00.000Z",
    }
    if result is not None:
        built["result"] = result
    return built


def allowed(verb: str = "experienced", object_id: str = AU + "/page/2") -> dict[str, Any]:
    """A cmi5 allowed statement: the context template, no cmi5 category."""
    built = statement(verb)
    built["object"]["id"] = object_id
    built["context"]["contextActivities"] = {"grouping": [{"id": "https://publisher.tw/au/1"}]}
    return built


def initialized() -> dict[str, Any]:
    return statement("initialized")


def terminated() -> dict[str, Any]:
    return statement("terminated", {"duration": DURATION})


def completed() -> dict[str, Any]:
    return statement("completed", {"completion": True, "duration": DURATION})


def passed(scaled: float = 0.9) -> dict[str, Any]:
    result = {"success": True, "duration": DURATION, "score": {"scaled": scaled}}
    return statement("passed", result, **{MASTERY: SESSION.mastery_score})


def failed(scaled: float = 0.5) -> dict[str, Any]:
    result = {"success": False, "duration": DURATION, "score": {"scaled": scaled}}
    return statement("failed", result, **{MASTERY: SESSION.mastery_score})


def accept_all(
    statements: list[dict[str, Any]], progress: Progress | None = None, session: Session = SESSION
) -> Progress:
    """Feed statements in order; each must be accepted; the progress after the last."""
    progress = progress or Progress()
    for sent in statements:
        verdict = check_statement(session, progress, sent)
        assert isinstance(verdict, Accepted), verdict
        progress = verdict.progress
    return progress


def refusal(sent: Any, progress: Progress, session: Session = SESSION) -> Refused:
    verdict = check_statement(session, progress, sent)
    assert isinstance(verdict, Refused), verdict
    return verdict


def in_session() -> Progress:
    """Progress after an initialized statement in a fresh registration."""
    return accept_all([initialized()])


def test_actor_must_be_the_launched_learners_account() -> None:
    accept_all([initialized()])
    other = initialized()
    other["actor"]["account"]["name"] = "someone-else"
    assert refusal(other, Progress()).path == "actor.account"
    by_mail = initialized()
    by_mail["actor"] = {"objectType": "Agent", "mbox": "mailto:learner@example.tw"}
    assert refusal(by_mail, Progress()).path == "actor.account"
    group = initialized()
    group["actor"]["objectType"] = "Group"
    assert refusal(group, Progress()).path == "actor"


def test_registration_must_be_the_launch_registration() -> None:
    other = initialized()
    other["context"]["registration"] = str(uuid.uuid4())
    assert refusal(other, Progress()).path == "context.registration"
    allowed_other = allowed()
    del allowed_other["context"]["registration"]
    assert refusal(allowed_other, in_session()).path == "context.registration"


def test_session_id_must_be_the_launch_session_id_in_every_statement() -> None:
    path = f'context.extensions["{SESSION_ID}"]'
    other = initialized()
    other["context"]["extensions"][SESSION_ID] = str(uuid.uuid4())
    assert refusal(other, Progress()).path == path
    without = allowed()
    del without["context"]["extensions"][SESSION_ID]
    assert refusal(without, in_session()).path == path


def test_object_of_a_cmi5_defined_statement_must_be_the_au() -> None:
    elsewhere = initialized()
    elsewhere["object"]["id"] = "https://publisher.tw/au/1"
    assert refusal(elsewhere, Progress()).path == "object.id"
    # cmi5 allowed statements may be about anything (§7.1.3).
    accept_all([allowed(object_id="https://publisher.tw/question/3")], in_session())


def test_initialized_must_be_the_first_statement_of_the_session() -> None:
    assert refusal(completed(), Progress()).code == "not_initialized"
    assert refusal(allowed(), Progress()).code == "not_initialized"
    accept_all([initialized(), allowed(), completed()])


def test_initialized_only_once_per_session() -> None:
    assert refusal(initialized(), in_session()).code == "verb_repeated"


def test_nothing_may_follow_terminated() -> None:
    ended = accept_all([initialized(), terminated()])
    assert ended.terminated
    for late in (allowed(), completed(), terminated()):
        assert refusal(late, ended).code == "session_terminated"


def test_a_new_session_starts_with_initialized_again() -> None:
    ended = accept_all([initialized(), terminated()])
    fresh = ended.next_session()
    assert refusal(allowed(), fresh).code == "not_initialized"
    accept_all([initialized(), terminated()], fresh)


def test_completed_at_most_once_per_registration() -> None:
    first = accept_all([initialized(), completed(), terminated()])
    later = accept_all([initialized()], first.next_session())
    assert refusal(completed(), later).code == "completed_again"


@pytest.mark.parametrize("mode", ["Browse", "Review"])
def test_browse_and_review_sessions_send_no_completed_passed_or_failed(mode: str) -> None:
    session = replace(SESSION, launch_mode=mode)
    accept_all([initialized(), allowed(), terminated()], session=session)
    started = accept_all([initialized()], session=session)
    for judged in (completed(), passed(), failed()):
        assert refusal(judged, started, session).code == "launch_mode"


def test_passed_at_most_once_per_registration() -> None:
    first = accept_all([initialized(), passed(), terminated()])
    later = accept_all([initialized()], first.next_session())
    assert refusal(passed(), later).code == "passed_again"


def test_failed_may_not_follow_passed_in_the_registration() -> None:
    first = accept_all([initialized(), passed(), terminated()])
    later = accept_all([initialized()], first.next_session())
    assert refusal(failed(), later).code == "failed_after_passed"


def test_failed_may_be_followed_by_failed_or_passed_in_later_sessions() -> None:
    # §9.3 forbids only a failed after a passed, and more than one passed, per registration.
    first = accept_all([initialized(), failed(), terminated()])
    second = accept_all([initialized(), failed(), terminated()], first.next_session())
    accept_all([initialized(), passed(), terminated()], second.next_session())


def test_a_session_has_at_most_one_of_passed_and_failed() -> None:
    after_failed = accept_all([initialized(), failed()])
    assert refusal(passed(), after_failed).code == "passed_and_failed"
    assert refusal(failed(), after_failed).code == "verb_repeated"


def test_passed_score_must_reach_the_mastery_score() -> None:
    accept_all([initialized(), passed(scaled=0.8)])
    broken = refusal(passed(scaled=0.79), in_session())
    assert (broken.code, broken.path) == ("below_mastery", "result.score.scaled")


def test_failed_score_must_stay_below_the_mastery_score() -> None:
    accept_all([initialized(), failed(scaled=0.79)])
    broken = refusal(failed(scaled=0.8), in_session())
    assert (broken.code, broken.path) == ("mastery_reached", "result.score.scaled")


def test_without_a_mastery_score_any_scaled_score_may_pass_or_fail() -> None:
    session = replace(SESSION, mastery_score=None)
    low = passed(scaled=0.1)
    del low["context"]["extensions"][MASTERY]
    accept_all([initialized(), low], session=session)


def test_a_judgement_on_the_mastery_score_carries_that_score() -> None:
    missing = passed()
    del missing["context"]["extensions"][MASTERY]
    broken = refusal(missing, in_session())
    assert broken.path == f'context.extensions["{MASTERY}"]'
    changed = passed()
    changed["context"]["extensions"][MASTERY] = 0.5
    assert refusal(changed, in_session()).code == "mastery_score_mismatch"
    # A passed without a score was not judged on the mastery score (§9.3.4: "if ... contains").
    unscored = passed()
    del unscored["result"]["score"]
    del unscored["context"]["extensions"][MASTERY]
    accept_all([unscored], in_session())


def test_scaled_score_lies_between_0_and_1() -> None:
    assert refusal(passed(scaled=1.5), in_session()).code == "scaled_invalid"
    accept_all([passed(scaled=1)], in_session())


def test_raw_score_comes_with_min_and_max() -> None:
    with_range = passed()
    with_range["result"]["score"].update({"raw": 9, "min": 0, "max": 10})
    accept_all([with_range], in_session())
    bare = passed()
    bare["result"]["score"]["raw"] = 9
    assert refusal(bare, in_session()).path == "result.score"


def test_score_only_on_passed_and_failed() -> None:
    scored = completed()
    scored["result"]["score"] = {"scaled": 0.9}
    assert refusal(scored, in_session()).path == "result.score"


def test_passed_carries_success_true_and_failed_success_false() -> None:
    wrong = passed()
    wrong["result"]["success"] = False
    assert refusal(wrong, in_session()).path == "result.success"
    wrong = failed()
    wrong["result"]["success"] = True
    assert refusal(wrong, in_session()).path == "result.success"
    absent = failed()
    del absent["result"]["success"]
    assert refusal(absent, in_session()).path == "result.success"


def test_completed_must_not_carry_success() -> None:
    judged = statement("completed", {"completion": True, "success": True, "duration": DURATION})
    broken = refusal(judged, in_session())
    assert (broken.code, broken.path) == ("success_misplaced", "result.success")


def test_completion_true_only_on_completed() -> None:
    not_done = statement("completed", {"completion": False, "duration": DURATION})
    assert refusal(not_done, in_session()).path == "result.completion"
    ending = statement("terminated", {"completion": True, "duration": DURATION})
    assert refusal(ending, in_session()).path == "result.completion"


@pytest.mark.parametrize("kind", ["completed", "passed", "failed", "terminated"])
def test_duration_required_on_completed_passed_failed_and_terminated(kind: str) -> None:
    sent = {"completed": completed, "passed": passed, "failed": failed, "terminated": terminated}
    accept_all([sent[kind]()], in_session())
    missing = sent[kind]()
    del missing["result"]["duration"]
    assert refusal(missing, in_session()).path == "result.duration"
    malformed = sent[kind]()
    malformed["result"]["duration"] = "4 minutes"
    assert refusal(malformed, in_session()).path == "result.duration"


def test_a_cmi5_verb_about_the_au_needs_the_cmi5_category() -> None:
    bare = completed()
    bare["context"]["contextActivities"]["category"] = [{"id": MOVEON}]
    broken = refusal(bare, in_session())
    assert (broken.code, broken.path) == (
        "cmi5_category_missing",
        "context.contextActivities.category",
    )
    # The same verb about a part of the AU is a cmi5 allowed statement (§7.1.3).
    accept_all([allowed("completed", AU + "/quiz/1")], in_session())


def test_moveon_category_exactly_on_statements_with_success_or_completion() -> None:
    without = completed()
    without["context"]["contextActivities"]["category"] = [{"id": CMI5}]
    assert refusal(without, in_session()).code == "moveon_category"
    extra = terminated()
    extra["context"]["contextActivities"]["category"].append({"id": MOVEON})
    assert refusal(extra, in_session()).code == "moveon_category"
    on_allowed = allowed()
    on_allowed["context"]["contextActivities"]["category"] = [{"id": MOVEON}]
    assert refusal(on_allowed, in_session()).code == "moveon_category_misplaced"


def test_cmi5_allowed_statements_only_between_initialized_and_terminated() -> None:
    assert refusal(allowed(), Progress()).code == "not_initialized"
    progress = accept_all([initialized(), allowed(), allowed("answered")])
    ended = accept_all([terminated()], progress)
    assert refusal(allowed(), ended).code == "session_terminated"


def test_lms_verbs_are_not_for_the_au() -> None:
    for verb in ("launched", "satisfied", "abandoned", "waived"):
        assert refusal(statement(verb), in_session()).code == "verb_not_for_au"


def test_an_au_may_not_void_statements() -> None:
    voiding = allowed("voided")
    voiding["object"] = {"objectType": "StatementRef", "id": str(uuid.uuid4())}
    assert refusal(voiding, in_session()).code == "voiding_refused"


def test_every_statement_carries_a_timestamp() -> None:
    untimed = initialized()
    del untimed["timestamp"]
    assert refusal(untimed, Progress()).path == "timestamp"


def test_a_statement_must_be_an_object() -> None:
    assert refusal(["initialized"], Progress()).code == "not_an_object"


def test_a_refusal_is_a_403_naming_the_path() -> None:
    error = refusal(passed(scaled=0.1), in_session()).error()
    assert error.status == 403
    assert error.to_dict()["field"] == "result.score.scaled"
    assert "result.score.scaled" in error.message


def test_progress_survives_being_stored() -> None:
    progress = accept_all([initialized(), completed(), passed()])
    assert Progress.from_dict(progress.to_dict()) == progress


def test_context_template_fills_gaps_without_overwriting_the_au() -> None:
    template = {
        "registration": SESSION.registration,
        "contextActivities": {
            "grouping": [{"id": "https://publisher.tw/au/1"}],
            "category": {"id": CMI5},
        },
        "extensions": {SESSION_ID: SESSION.session_id, "https://tool.example.tw/x": "lms"},
    }
    sent = completed()
    sent["context"]["extensions"]["https://tool.example.tw/x"] = "au"
    sent["context"]["language"] = "zh-TW"
    before = copy.deepcopy(sent)
    merged = merge_context_template(sent, template)
    assert sent == before
    context = merged["context"]
    assert context["extensions"]["https://tool.example.tw/x"] == "au"
    assert context["extensions"][SESSION_ID] == SESSION.session_id
    assert context["language"] == "zh-TW"
    assert context["contextActivities"]["grouping"] == [{"id": "https://publisher.tw/au/1"}]
    assert [item["id"] for item in context["contextActivities"]["category"]] == [CMI5, MOVEON]
    bare = merge_context_template({"verb": {"id": ADL + "experienced"}}, template)
    assert bare["context"]["registration"] == SESSION.registration
