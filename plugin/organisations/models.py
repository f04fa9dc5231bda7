"""The organisations table (an agency with its own registrations, modules and API tokens), and
the JSON API's bearer tokens, stored as SHA-256 hashes with their scopes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow

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


class ApiToken(Base):
    """A bearer token of the JSON API; only its public prefix and its hash are kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public part of the token (``dct.<prefix>.<secret>``): finds the row, proves nothing.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # The organisation whose data the token reads; None: the operator's token, reads all.
    organisation_id: Mapped[int | None] = foreign_key("organisations", ondelete="CASCADE")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        """True until the token is revoked."""
        return self.revoked_at is None
