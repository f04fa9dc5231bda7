"""The export, erasure and purge services on SQLite and PostgreSQL alike: the row look-ups by
(issuer, sub) pairs and the purge's "latest launch" rule are plain SQL on both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plugin.core.config import RetentionSettings
from plugin.core.db import utcnow
from plugin.core.migrate import upgrade_database
from plugin.lti.models import GradeOutbox, Launch, Person
from plugin.lti.registrations import PlatformDetails, register_platform
from plugin.privacy.audit import Accessor
from plugin.privacy.erase import erase_person
from plugin.privacy.export import export_person
from plugin.privacy.models import ErasedCount
from plugin.privacy.retention import purge_expired
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.xapi.models import DELIVERED, Attempt, OutboxStatement, StatementLedger
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.vocabulary import VOIDED
from tests.support.outbox import make_statement

ISSUER = "https://lms.example"
OTHER_ISSUER = "https://other.example"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a database at ``head``, on SQLite and on PostgreSQL."""
    upgrade_database(engine)
    with Session(engine) as db_session:
        yield db_session


def _person(session: Session, deployment_id: int, issuer: str, sub: str, learner: Learner) -> None:
    """A person with a launch, an attempt, evidence, a delivered and a pending statement."""
    person = Person(issuer=issuer, sub=sub, name=f"name of {sub}", email=f"{sub}@example.org")
    session.add(person)
    session.add(Identity(learner=learner, issuer=issuer, sub=sub))
    session.flush()
    session.add(
        Launch(id=str(uuid.uuid4()), person_id=person.id, deployment_id=deployment_id,
               message_type="LtiResourceLinkRequest", role="learner", roles=[], claims={},
               expires_at=utcnow())
    )  # fmt: skip
    attempt = Attempt(registration=str(uuid.uuid4()), person_issuer=issuer, person_sub=sub,
                      module_key="m1", activity_iri="https://x.example/m1", outcome="passed",
                      completed_at=utcnow())  # fmt: skip
    session.add(attempt)
    session.add(Evidence(learner_id=learner.id, item_id="DC1-K1", level=1, score=0.9,
                         observed_at=utcnow(), source_kind="statement", source_id=sub))  # fmt: skip
    session.flush()
    actor = {"objectType": "Agent", "account": {"homePage": issuer, "name": sub}}
    delivered, _pending = enqueue_statements(
        session, [make_statement(actor=actor), make_statement(actor=actor)], ["lrs"], attempt
    )
    delivered.status, delivered.delivered_at = DELIVERED, utcnow() - timedelta(days=90)
    session.flush()


def _world(session: Session) -> None:
    """B has two linked accounts (one per platform); A one; B also has a grade queued."""
    ids = []
    for issuer in (ISSUER, OTHER_ISSUER):
        registration = register_platform(
            session,
            PlatformDetails(issuer=issuer, client_id="c", auth_login_url=f"{issuer}/a",
                            auth_token_url=f"{issuer}/t", key_set_url=f"{issuer}/k"),
            ["d"],
        )  # fmt: skip
        ids.append((registration, registration.deployments[0].id))
    b, a = Learner(), Learner()
    session.add_all([a, b])
    session.flush()
    session.add(Attainment(learner_id=b.id, item_id="DC1-K1", kind="indicator", value=0.9, level=1,
                           evidence_ids=[]))  # fmt: skip
    _person(session, ids[0][1], ISSUER, "b-sub", b)
    _person(session, ids[1][1], OTHER_ISSUER, "b-other", b)
    _person(session, ids[0][1], ISSUER, "a-sub", a)
    session.add(GradeOutbox(registration_id=ids[0][0].id, user_sub="b-sub", score={"x": 1}))
    session.flush()


def _count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_export_erase_and_purge_agree_on_both_databases(session: Session) -> None:
    _world(session)
    document = export_person(session, OTHER_ISSUER, "b-other")
    assert {a["sub"] for a in document["accounts"]} == {"b-sub", "b-other"}
    assert len(document["people"]) == 2 and len(document["launches"]) == 2
    assert len(document["statements"]) == 4 and len(document["grades"]) == 1
    assert len(document["evidence"]) == 2 and len(document["attainment"]) == 1

    report = purge_expired(session, RetentionSettings(delivered_statement_days=30), utcnow())
    assert report.delivered_statements == 3  # B's two and A's one, ninety days old
    assert _count(session, StatementLedger) == 3

    erased = erase_person(
        session, ISSUER, "b-sub", base_url="https://tool.example", accessor=Accessor.operator()
    )
    assert (erased.accounts, erased.people, erased.statements_voided) == (2, 2, 2)
    assert erased.statements_dropped == 2 and erased.grades == 1
    b_subs = ("b-sub", "b-other")
    assert _count(session, Person, Person.sub.in_(b_subs)) == 0
    assert _count(session, Identity, Identity.sub.in_(b_subs)) == 0
    assert _count(session, Attempt, Attempt.person_sub.in_(b_subs)) == 0
    assert _count(session, Learner) == 1 and _count(session, Evidence) == 1
    assert _count(session, Attainment) == 0 and _count(session, GradeOutbox) == 0
    assert _count(session, StatementLedger) == 1  # A's
    assert _count(session, OutboxStatement, OutboxStatement.verb == VOIDED) == 2
    assert session.get(ErasedCount, "m1").attempts == 2
    again = erase_person(
        session, OTHER_ISSUER, "b-other", base_url="https://tool.example",
        accessor=Accessor.operator(),
    )  # fmt: skip
    assert again.nothing_held
