"""statement outbox rows name the organisation whose learner event wrote them

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-04 09:00:00.000000

An organisation's administrator sees the delivery of their organisation's statements only.
Rows written by a learner's attempt are attributed through the attempt's launch; rows
without one (imported or pulled evidence, level changes recomputed from the CLI) stay
unattributed and only the operator sees them (``xapi status``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("xapi_outbox") as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_xapi_outbox_organisation_id"), ["organisation_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_xapi_outbox_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # One correlated UPDATE (PostgreSQL and SQLite alike): outbox row → attempt → launch →
    # deployment → registration → organisation. Attempts whose launch is gone stay NULL.
    op.execute(
        """
        UPDATE xapi_outbox SET organisation_id = (
            SELECT lti_registrations.organisation_id
            FROM xapi_attempts
            JOIN lti_launches ON lti_launches.id = xapi_attempts.launch_id
            JOIN lti_deployments ON lti_deployments.id = lti_launches.deployment_id
            JOIN lti_registrations ON lti_registrations.id = lti_deployments.registration_id
            WHERE xapi_attempts.id = xapi_outbox.attempt_id
        )
        WHERE attempt_id IS NOT NULL
        """
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("xapi_outbox") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_xapi_outbox_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_xapi_outbox_organisation_id"))
        batch_op.drop_column("organisation_id")
