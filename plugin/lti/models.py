"""Tables of the LTI layer: platforms, deployments, tool keys, login states, people, launches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.core.db import Base, UTCDateTime, foreign_key, utcnow
from plugin.organisations.models import Organisation


class Registration(Base):
    """A platform registration: one issuer may have many client_ids (Canvas does)."""

    __tablename__ = "lti_registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str] = mapped_column(String(1000), default="")
    key_set_url: Mapped[str] = mapped_column(String(1000))
    # Origins, space-separated, where the platform shows the tool besides its issuer's and
    # login URL's (Canvas: the school's own domain); they go into CSP frame-ancestors.
    frame_origins: Mapped[str] = mapped_column(String(2000), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    # The agency whose people launch through this registration (docs/ARCHITECTURE.md, tenants).
    organisation_id: Mapped[int] = foreign_key("organisations", ondelete="RESTRICT")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="registration", order_by="Deployment.id", cascade="all, delete-orphan"
    )


class Deployment(Base):
    """A deployment of the tool in a platform; unknown ones wait for an administrator."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = foreign_key("lti_registrations", ondelete="CASCADE")
    deployment_id: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship(back_populates="deployments")


class ToolKey(Base):
    """An RSA key the tool signs with; the private half is encrypted with the app secret."""

    __tablename__ = "lti_tool_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retire_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginState(Base):
    """An OIDC login in flight: the state and nonce the launch must come back with."""

    __tablename__ = "lti_login_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    registration_id: Mapped[int] = foreign_key("lti_registrations", ondelete="CASCADE")
    storage_target: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Person(Base):
    """A person as a platform knows them: (issuer, sub). Names and email only when sent."""

    __tablename__ = "lti_people"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    given_name: Mapped[str] = mapped_column(String(255), default="")
    family_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    locale: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_launch_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Launch(Base):
    """One accepted launch; the launch token on later pages points at it."""

    __tablename__ = "lti_launches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[int] = foreign_key("lti_people", ondelete="CASCADE")
    deployment_id: Mapped[int] = foreign_key("lti_deployments", ondelete="CASCADE")
    message_type: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    roles: Mapped[list[str]] = mapped_column(JSON)
    context_id: Mapped[str] = mapped_column(String(255), default="")
    context_title: Mapped[str] = mapped_column(Text, default="")
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    resource_link_title: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(35), default="")
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    person: Mapped[Person] = relationship()
    deployment: Mapped[Deployment] = relationship()


class GradeOutbox(Base):
    """A score waiting for (or past) delivery to a platform line item (LTI AGS 2.0 §3.4).

    Written in the same transaction as the learner event that earned it, and sent by a
    worker, so that no grade is lost while the platform is down.
    """

    __tablename__ = "lti_grade_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = foreign_key("lti_registrations", ondelete="CASCADE")
    line_item_url: Mapped[str] = mapped_column(String(1000), default="")
    line_items_url: Mapped[str] = mapped_column(String(1000), default="")
    resource_id: Mapped[str] = mapped_column(String(255), default="")
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    user_sub: Mapped[str] = mapped_column(String(255))
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")

    registration: Mapped[Registration] = relationship()
