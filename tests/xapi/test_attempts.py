"""Attempts emit statements in cmi5's order, validated, into the outbox — or nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.xapi import attempts as attempts_module
from plugin.xapi.attempts import (
    AttemptClosed,
    CheckOutcome,
    StaleForm,
    XapiOptions,
    attempt_of_form,
    initialize,
    open_attempt,
    record_check,
    record_completion,
    record_progress,
    start_attempt,
)
from plugin.xapi.models import Attempt, OutboxStatement
from plugin.xapi.outbox import UNASSIGNED_TARGET
from plugin.xapi.validation import InvalidStatement
from tests.support.statements import ANSWER, LEARNER

OPTIONS = XapiOptions(targets=("lrs-a", "lrs-b"))
PASS = CheckOutcome(answers=[ANSWER], scaled=1.0, raw=1, maximum=1, passed=True)


def verbs(session: Session, attempt: Attempt, target: str = "lrs-a") -> list[str]:
    rows = session.scalars(
        select(OutboxStatement)
        .where(OutboxStatement.attempt_id == attempt.id, OutboxStatement.target == target)
        .order_by(OutboxStatement.id)
    )
    return [row.verb.rsplit("/", 1)[1] for row in rows]


def test_a_full_attempt_emits_statements_in_cmi5_order(session: Session) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", OPTIONS, launch_id="launch-1")
    initialize(session, attempt, LEARNER, OPTIONS)
    record_progress(session, attempt, LEARNER, 50, OPTIONS)
    record_check(session, attempt, LEARNER, PASS, OPTIONS)
    assert verbs(session, attempt) == [
        "launched", "initialized", "progressed", "answered", "completed", "passed", "terminated",
    ]  # fmt: skip
    assert verbs(session, attempt, "lrs-b") == verbs(session, attempt)
    rows = session.scalars(select(OutboxStatement)).all()
    assert {row.statement["context"]["registration"] for row in rows} == {attempt.registration}
    assert attempt.outcome == "passed" and attempt.terminated_at is not None
    assert open_attempt(session, LEARNER.issuer, LEARNER.sub, "C4-T5") is None


def test_initialized_comes_first_even_when_the_learner_skips_straight_to_the_check(
    session: Session,
) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    record_check(
        session, attempt, LEARNER,
        CheckOutcome(answers=[ANSWER], scaled=0.0, raw=0, maximum=1, passed=False), OPTIONS,
    )  # fmt: skip
    assert verbs(session, attempt) == [
        "launched", "initialized", "answered", "completed", "failed", "terminated",
    ]  # fmt: skip


def test_nothing_follows_terminated(session: Session) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    record_completion(session, attempt, LEARNER, OPTIONS)
    before = verbs(session, attempt)
    for step in (
        lambda: record_check(session, attempt, LEARNER, PASS, OPTIONS),
        lambda: record_completion(session, attempt, LEARNER, OPTIONS),
        lambda: record_progress(session, attempt, LEARNER, 100, OPTIONS),
        lambda: initialize(session, attempt, LEARNER, OPTIONS),
    ):
        with pytest.raises(AttemptClosed):
            step()
    assert (
        verbs(session, attempt) == before == ["launched", "initialized", "completed", "terminated"]
    )


def test_progress_only_moves_forward_and_initialized_is_sent_once(session: Session) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    initialize(session, attempt, LEARNER, OPTIONS)
    initialize(session, attempt, LEARNER, OPTIONS)
    for percent in (25, 25, 10, 75, 150):
        record_progress(session, attempt, LEARNER, percent, OPTIONS)
    assert verbs(session, attempt) == [
        "launched", "initialized", "progressed", "progressed", "progressed",
    ]  # fmt: skip
    rows = session.scalars(
        select(OutboxStatement)
        .where(OutboxStatement.target == "lrs-a")
        .order_by(OutboxStatement.id)
    ).all()
    progress = [
        r.statement["result"]["extensions"]["https://w3id.org/xapi/cmi5/result/extensions/progress"]
        for r in rows
        if r.verb.endswith("progressed")
    ]
    assert progress == [25, 75, 100]


def test_each_attempt_is_a_new_registration(session: Session) -> None:
    first = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    record_completion(session, first, LEARNER, OPTIONS)
    second = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    assert first.registration != second.registration
    assert open_attempt(session, LEARNER.issuer, LEARNER.sub, "C4-T5") is second


def test_a_newer_attempt_replaces_an_older_one_left_open(session: Session) -> None:
    older = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    newer = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    record_completion(session, newer, LEARNER, OPTIONS)
    # The older attempt was never ended, but only the latest counts: no form reaches it.
    assert open_attempt(session, LEARNER.issuer, LEARNER.sub, "C4-T5") is None
    with pytest.raises(StaleForm) as refused:
        attempt_of_form(session, LEARNER.issuer, LEARNER.sub, "C4-T5", older.registration)
    assert (refused.value.reason, refused.value.latest) == ("replaced", newer)
    assert refused.value.status == 409 and isinstance(refused.value, AttemptClosed)


def test_a_form_names_its_attempt_and_only_the_persons_open_latest_one_is_found(
    session: Session,
) -> None:
    mine = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    assert attempt_of_form(session, LEARNER.issuer, LEARNER.sub, "C4-T5", mine.registration) is mine
    for who, registration in (
        ("someone-else", mine.registration),  # another person naming my registration
        (LEARNER.sub, ""),  # no registration at all
        (LEARNER.sub, "not-a-registration"),
    ):
        with pytest.raises(StaleForm) as refused:
            attempt_of_form(session, LEARNER.issuer, who, "C4-T5", registration)
        assert refused.value.reason == "replaced"
    record_completion(session, mine, LEARNER, OPTIONS)
    with pytest.raises(StaleForm) as closed:
        attempt_of_form(session, LEARNER.issuer, LEARNER.sub, "C4-T5", mine.registration)
    assert (closed.value.reason, closed.value.latest) == ("closed", mine)


def test_an_invalid_statement_means_nothing_of_the_event_is_written(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", OPTIONS)
    session.commit()
    real = attempts_module.build_statement

    def sometimes_broken(verb: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        statement = real(verb, *args, **kwargs)
        if verb == "passed":
            statement["result"]["score"]["scaled"] = 1.5  # a builder bug
        return statement

    monkeypatch.setattr(attempts_module, "build_statement", sometimes_broken)
    with pytest.raises(InvalidStatement, match="scaled"):
        record_check(session, attempt, LEARNER, PASS, OPTIONS)
    session.rollback()
    assert verbs(session, attempt) == ["launched"]
    assert session.get(Attempt, attempt.id).terminated_at is None


def test_without_a_configured_lrs_statements_wait_unassigned(session: Session) -> None:
    attempt = start_attempt(session, LEARNER, "C4-T5", XapiOptions(targets=()))
    assert verbs(session, attempt, UNASSIGNED_TARGET) == ["launched"]
