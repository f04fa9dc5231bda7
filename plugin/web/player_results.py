"""A SCORM run-time attempt's statements, and its result when it finishes: evidence and the
grade, through the same path as the tool's own modules (plugin/attainment.py, the AGS outbox).

Its statements follow ADL's xAPI SCORM profile (https://w3id.org/xapi/scorm): all carry the
run-time attempt's own registration and the profile in their category. launched and
initialized when a launch starts the attempt, resumed when a launch takes it up again,
``answered`` (a cmi.interaction) as each interaction is committed answered, suspended when a
SCO's final commit leaves with exit = suspend, then completed, passed/failed and terminated
when it finishes (the profile's temporal model, §5). Every statement goes through the
validated outbox in the commit's transaction.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import app_state
from plugin.attainment import record_module_evidence, record_objective_evidence
from plugin.competencies.models import Module
from plugin.content.interactions import ReportedInteraction, reported_interactions
from plugin.content.models import PackageItem
from plugin.content.rollup import ModuleOutcome, module_outcome
from plugin.content.runtime import resumes, sco_items, sco_state
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.lti.models import Launch
from plugin.web.learning import learner_context, xapi_options
from plugin.web.module_grades import SCORE_MAXIMUM, queue_grade
from plugin.xapi.attempts import (
    CheckOutcome,
    XapiOptions,
    attempt_by_registration,
    initialize,
    record_check,
    record_completion,
    record_step,
    start_attempt,
)
from plugin.xapi.learning import records_statements
from plugin.xapi.models import Attempt
from plugin.xapi.statements import LearnerContext, ReportedAnswer
from plugin.xapi.vocabulary import SCORM_PROFILE


def _states(session: Session, attempt: RuntimeAttempt) -> list[ScoState]:
    return list(session.scalars(select(ScoState).where(ScoState.attempt_id == attempt.id)))


def attempt_outcome(session: Session, attempt: RuntimeAttempt) -> ModuleOutcome:
    """The roll-up of the attempt's SCOs to the module."""
    version = attempt.version
    return module_outcome(version.scorm_version, version.mastery_score, _states(session, attempt))


def _answer(module: Module, reported: ReportedInteraction) -> ReportedAnswer:
    # One activity per SCO and interaction id, stable across attempts and package versions.
    sco, identifier = quote(reported.sco, safe=""), quote(reported.identifier, safe="")
    return ReportedAnswer(
        activity_id=f"{module.activity_iri}/scos/{sco}/interactions/{identifier}",
        interaction_type=reported.interaction_type,
        correct_patterns=reported.correct_patterns,
        response=reported.response,
        success=reported.success,
    )


def _unstated(
    scorm_version: str, module: Module, state: ScoState, *, answered_only: bool
) -> list[ReportedAnswer]:
    """The SCO's interactions not yet stated, each id once, marked stated on ``state``; with
    ``answered_only``, only those with a response or a result (one committed before the
    learner answers it waits, so its answer is what gets stated)."""
    stated = set(state.stated_interactions or [])
    found: list[ReportedAnswer] = []
    for reported in _pending(scorm_version, state, answered_only=answered_only):
        if reported.identifier in stated:
            continue  # two entries with one id: the first is stated
        stated.add(reported.identifier)
        found.append(_answer(module, reported))
    if found:
        state.stated_interactions = sorted(stated)  # a new list: the JSON column sees the change
    return found


def _pending(
    scorm_version: str, state: ScoState, *, answered_only: bool
) -> list[ReportedInteraction]:
    """The SCO's interactions not stated yet (with ``answered_only``, only those with a
    response or a result), read from the stored row alone."""
    stated = set(state.stated_interactions or [])
    return [
        reported
        for reported in reported_interactions(scorm_version, [state.item_identifier], [state])
        if reported.identifier not in stated
        and not (answered_only and reported.response is None and reported.success is None)
    ]


@dataclasses.dataclass(frozen=True)
class _Statements:
    """Where a run-time attempt's statements go: its statement attempt, on its registration."""

    attempt: Attempt
    learner: LearnerContext
    options: XapiOptions
    launch: Launch
    module: Module


