"""Roll-up orchestration: learner events become evidence, level changes become statements.

The roll-up returns what changed; this module turns changes into TLA ``assessed`` statements
through the same outbox, in the caller's transaction, for web/ and cli/ alike. It is a layer of
its own above both packages because it joins them: the roll-up and xAPI packages never import
each other (docs/ARCHITECTURE.md §4). It needs no Flask: the caller passes the settings.
What needs only one of them lives there: the launch's learner (plugin.rollup.learners), an
attempt's evidence (plugin.xapi.learning, plugin.rollup.evidence).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework, item_iri
from plugin.competencies.models import Framework, Module
from plugin.content.objective_evidence import objective_scores, objective_targets
from plugin.content.runtime_models import ScoState
from plugin.core.config import Settings
from plugin.lti.claims import LEARNER
from plugin.lti.models import Launch
from plugin.rollup.changes import (
    ID_NAMESPACE,
    OBJECTIVES_MARK,
    AttainmentChange,
    statement_id_for,
)
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import EvidenceInput, module_evidence, record_evidence
from plugin.rollup.imports import Observation
from plugin.rollup.learners import identities_of, launch_learner, learner_for
from plugin.rollup.models import Learner
from plugin.rollup.pull import Pulled
from plugin.xapi.assessment import (
    IMPORT_AUTHORITY,
    PULL_AUTHORITY,
    CompetencyRef,
    assessed_statement,
    authority,
    evidence_statement,
    level_iri,
)
from plugin.xapi.learning import attempt_evidence
from plugin.xapi.models import Attempt
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.statements import timestamp_now
from plugin.xapi.vocabulary import COMPETENCY_TYPE, COURSE_TYPE


def _targets(settings: Settings) -> tuple[str, ...]:
    return tuple(target.name for target in settings.xapi.lrs)


def emit_assessed(
    session: Session, changes: Sequence[AttainmentChange], framework: Framework,
    settings: Settings, *, organisation_id: int | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Queue one ``assessed`` statement per level change (docs/ARCHITECTURE.md §5), in this
    transaction, attributed to ``organisation_id`` (a learner's launch's; None from the CLI)."""
    if not changes:
        return []
    iri_base = settings.framework.iri_base
    items = {item.code: item for item in framework.items}
    moment = timestamp_now()
    statements = []
    for change in changes:
        identity = identities_of(change.learner)[0]
        item = items[change.item_id]
        statements.append(
            assessed_statement(
                statement_id=str(uuid.uuid4()),
                issuer=identity.issuer,
                sub=identity.sub,
                competency=CompetencyRef(
                    item_iri(iri_base, framework.key, item.code), item.name_zh, item.name_en
                ),
                level=change.new_level,
                value=change.value,
                framework_key=framework.key,
                iri_base=iri_base,
                evidence=change.evidence,
                moment=moment,
            )
        )
    enqueue_statements(session, statements, _targets(settings), organisation_id=organisation_id)
    return statements


def _organisation(launch: Launch) -> int:
    return launch.deployment.registration.organisation_id


def learner_at_launch(session: Session, launch: Launch, settings: Settings) -> Learner | None:
    """The launch's learner (created on first sight), linked by ``lti.link_claim`` and graded
    by ``lti.grade_claim`` when the platform sends them; None for designers' previews."""
    framework = get_framework(session) if launch.role == LEARNER else None
    learner, changes = launch_learner(
        session,
        launch,
        framework,
        rollup_config(settings.rollup),
        link_claim=settings.lti.link_claim,
        grade_claim=settings.lti.grade_claim,
    )
    if framework is not None:
        emit_assessed(session, changes, framework, settings, organisation_id=_organisation(launch))
    return learner


def record_module_evidence(
    session: Session, launch: Launch, module: Module, statements: Sequence[dict[str, Any]],
    scaled: float | None, settings: Settings,
) -> list[AttainmentChange]:  # fmt: skip
    """Evidence from one finished attempt — one row per active tag of the module — recorded
    with its roll-up and ``assessed`` statements in the caller's transaction."""
    if not module.active_tags:
        return []
    found = attempt_evidence(statements, scaled)
    if found is None:
        return []  # nothing newly observed (e.g. the attempt had been judged already)
    framework = get_framework(session)
    if framework is None:
        return []
    rows = module_evidence(module, framework, found.statement_id, found.observed_at, found.score)
    learner = learner_for(session, launch.person.issuer, launch.person.sub)
    changes = record_evidence(session, learner, rows, framework, rollup_config(settings.rollup))
    emit_assessed(session, changes, framework, settings, organisation_id=_organisation(launch))
    return changes


