"""Evidence recorded for a learner as a passed module's statement would record it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework
from plugin.rollup.config import rollup_config
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Learner


def record_level(
    app: Flask, session: Session, issuer: str, sub: str, codes: tuple[str, ...], level: int = 1
) -> Learner:
    """Evidence at ``level`` on each of ``codes`` for (``issuer``, ``sub``), observed on
    2026-01-05 from module C1-T1, one statement per code; the learner."""
    framework = get_framework(session)
    assert framework is not None
    learner = learner_for(session, issuer, sub)
    record_evidence(
        session,
        learner,
        [
            EvidenceInput(
                item_id=code,
                level=level,
                score=1.0,
                observed_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                source_kind="statement",
                source_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub}/{code}")),
                module_key="tw-civil-service-dc.C1-T1",
            )
            for code in codes
        ],
        framework,
        rollup_config(app.extensions["plugin.settings"].rollup),
    )
    return learner
