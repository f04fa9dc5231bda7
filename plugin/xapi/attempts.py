"""A learner's attempt at a module, and the statements each step emits, in cmi5's order.

Per registration (one attempt): launched, initialized first, then progressed and answered,
at most one completed and one passed/failed, terminated last (cmi5 §9.3, §10.2.1). A step
that would break the order is refused, so no statement sequence can come out wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.errors import PluginError
from plugin.xapi.models import Attempt
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.statements import (
    Answer,
    LearnerContext,
    ReportedAnswer,
    answered_result,
    build_statement,
    completed_result,
    interaction_activity,
    judged_result,
    progress_result,
    reported_activity,
    reported_result,
    terminated_result,
    timestamp_now,
)


class AttemptClosed(PluginError):
    """The attempt has ended (terminated); a new one must be started."""

    code = "attempt_closed"
    status = 409


class StaleForm(AttemptClosed):
    """A form shown for an attempt that is no longer the person's open one."""

    def __init__(self, reason: str, latest: Attempt | None):
        # "closed": the form's attempt has ended (a second submission, Back, a reload);
        # "replaced": a newer attempt started since, or the form named no attempt of theirs.
        super().__init__(
            f"this form's attempt is {reason}", field="attempt", code=f"attempt_{reason}"
        )
        self.reason = reason
        self.latest = latest


@dataclass(frozen=True)
class XapiOptions:
    """Where statements go and what they may say."""

    targets: tuple[str, ...] = ()
    send_names: bool = False
    # The organisation of the learner's launch: its administrators see these statements.
    organisation_id: int | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """A scored knowledge check, as the attempt records it."""

    answers: Sequence[Answer]
    scaled: float
    raw: int
    maximum: int
    passed: bool | None  # None when the module sets no mastery score


class _Emitter:
    """Builds, validates and queues the statements of one learner event."""

    def __init__(self, session: Session, attempt: Attempt, learner: LearnerContext,
                 options: XapiOptions):  # fmt: skip
        self.session = session
        self.attempt = attempt
        self.learner = learner
        self.options = options
        self.moment = timestamp_now()
        self.statements: list[dict[str, Any]] = []

    def add(self, verb: str, **kwargs: Any) -> None:
        self.statements.append(
            build_statement(
                verb,
                self.learner,
                self.attempt.registration,
                moment=self.moment,
                send_names=self.options.send_names,
                **kwargs,
            )
        )

    def flush(self) -> list[dict[str, Any]]:
        enqueue_statements(
            self.session,
            self.statements,
            self.options.targets,
            self.attempt,
            organisation_id=self.options.organisation_id,
        )
        return self.statements


