"""A launch's learner events in xAPI terms: who and where a statement is about, where it goes,
which launches are evidence, and which statement of a finished attempt is its evidence.

No Flask here: the web layer hands in the settings (plugin.web.learning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from plugin.competencies.framework import item_iri
from plugin.competencies.grading import CheckResult
from plugin.competencies.models import Module
from plugin.core.config import Settings
from plugin.lti.claims import CLAIM_TOOL_PLATFORM, LEARNER
from plugin.lti.models import Launch
from plugin.xapi import attempts
from plugin.xapi.attempts import CheckOutcome, XapiOptions, open_attempt, start_attempt
from plugin.xapi.models import Attempt
from plugin.xapi.statements import Answer, LearnerContext, TaggedItem
from plugin.xapi.vocabulary import VERBS


def xapi_options(launch: Launch, settings: Settings) -> XapiOptions:
    """Targets and privacy switches from ``settings``; the launch's organisation."""
    return XapiOptions(
        targets=tuple(target.name for target in settings.xapi.lrs),
        send_names=settings.xapi.send_names,
        organisation_id=launch.deployment.registration.organisation_id,
    )


def records_statements(launch: Launch) -> bool:
    """Only learners' launches are evidence; designers and administrators preview."""
    return launch.role == LEARNER


def learner_context(launch: Launch, module: Module, iri_base: str) -> LearnerContext:
    """The plain values a statement about this launch's person in ``module`` needs."""
    platform_claim = launch.claims.get(CLAIM_TOOL_PLATFORM) or {}
    platform = platform_claim.get("name", "") if isinstance(platform_claim, dict) else ""
    locale = (launch.locale or "zh-TW").replace("_", "-")
    return LearnerContext(
        issuer=launch.person.issuer,
        sub=launch.person.sub,
        module_iri=module.activity_iri,
        module_name_zh=module.title_zh,
        module_name_en=module.title_en,
        iri_base=iri_base,
        tags=tuple(
            TaggedItem(
                iri=item_iri(iri_base, tag.item.framework.key, tag.item.code),
                code=tag.item.code,
                name_zh=tag.item.name_zh,
                name_en=tag.item.name_en,
            )
            for tag in module.active_tags
        ),
        context_id=launch.context_id,
        context_title=launch.context_title,
        resource_link_id=launch.resource_link_id,
        resource_link_title=launch.resource_link_title,
        platform=str(platform or launch.deployment.registration.name),
        language="en" if locale.lower().startswith("en") else "zh-TW",
        person_name=launch.person.name,
        mastery_score=module.mastery_score,
    )


def current_attempt(session: Session, launch: Launch, module: Module) -> Attempt | None:
    """The person's open attempt at ``module``: their latest, if it has not ended."""
    return open_attempt(session, launch.person.issuer, launch.person.sub, module.key)


def latest_attempt(session: Session, launch: Launch, module: Module) -> Attempt | None:
    """The person's latest attempt at ``module``, ended or not."""
    return attempts.latest_attempt(session, launch.person.issuer, launch.person.sub, module.key)


def attempt_of_form(session: Session, launch: Launch, module: Module, registration: str) -> Attempt:
    """The launch's person's open attempt a form was shown for; ``StaleForm`` otherwise."""
    person = launch.person
    return attempts.attempt_of_form(session, person.issuer, person.sub, module.key, registration)


def begin_attempt(
    session: Session, launch: Launch, module: Module, settings: Settings
) -> Attempt | None:
    """Start an attempt (``launched``) for a learner's launch; None for previews."""
    if not records_statements(launch):
        return None
    return start_attempt(
        session,
        learner_context(launch, module, settings.framework.iri_base),
        module.key,
        xapi_options(launch, settings),
        launch_id=launch.id,
    )


def check_outcome(result: CheckResult) -> CheckOutcome:
    """A graded knowledge check in the terms the attempt records."""
    answers = [
        Answer(
            item_id=item_result.item.id,
            prompt_zh=item_result.item.prompt_zh,
            prompt_en=item_result.item.prompt_en,
            response=sorted(item_result.chosen),
            correct=item_result.correct,
            correct_responses=sorted(item_result.correct_keys),
            choices=tuple(
                (choice["key"], choice["text_zh"], choice["text_en"])
                for choice in item_result.item.choices
            ),
        )
        for item_result in result.items
    ]
    return CheckOutcome(
        answers=answers,
        scaled=result.scaled,
        raw=result.raw,
        maximum=result.maximum,
        passed=result.passed,
    )


@dataclass(frozen=True)
class AttemptEvidence:
    """What a finished attempt observed: the statement that is its evidence, when, how well."""

    statement_id: str
    observed_at: datetime
    score: float


def attempt_evidence(
    statements: Sequence[dict[str, Any]], scaled: float | None
) -> AttemptEvidence | None:
    """The evidence among an attempt step's statements: the passed/failed one (its scaled
    score), else the completed one (1.0 without a check, the check's score otherwise); None
    when the step judged and completed nothing new."""
    by_verb = {statement["verb"]["id"]: statement for statement in statements}
    judged = by_verb.get(VERBS["passed"][0]) or by_verb.get(VERBS["failed"][0])
    source = judged or by_verb.get(VERBS["completed"][0])
    if source is None:
        return None
    if judged is not None:
        score = float(judged["result"]["score"]["scaled"])
    else:
        # Completion without a check counts as 1.0; a check without mastery keeps its score.
        score = 1.0 if scaled is None else float(scaled)
    observed_at = datetime.fromisoformat(source["timestamp"].replace("Z", "+00:00"))
    return AttemptEvidence(source["id"], observed_at, score)