def record_objective_evidence(
    session: Session, launch: Launch, module: Module, statements: Sequence[dict[str, Any]],
    scaled: float | None, states: Sequence[ScoState], settings: Settings,
) -> list[AttainmentChange]:  # fmt: skip
    """Evidence from a finished SCORM attempt's interactions for the items their objective ids
    name (plugin/content/objective_evidence.py), beside the module's own, in the caller's
    transaction; observed with the attempt's result statement."""
    framework = get_framework(session)
    if framework is None or not module.active_tags:
        return []
    targets = objective_targets(module, framework, settings.framework.iri_base)
    scores = objective_scores(states, targets)
    found = attempt_evidence(statements, scaled) if scores else None
    if found is None:
        return []
    levels = {target.code: target.level for target in targets.values()}
    rows = [
        # A source of its own (the result statement's id, marked): the module's row for the
        # same item holds the bare id, and each is recorded once (plugin/rollup/evidence.py);
        # an ``assessed`` statement cites the result statement for both.
        EvidenceInput(code, levels[code], score, found.observed_at, "statement",
                      f"{found.statement_id}{OBJECTIVES_MARK}", module.key)
        for code, score in scores.items()
    ]  # fmt: skip
    learner = learner_for(session, launch.person.issuer, launch.person.sub)
    changes = record_evidence(session, learner, rows, framework, rollup_config(settings.rollup))
    emit_assessed(session, changes, framework, settings, organisation_id=_organisation(launch))
    return changes


def _refs(framework: Framework, iri_base: str, codes: Sequence[str]) -> list[CompetencyRef]:
    items = {item.code: item for item in framework.items}
    return [
        CompetencyRef(item_iri(iri_base, framework.key, code), items[code].name_zh,
                      items[code].name_en)
        for code in codes
    ]  # fmt: skip


def emit_imported(
    session: Session, observations: Sequence[Observation], framework: Framework,
    settings: Settings,
) -> int:  # fmt: skip
    """Restate newly imported rows in our LRS, the tool as authority (``evidence-import``)."""
    iri_base = settings.framework.iri_base
    modules = {m.key: m for m in session.scalars(select(Module))}
    agent = authority(settings.lti.base_url, IMPORT_AUTHORITY)
    statements = []
    for row in observations:
        codes = [code for code, _level in row.items]
        if row.object_code:
            module = modules.get(row.object_code)
            object_iri = (
                module.activity_iri if module is not None
                else f"{iri_base}{framework.key}/courses/{quote(row.object_code, safe='')}"
            )  # fmt: skip
            object_type = COURSE_TYPE
        else:
            object_iri = item_iri(iri_base, framework.key, codes[0])
            object_type = COMPETENCY_TYPE
        statements.append(
            _restatement(row, framework, iri_base, agent, statement_id_for(row.source_id),
                         object_iri, row.object_title, object_type)
        )  # fmt: skip
    enqueue_statements(session, statements, _targets(settings))
    return len(statements)


def emit_pulled(
    session: Session, pulled: Sequence[Pulled], framework: Framework, settings: Settings
) -> int:
    """Restate newly pulled statements in our LRS under new ids, the tool as authority
    (``evidence-pull``); the original id stays the evidence's source."""
    iri_base = settings.framework.iri_base
    agent = authority(settings.lti.base_url, PULL_AUTHORITY)
    statements = []
    for row in pulled:
        original = row.statement
        obj = original.get("object") or {}
        definition = obj.get("definition") or {}
        name = definition.get("name") or {}
        statements.append(
            _restatement(
                row,
                framework,
                iri_base,
                agent,
                # A new id: the original may sit in the same LRS (xAPI 1.0.3 §2.4.1: an id
                # names one statement), and uuid5 keeps the restatement the same on re-pull.
                str(uuid.uuid5(ID_NAMESPACE, "pull|" + original["id"])),
                obj.get("id", ""),
                str(name.get("zh-TW") or next(iter(name.values()), "")),
                definition.get("type") or COURSE_TYPE,
            )
        )
    enqueue_statements(session, statements, _targets(settings))
    return len(statements)


def _restatement(
    row: Observation | Pulled, framework: Framework, iri_base: str, agent: dict[str, Any],
    statement_id: str, object_iri: str, object_name: str, object_type: str,
) -> dict[str, Any]:  # fmt: skip
    """An imported or pulled row as our evidence statement, at its highest item level."""
    return evidence_statement(
        statement_id=statement_id,
        issuer=row.issuer,
        sub=row.sub,
        object_iri=object_iri,
        object_name=object_name,
        items=_refs(framework, iri_base, [code for code, _level in row.items]),
        score=row.score,
        success=row.success,
        iri_base=iri_base,
        moment=row.observed_at,
        authority_agent=agent,
        level=level_iri(iri_base, framework.key, max(lvl for _c, lvl in row.items)),
        object_type=object_type,
    )


def finished_modules(session: Session, learner: Learner) -> set[str]:
    """Keys of the modules any identity of ``learner`` has passed, or completed where no
    check judged the attempt (its outcome stays empty): what the map no longer suggests."""
    people = [(identity.issuer, identity.sub) for identity in identities_of(learner)]
    if not people:
        return set()
    same_person = or_(
        *(and_(Attempt.person_issuer == iss, Attempt.person_sub == sub) for iss, sub in people)
    )
    done = or_(
        Attempt.outcome == "passed",
        and_(Attempt.outcome == "", Attempt.completed_at.is_not(None)),
    )
    return set(session.scalars(select(Attempt.module_key).where(same_person, done).distinct()))
