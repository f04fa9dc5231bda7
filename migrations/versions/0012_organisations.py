"""organisations: agencies own registrations, modules and API tokens

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:50:00.000000

Existing data moves into one default organisation: every registration, every module a
designer made, every API token. The demo catalog (modules made from the framework file)
belongs to no organisation.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_KEY = "default"
DEFAULT_NAME = "Default organisation"
SEED_ORIGINS = ("seed", "seed-edited")


def upgrade() -> None:
    """Apply this revision."""
    organisations = op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("key", name=op.f("uq_organisations_key")),
    )
    op.bulk_insert(
        organisations,
        [{"id": 1, "key": DEFAULT_KEY, "name": DEFAULT_NAME, "created_at": datetime.now(UTC)}],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id above does not advance the sequence.
        op.execute("SELECT setval(pg_get_serial_sequence('organisations', 'id'), 1)")

    with op.batch_alter_table("lti_registrations") as batch_op:
        batch_op.add_column(
            sa.Column("organisation_id", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("lti_registrations") as batch_op:
        batch_op.alter_column("organisation_id", server_default=None)
        batch_op.create_index(
            batch_op.f("ix_lti_registrations_organisation_id"), ["organisation_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lti_registrations_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("competency_modules") as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_competency_modules_organisation_id"), ["organisation_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_competency_modules_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    modules = sa.table("competency_modules", sa.column("origin"), sa.column("organisation_id"))
    op.execute(
        modules.update().where(modules.c.origin.notin_(SEED_ORIGINS)).values(organisation_id=1)
    )

    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_tokens_organisation_id"), ["organisation_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="CASCADE",
        )
    tokens = sa.table("api_tokens", sa.column("organisation_id"))
    op.execute(tokens.update().values(organisation_id=1))


def downgrade() -> None:
    """Revert this revision."""
    for table in ("api_tokens", "competency_modules", "lti_registrations"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_organisation_id_organisations"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_organisation_id"))
            batch_op.drop_column("organisation_id")
    op.drop_table("organisations")
