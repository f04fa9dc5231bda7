"""Tables of the xAPI layer: learner attempts (registrations) and the statement outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow

PENDING = "pending"
DELIVERED = "delivered"
QUARANTINED = "quarantined"


class Attempt(Base):
    """One person × module attempt: the xAPI registration and where it stands (cmi5 order)."""

    __tablename__ = "xapi_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration: Mapped[str] = mapped_column(String(36), unique=True)
    person_issuer: Mapped[str] = mapped_column(String(500))
    person_sub: Mapped[str] = mapped_column(String(255))
    module_key: Mapped[str] = mapped_column(String(100), index=True)
    activity_iri: Mapped[str] = mapped_column(String(500))
    launch_id: Mapped[str] = mapped_column(String(36), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    initialized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "passed" or "failed" once judged against the mastery score; at most one per attempt.
    outcome: Mapped[str] = mapped_column(String(10), default="")
    scaled_score: Mapped[float | None] = mapped_column()
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_xapi_attempts_person", "person_issuer", "person_sub"),)

    @property
    def is_open(self) -> bool:
        """True until the attempt is terminated."""
        return self.terminated_at is None


class OutboxStatement(Base):
    """A validated statement waiting for (or past) delivery to one LRS target.

    The statement id is fixed when the row is written, so a retry re-sends the same id and
    the LRS answers 200/204 without storing a duplicate (xAPI 1.0.3 §2.2, statement id).
    """

    __tablename__ = "xapi_outbox"
    __table_args__ = (
        UniqueConstraint("statement_id", "target"),
        Index("ix_xapi_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36))
    target: Mapped[str] = mapped_column(String(100), default="default")
    attempt_id: Mapped[int | None] = foreign_key("xapi_attempts", ondelete="SET NULL")
    # The organisation whose learner event wrote the row (its administrators see its
    # delivery); None for imported or pulled evidence and CLI recomputes: the operator's.
    organisation_id: Mapped[int | None] = foreign_key("organisations", ondelete="SET NULL")
    verb: Mapped[str] = mapped_column(String(200))
    # Whose statement this is (plugin.xapi.ledger.person_key of the actor's account), so that
    # an erasure finds every statement about a person (docs/ARCHITECTURE.md §10); None for
    # the tool's own voiding statements.
    person_key: Mapped[str | None] = mapped_column(String(64), index=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")

    attempt: Mapped[Attempt | None] = relationship()


class StatementLedger(Base):
    """A delivered statement whose outbox row retention purged: which LRS holds it and
    whose it is, so that an erasure can still void it (docs/ARCHITECTURE.md §10)."""

    __tablename__ = "xapi_statement_ledger"

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
