"""Statement builders (docs/ARCHITECTURE.md §5), made with tincan's model classes.

Every statement names the learner by an opaque account, the module as its object, the
attempt's registration, and every competency, indicator and attitude IRI the module is tagged
with in ``context.contextActivities.other`` — so an LRS answers "all evidence for DC1-K2"
with ``activity=…&related_activities=true``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    LanguageMap,
    Result,
    Score,
    Statement,
    Verb,
)

from plugin.xapi.vocabulary import (
    COMPETENCY_TYPE,
    COURSE_TYPE,
    INTERACTION_TYPE,
    LINK_TYPE,
    MASTERY_EXTENSION,
    MODULE_TYPE,
    PROFILE_TYPE,
    PROGRESS_EXTENSION,
    VERBS,
    profile_iri,
)


@dataclass(frozen=True)
class TaggedItem:
    """A competency, indicator or attitude the module is tagged with."""

    iri: str
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class LearnerContext:
    """Everything a statement about one learner in one module needs, as plain values."""

    issuer: str
    sub: str
    module_iri: str
    module_name_zh: str
    module_name_en: str
    iri_base: str
    tags: Sequence[TaggedItem] = ()
    context_id: str = ""
    context_title: str = ""
    resource_link_id: str = ""
    resource_link_title: str = ""
    platform: str = ""
    language: str = "zh-TW"
    person_name: str = ""
    mastery_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Further profiles the statements follow (ADL's SCORM profile for a SCORM attempt), in
    # context.contextActivities.category after the tool's own.
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportedAnswer:
    """An interaction a SCORM SCO reported, in xAPI's terms (xAPI 1.0.3 §2.4.4.1)."""

    activity_id: str
    interaction_type: str
    correct_patterns: Sequence[str]
    response: str | None
    success: bool | None


@dataclass(frozen=True)
class Answer:
    """One answered knowledge-check item."""

    item_id: int
    prompt_zh: str
    prompt_en: str
    response: Sequence[str]
    correct: bool
    correct_responses: Sequence[str]
    choices: Sequence[tuple[str, str, str]]  # (key, zh, en)


def timestamp_now() -> datetime:
    """The current UTC time at millisecond precision (what statements carry)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-27T10:00:00.123Z`` (xAPI 1.0.3 §4.5)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _names(zh: str, en: str) -> LanguageMap:
    names = {}
    if zh:
        names["zh-TW"] = zh
    if en:
        names["en"] = en
    return LanguageMap(names)


def _link_iri(issuer: str, kind: str, value: str) -> str:
    """An IRI for a platform's course or resource link, under the platform's issuer."""
    return f"{issuer.rstrip('/')}/lti/{kind}/{quote(value, safe='')}"


def _actor(learner: LearnerContext, send_names: bool) -> Agent:
    # One IFI only: the account (xAPI 1.0.3 §2.4.2.1); the name is not an IFI.
    agent = Agent(
        object_type="Agent",
        account=AgentAccount(home_page=learner.issuer, name=learner.sub),
    )
    if send_names and learner.person_name:
        agent.name = learner.person_name
    return agent


def _platform_activity(iri: str, activity_type: str, title: str) -> Activity:
    """The platform's resource link or course, named when the platform named it."""
    if not title:
        return Activity(id=iri, definition=ActivityDefinition(type=activity_type))
    return Activity(
        id=iri, definition=ActivityDefinition(type=activity_type, name=_names(title, ""))
    )


def _context(learner: LearnerContext, registration: str) -> Context:
    parent: list[Activity] = []
    grouping: list[Activity] = []
    if learner.resource_link_id:
        link_iri = _link_iri(learner.issuer, "links", learner.resource_link_id)
        parent.append(_platform_activity(link_iri, LINK_TYPE, learner.resource_link_title))
    if learner.context_id:
        course_iri = _link_iri(learner.issuer, "contexts", learner.context_id)
        grouping.append(_platform_activity(course_iri, COURSE_TYPE, learner.context_title))
    other = [
        Activity(
            id=tag.iri,
            definition=ActivityDefinition(
                type=COMPETENCY_TYPE, name=_names(tag.name_zh, tag.name_en)
            ),
        )
        for tag in learner.tags
    ]
    activities: dict[str, ActivityList] = {
        "category": ActivityList(
            [
                Activity(id=iri, definition=ActivityDefinition(type=PROFILE_TYPE))
                for iri in (profile_iri(learner.iri_base), *learner.profiles)
            ]
        )
    }
    if parent:
        activities["parent"] = ActivityList(parent)
    if grouping:
        activities["grouping"] = ActivityList(grouping)
    if other:
        activities["other"] = ActivityList(other)
    context = Context(
        registration=uuid.UUID(registration),
        context_activities=ContextActivities(**activities),
        language=learner.language,
    )
    if learner.platform:
        context.platform = learner.platform[:200]
    if learner.mastery_score is not None:
        context.extensions = Extensions({MASTERY_EXTENSION: learner.mastery_score})
    return context


