"""The organisations table: an agency with its own registrations, modules and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UTCDateTime, utcnow

# The organisation existing data moved into when organisations were introduced, and where a
# registration added without --organisation goes.
DEFAULT_KEY = "default"


class Organisation(Base):
    """An agency: groups LMS registrations; owns modules and API tokens; sees only its people."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
