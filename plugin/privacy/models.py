"""Tables of personal-data rights: the access audit and the counts erasures leave behind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow


class AuditEntry(Base):
    """Who read or exported whose records, when, in which organisation (docs/ARCHITECTURE.md
    §10). Holds opaque ids only: a learner id, a person id, a token id, never a name."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The organisation whose administrators read the entry; None: the operator's only.
    organisation_id: Mapped[int | None] = foreign_key("organisations", ondelete="SET NULL")
    # learner | designer | administrator | token | operator
    actor_role: Mapped[str] = mapped_column(String(20))
    # "person <lti_people.id>", "token <api_tokens.id>" or "operator".
    actor_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    # "learner <id>", "course <context> <n> people", "organisation <n> people", a person key.
    subject: Mapped[str] = mapped_column(String(255), index=True)


class ErasedCount(Base):
    """What erased people had done in one module, without saying who: report totals stay
    right after an erasure (docs/ARCHITECTURE.md §10)."""

    __tablename__ = "privacy_erased_counts"

    module_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    passed: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