def latest_attempt(session: Session, issuer: str, sub: str, module_key: str) -> Attempt | None:
    """The person's latest attempt at the module, ended or not."""
    return session.scalars(
        select(Attempt)
        .where(
            Attempt.person_issuer == issuer,
            Attempt.person_sub == sub,
            Attempt.module_key == module_key,
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    ).first()


def open_attempt(session: Session, issuer: str, sub: str, module_key: str) -> Attempt | None:
    """The person's latest attempt at the module if it has not ended.

    An older attempt left open (a launch abandoned before a newer one) was replaced by the
    newer one: it takes no more steps, so no form can write into it.
    """
    attempt = latest_attempt(session, issuer, sub, module_key)
    return attempt if attempt is not None and attempt.is_open else None


def attempt_of_form(
    session: Session, issuer: str, sub: str, module_key: str, registration: str
) -> Attempt:
    """The open attempt a form was shown for (its ``registration``), else :class:`StaleForm`.

    Only the person's own latest attempt qualifies: a registration of someone else's attempt,
    or of the person's older one, is "replaced", never looked up on its own.
    """
    latest = latest_attempt(session, issuer, sub, module_key)
    if latest is None or not registration or latest.registration != registration:
        raise StaleForm("replaced", latest)
    if not latest.is_open:
        raise StaleForm("closed", latest)
    return latest


def attempt_by_registration(session: Session, registration: str) -> Attempt | None:
    """The attempt whose statements carry ``registration``, if there is one."""
    return session.scalars(
        select(Attempt).where(Attempt.registration == registration)
    ).one_or_none()


def start_attempt(
    session: Session,
    learner: LearnerContext,
    module_key: str,
    options: XapiOptions,
    *,
    launch_id: str = "",
    registration: str = "",
) -> Attempt:
    """A new attempt and its ``launched`` statement, on ``registration`` when given (a SCORM
    run-time attempt's own), else on a new registration UUID."""
    attempt = Attempt(
        registration=registration or str(uuid.uuid4()),
        person_issuer=learner.issuer,
        person_sub=learner.sub,
        module_key=module_key,
        activity_iri=learner.module_iri,
        launch_id=launch_id,
        started_at=timestamp_now(),
    )
    session.add(attempt)
    session.flush()
    emitter = _Emitter(session, attempt, learner, options)
    emitter.add("launched")
    emitter.flush()
    return attempt


def _ensure_open(attempt: Attempt) -> None:
    if attempt.terminated_at is not None:
        raise AttemptClosed("this attempt has ended; start the module again", field="attempt")


def _initialize(emitter: _Emitter) -> None:
    if emitter.attempt.initialized_at is None:
        emitter.attempt.initialized_at = emitter.moment
        emitter.add("initialized")


def _duration(attempt: Attempt, moment: datetime) -> timedelta:
    start = attempt.initialized_at or attempt.started_at
    return max(moment - start, timedelta(0))


def initialize(
    session: Session, attempt: Attempt, learner: LearnerContext, options: XapiOptions
) -> list[dict[str, Any]]:
    """``initialized`` the first time the learner opens the attempt's module (cmi5 §9.3.2)."""
    _ensure_open(attempt)
    emitter = _Emitter(session, attempt, learner, options)
    _initialize(emitter)
    return emitter.flush()


def record_progress(
    session: Session, attempt: Attempt, learner: LearnerContext, percent: int,
    options: XapiOptions,
) -> list[dict[str, Any]]:  # fmt: skip
    """``progressed`` when the learner gets further than before (0–100, never backwards)."""
    _ensure_open(attempt)
    percent = max(0, min(100, int(percent)))
    emitter = _Emitter(session, attempt, learner, options)
    _initialize(emitter)
    if percent > attempt.progress:
        attempt.progress = percent
        emitter.add("progressed", result=progress_result(percent))
    return emitter.flush()


def record_step(
    session: Session, attempt: Attempt, learner: LearnerContext, options: XapiOptions,
    *, reported: Sequence[ReportedAnswer] = (), verb: str = "",
) -> list[dict[str, Any]]:  # fmt: skip
    """``answered`` for each interaction a SCO ``reported``, then ``verb`` ("suspended" or
    "resumed", ADL's xAPI SCORM profile §5) when given — a step inside an open attempt."""
    if verb not in ("", "suspended", "resumed"):
        raise ValueError(f"not a step inside an attempt: {verb!r}")
    _ensure_open(attempt)
    emitter = _Emitter(session, attempt, learner, options)
    _initialize(emitter)
    _answer_reported(emitter, reported)
    if verb:
        emitter.add(verb)
    return emitter.flush()


def _answer_reported(emitter: _Emitter, reported: Sequence[ReportedAnswer]) -> None:
    for answer in reported:
        emitter.add(
            "answered", object_activity=reported_activity(answer), result=reported_result(answer)
        )


def record_check(
    session: Session, attempt: Attempt, learner: LearnerContext, outcome: CheckOutcome,
    options: XapiOptions, *, reported: Sequence[ReportedAnswer] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """answered for each item (and each interaction a SCO ``reported``), completed, passed or
    failed, then terminated — the attempt ends."""
    _ensure_open(attempt)
    emitter = _Emitter(session, attempt, learner, options)
    _initialize(emitter)
    for answer in outcome.answers:
        emitter.add(
            "answered",
            object_activity=interaction_activity(learner, answer),
            result=answered_result(answer),
        )
    _answer_reported(emitter, reported)
    duration = _duration(attempt, emitter.moment)
    attempt.progress = 100
    attempt.scaled_score = outcome.scaled  # what the learner sees again on the module page
    if attempt.completed_at is None:
        attempt.completed_at = emitter.moment
        emitter.add("completed", result=completed_result(duration))
    if outcome.passed is not None and not attempt.outcome:
        attempt.outcome = "passed" if outcome.passed else "failed"
        emitter.add(
            attempt.outcome,
            result=judged_result(
                outcome.passed, outcome.scaled, outcome.raw, outcome.maximum, duration
            ),
        )
    _terminate(emitter, duration)
    return emitter.flush()


def record_completion(
    session: Session, attempt: Attempt, learner: LearnerContext, options: XapiOptions,
    *, reported: Sequence[ReportedAnswer] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """answered for each interaction a SCO ``reported``, completed (a module without a
    check), then terminated."""
    _ensure_open(attempt)
    emitter = _Emitter(session, attempt, learner, options)
    _initialize(emitter)
    _answer_reported(emitter, reported)
    duration = _duration(attempt, emitter.moment)
    attempt.progress = 100
    if attempt.completed_at is None:
        attempt.completed_at = emitter.moment
        emitter.add("completed", result=completed_result(duration))
    _terminate(emitter, duration)
    return emitter.flush()


def _terminate(emitter: _Emitter, duration: timedelta) -> None:
    emitter.attempt.terminated_at = emitter.moment
    emitter.add("terminated", result=terminated_result(duration))
