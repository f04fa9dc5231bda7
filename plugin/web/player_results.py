"""A finished SCORM attempt becomes the module's result: statements, evidence and the grade,
through the same path as the tool's own modules (plugin/attainment.py, the AGS outbox).

Its statements follow ADL's xAPI SCORM profile (https://w3id.org/xapi/scorm): the profile in
every statement's category, and an ``answered`` cmi.interaction per interaction a SCO reported.
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
from plugin.content.rollup import ModuleOutcome, module_outcome
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.lti.models import Launch
from plugin.web.learning import begin_attempt, learner_context, xapi_options
from plugin.web.module_grades import SCORE_MAXIMUM, queue_grade
from plugin.xapi.attempts import CheckOutcome, record_check, record_completion
from plugin.xapi.learning import current_attempt, records_statements
from plugin.xapi.statements import ReportedAnswer
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


def reported_answers(
    session: Session, attempt: RuntimeAttempt, module: Module
) -> list[ReportedAnswer]:
    """Every interaction the attempt's SCOs reported, as ``answered`` statements state them."""
    version = attempt.version
    order = [item.identifier for item in version.scos]
    found = reported_interactions(version.scorm_version, order, _states(session, attempt))
    return [_answer(module, reported) for reported in found]


def record_finished(session: Session, attempt: RuntimeAttempt) -> ModuleOutcome | None:
    """Statements (answered per interaction, completed, passed or failed with the score,
    terminated), evidence for the module's tags and the grade for a learner's finished
    attempt; None for previews."""
    launch = session.get(Launch, attempt.launch_id)
    module = session.get(Module, attempt.module_id)
    if launch is None or module is None or not records_statements(launch):
        return None
    outcome = attempt_outcome(session, attempt)
    statement_attempt = current_attempt(session, launch, module) or begin_attempt(
        session, launch, module
    )
    if statement_attempt is None:
        return None
    context = dataclasses.replace(learner_context(launch, module), profiles=(SCORM_PROFILE,))
    options, reported = xapi_options(launch), reported_answers(session, attempt, module)
    if outcome.scaled is None:
        emitted = record_completion(session, statement_attempt, context, options, reported=reported)
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
            session, statement_attempt, context, judged, options, reported=reported
        )
        grade = outcome.scaled
    record_module_evidence(session, launch, module, emitted, outcome.scaled, app_state.settings())
    record_objective_evidence(session, launch, module, emitted, outcome.scaled,
                              _states(session, attempt), app_state.settings())  # fmt: skip
    queue_grade(session, launch, module, grade)
    return outcome