def _statements(session: Session, runtime: RuntimeAttempt) -> _Statements | None:
    """The statement attempt whose registration is the run-time attempt's own, started
    (launched, initialized) the first time; None for previews or when it has ended."""
    launch = session.get(Launch, runtime.launch_id)
    module = session.get(Module, runtime.module_id)
    if launch is None or module is None or not records_statements(launch):
        return None
    learner = dataclasses.replace(learner_context(launch, module), profiles=(SCORM_PROFILE,))
    options = xapi_options(launch)
    attempt = attempt_by_registration(session, runtime.registration)
    if attempt is None:
        attempt = start_attempt(
            session,
            learner,
            module.key,
            options,
            launch_id=launch.id,
            registration=runtime.registration,
        )
        initialize(session, attempt, learner, options)
    if not attempt.is_open:
        return None
    return _Statements(attempt, learner, options, launch, module)


def record_opened(session: Session, runtime: RuntimeAttempt) -> None:
    """launched and initialized when a learner's launch starts the attempt; ``resumed`` when
    it takes up an unfinished one where a SCO left part-way (it enters with entry=resume)."""
    known = attempt_by_registration(session, runtime.registration) is not None
    target = _statements(session, runtime)
    if target is None or not known:
        return
    if any(resumes(sco_state(session, runtime, item.identifier)) for item in sco_items(runtime)):
        record_step(session, target.attempt, target.learner, target.options, verb="resumed")


def record_committed(
    session: Session, runtime: RuntimeAttempt, item: PackageItem, *, final: bool
) -> None:
    """After a stored commit: ``answered`` for each interaction the SCO answered that was not
    stated yet, then ``suspended`` when its final commit left with exit = suspend."""
    state = sco_state(session, runtime, item.identifier)
    if state is None:
        return
    suspends = final and state.exit == "suspend"
    if not suspends and not _pending(runtime.version.scorm_version, state, answered_only=True):
        return  # most commits (a bookmark, suspend data, time) state nothing: no more queries
    target = _statements(session, runtime)
    if target is None:
        return
    reported = _unstated(runtime.version.scorm_version, target.module, state, answered_only=True)
    if reported or suspends:
        verb = "suspended" if suspends else ""
        record_step(
            session, target.attempt, target.learner, target.options, reported=reported, verb=verb
        )


def _remaining(session: Session, runtime: RuntimeAttempt, module: Module) -> list[ReportedAnswer]:
    """The interactions not stated yet, SCO by SCO in the organization's order."""
    states = {state.item_identifier: state for state in _states(session, runtime)}
    version = runtime.version
    return [
        answer
        for item in version.scos
        if item.identifier in states
        for answer in _unstated(
            version.scorm_version, module, states[item.identifier], answered_only=False
        )
    ]


def record_finished(session: Session, attempt: RuntimeAttempt) -> ModuleOutcome | None:
    """Statements (answered for each interaction not stated yet, completed, passed or failed
    with the score, terminated), evidence for the module's tags and the grade for a learner's
    finished attempt; None for previews."""
    target = _statements(session, attempt)
    if target is None:
        return None
    launch, module = target.launch, target.module
    outcome = attempt_outcome(session, attempt)
    reported = _remaining(session, attempt, module)
    if outcome.scaled is None:
        emitted = record_completion(
            session, target.attempt, target.learner, target.options, reported=reported
        )
        grade = 1.0  # completed without a score, as a module without a check
    else:
        judged = CheckOutcome(
            answers=[],
            scaled=outcome.scaled,
            raw=round(outcome.scaled * SCORE_MAXIMUM),
            maximum=int(SCORE_MAXIMUM),
            passed=outcome.passed,
        )
        emitted = record_check(
            session, target.attempt, target.learner, judged, target.options, reported=reported
        )
        grade = outcome.scaled
    record_module_evidence(session, launch, module, emitted, outcome.scaled, app_state.settings())
    record_objective_evidence(session, launch, module, emitted, outcome.scaled,
                              _states(session, attempt), app_state.settings())  # fmt: skip
    queue_grade(session, launch, module, grade)
    return outcome
