"""Roll-up orchestration: learner events become evidence, level changes become statements.

The roll-up service returns what changed; this module (and cli.py) turns changes into TLA
``assessed`` statements through the same outbox, in the caller's transaction — the roll-up
and xAPI packages never import each other (docs/ARCHITECTURE.md §4).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Module
from plugin.competencies.services import get_framework, item_iri
from plugin.core.config import Settings
from plugin.core.errors import InvalidInput
from plugin.lti.claims import CLAIM_CUSTOM, LEARNER
from plugin.lti.models import Launch
from plugin.rollup.changes import ID_NAMESPACE, AttainmentChange, statement_id_for
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.imports import Observation
from plugin.rollup.learners import identities_of, learner_for, link_learner, set_grade
from plugin.rollup.models import Learner
from plugin.rollup.pull import Pulled
from plugin.xapi.assessment import (
    COURSE_TYPE,
    IMPORT_AUTHORITY,
    PULL_AUTHORITY,
    CompetencyRef,
    assessed_statement,
    authority,
    evidence_statement,
    level_iri,
)
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.statements import timestamp_now
from plugin.xapi.vocabulary import COMPETENCY_TYPE, VERBS


def _settings() -> Settings:
    return current_app.extensions["plugin.settings"]


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


def _custom(launch: Launch) -> dict[str, Any]:
    custom = launch.claims.get(CLAIM_CUSTOM) or {}
    return custom if isinstance(custom, dict) else {}


def learner_at_launch(session: Session, launch: Launch) -> Learner | None:
    """The launch's learner (created on first sight), linked by ``lti.link_claim`` and graded
    by ``lti.grade_claim`` when the platform sends them; None for designers' previews."""
    if launch.role != LEARNER:
        return None
    settings = _settings()
    learner = learner_for(session, launch.person.issuer, launch.person.sub)
    framework = get_framework(session)
    if framework is None:
        return learner
    custom = _custom(launch)
    link_value = custom.get(settings.lti.link_claim) if settings.lti.link_claim else None
    if isinstance(link_value, str) and link_value.strip() and not link_value.startswith("$"):
        # An unsubstituted "$User.x" variable means the platform does not know it.
        learner, changes = link_learner(
            session, learner, link_value, framework, rollup_config(settings.rollup)
        )
        emit_assessed(session, changes, framework, settings, organisation_id=_organisation(launch))
    grade = custom.get(settings.lti.grade_claim) if settings.lti.grade_claim else None
    if isinstance(grade, str) and grade.strip() and not grade.startswith("$"):
        # An unknown grade from a platform must not block the launch.
        with contextlib.suppress(InvalidInput):
            set_grade(session, learner, framework, grade, "lti")
    return learner


def _moment(statement: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(statement["timestamp"].replace("Z", "+00:00"))


def record_module_evidence(
    session: Session, launch: Launch, module: Module, statements: Sequence[dict[str, Any]],
    scaled: float | None,
) -> list[AttainmentChange]:  # fmt: skip
    """Evidence from one finished attempt — one row per active tag of the module — recorded
    with its roll-up and ``assessed`` statements in the caller's transaction."""
    by_verb = {statement["verb"]["id"]: statement for statement in statements}
    judged = by_verb.get(VERBS["passed"][0]) or by_verb.get(VERBS["failed"][0])
    source = judged or by_verb.get(VERBS["completed"][0])
    if source is None or not module.active_tags:
        return []  # nothing newly observed (e.g. the attempt had been judged already)
    framework = get_framework(session)
    if framework is None:
        return []
    if judged is not None:
        score = float(judged["result"]["score"]["scaled"])
    else:
        # Completion without a check counts as 1.0; a check without mastery keeps its score.
        score = 1.0 if scaled is None else float(scaled)
    observed_at = _moment(source)
    rows = [
        EvidenceInput(
            item_id=tag.item.code,
            level=tag.level,
            score=min(max(score, 0.0), 1.0),
            observed_at=observed_at,
            source_kind="statement",
            source_id=source["id"],
            module_key=module.key,
        )
        for tag in module.active_tags
        if tag.item.framework_id == framework.id
    ]
    settings = _settings()
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
            evidence_statement(
                statement_id=statement_id_for(row.source_id),
                issuer=row.issuer,
                sub=row.sub,
                object_iri=object_iri,
                object_name=row.object_title,
                items=_refs(framework, iri_base, codes),
                score=row.score,
                success=row.success,
                iri_base=iri_base,
                moment=row.observed_at,
                authority_agent=agent,
                level=level_iri(iri_base, framework.key, max(lvl for _c, lvl in row.items)),
                object_type=object_type,
            )
        )
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
            evidence_statement(
                # A new id: the original may sit in the same LRS (xAPI 1.0.3 §2.4.1: an id
                # names one statement), and uuid5 keeps the restatement the same on re-pull.
                statement_id=str(uuid.uuid5(ID_NAMESPACE, "pull|" + original["id"])),
                issuer=row.issuer,
                sub=row.sub,
                object_iri=obj.get("id", ""),
                object_name=str(name.get("zh-TW") or next(iter(name.values()), "")),
                items=_refs(framework, iri_base, [code for code, _level in row.items]),
                score=row.score,
                success=row.success,
                iri_base=iri_base,
                moment=row.observed_at,
                authority_agent=agent,
                level=level_iri(iri_base, framework.key, max(lvl for _c, lvl in row.items)),
                object_type=definition.get("type") or COURSE_TYPE,
            )
        )
    enqueue_statements(session, statements, _targets(settings))
    return len(statements)
