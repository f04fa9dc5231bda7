"""Tables of the roll-up: people and their identities and grades, evidence, attainment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow


class Learner(Base):
    """One civil servant, however many platform identities they learn under."""

    __tablename__ = "rollup_learners"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Grade key of the framework (junior, intermediate, senior, supervisor), "" when unknown.
    grade: Mapped[str] = mapped_column(String(40), default="")
    grade_source: Mapped[str] = mapped_column(String(40), default="")
    # The value of the linking claim (e.g. an employee number), when identities are linked.
    link_key: Mapped[str] = mapped_column(String(255), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[Identity]] = relationship(back_populates="learner")


class Identity(Base):
    """A platform identity (issuer, sub) of a learner."""

    __tablename__ = "rollup_identities"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = foreign_key("rollup_learners", ondelete="CASCADE")
    issuer: Mapped[str] = mapped_column(String(500))
    sub: Mapped[str] = mapped_column(String(255))
    linked_by: Mapped[str] = mapped_column(String(40), default="")

    learner: Mapped[Learner] = relationship(back_populates="identities")


class Evidence(Base):
    """One observation of an item: a score or a success, at the tag's level, when observed."""

    __tablename__ = "rollup_evidence"
    __table_args__ = (
        UniqueConstraint("source_id", "item_id"),
        # Covers what a recompute reads of a learner's evidence (migration 0010), so the
        # index alone answers it, in learner order.
        Index(
            "ix_rollup_evidence_learner_item",
            "learner_id",
            "item_id",
            "observed_at",
            "source_id",
            "level",
            "score",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("rollup_learners.id", ondelete="CASCADE"))
    # Item code of the framework: DCn, DCn-Km, DCn-Sm or ATn.
    item_id: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # statement | import | pull; source_id is the statement id or the import row id.
    source_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(255))
    module_key: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attainment(Base):
    """A learner's computed value and level for one item, with the evidence behind it."""

    __tablename__ = "rollup_attainment"
    # The unique constraint's index also serves look-ups by learner (its first column).
    __table_args__ = (UniqueConstraint("learner_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("rollup_learners.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    level: Mapped[int] = mapped_column(Integer, default=0)
    evidence_ids: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PullCursor(Base):
    """How far ``evidence pull`` has read an LRS (the ``stored`` time of the last statement)."""

    __tablename__ = "rollup_pull_cursors"

    target: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[str] = mapped_column(String(40), default="")
    last_statement_id: Mapped[str] = mapped_column(String(36), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
