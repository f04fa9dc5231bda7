"""registration frame origins

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 23:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("lti_registrations") as batch_op:
        batch_op.add_column(
            sa.Column("frame_origins", sa.String(length=2000), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("lti_registrations") as batch_op:
        batch_op.drop_column("frame_origins")