def _module(learner: LearnerContext) -> Activity:
    return Activity(
        id=learner.module_iri,
        definition=ActivityDefinition(
            type=MODULE_TYPE, name=_names(learner.module_name_zh, learner.module_name_en)
        ),
    )


def _verb(key: str) -> Verb:
    iri, english, chinese = VERBS[key]
    return Verb(id=iri, display=LanguageMap({"en-US": english, "zh-TW": chinese}))


def _finish(statement: Statement, moment: datetime) -> dict[str, Any]:
    """tincan's JSON, with the timestamp in the profile's form and no ``version`` guess."""
    body: dict[str, Any] = json.loads(statement.to_json())
    body["timestamp"] = format_timestamp(moment)
    body.pop("version", None)  # the LRS sets it (xAPI 1.0.3 §2.4.10)
    return body


def build_statement(
    verb: str,
    learner: LearnerContext,
    registration: str,
    *,
    moment: datetime,
    send_names: bool = False,
    result: Result | None = None,
    object_activity: Activity | None = None,
) -> dict[str, Any]:
    """A statement ``learner`` ``verb`` the module (or ``object_activity``)."""
    statement = Statement(
        id=uuid.uuid4(),
        actor=_actor(learner, send_names),
        verb=_verb(verb),
        object=object_activity or _module(learner),
        context=_context(learner, registration),
        timestamp=moment,
    )
    if result is not None:
        statement.result = result
    return _finish(statement, moment)


def progress_result(percent: int) -> Result:
    """cmi5 §9.6.2.2: progress as an integer 0–100 in a result extension."""
    return Result(extensions=Extensions({PROGRESS_EXTENSION: int(percent)}))


def completed_result(duration: timedelta) -> Result:
    """Completion with the attempt's duration (cmi5 §9.5.3)."""
    return Result(completion=True, duration=duration)


def judged_result(
    success: bool, scaled: float, raw: int, maximum: int, duration: timedelta
) -> Result:
    """Success and score of passed/failed (cmi5 §9.5.4, §9.5.5)."""
    return Result(
        success=success,
        score=Score(scaled=round(scaled, 4), raw=raw, min=0, max=maximum),
        duration=duration,
    )


def terminated_result(duration: timedelta) -> Result:
    """The session's duration (cmi5 §9.5.8)."""
    return Result(duration=duration)


def interaction_activity(learner: LearnerContext, answer: Answer) -> Activity:
    """The knowledge-check item as a cmi.interaction of type choice (xAPI 1.0.3 §2.4.4.1)."""
    definition = ActivityDefinition(
        type=INTERACTION_TYPE,
        name=_names(answer.prompt_zh, answer.prompt_en),
        interaction_type="choice",
        correct_responses_pattern=["[,]".join(answer.correct_responses)],
    )
    definition.choices = [
        {"id": key, "description": dict(_names(zh, en))} for key, zh, en in answer.choices
    ]
    return Activity(id=f"{learner.module_iri}/items/{answer.item_id}", definition=definition)


def answered_result(answer: Answer) -> Result:
    """The learner's response and whether it was right."""
    return Result(success=answer.correct, response="[,]".join(sorted(answer.response)))


def reported_activity(answer: ReportedAnswer) -> Activity:
    """A SCO's interaction as a cmi.interaction activity (xAPI 1.0.3 §2.4.4.1)."""
    definition = ActivityDefinition(type=INTERACTION_TYPE, interaction_type=answer.interaction_type)
    if answer.correct_patterns:
        definition.correct_responses_pattern = list(answer.correct_patterns)
    return Activity(id=answer.activity_id, definition=definition)


def reported_result(answer: ReportedAnswer) -> Result | None:
    """The learner's response and whether the SCO judged it right; None when it said neither."""
    if answer.response is None and answer.success is None:
        return None
    result = Result()
    if answer.response is not None:
        result.response = answer.response
    if answer.success is not None:
        result.success = answer.success
    return result
