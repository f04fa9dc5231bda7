"""package versions keep their organization's SCORM 2004 control mode

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09 09:00:00.000000

The player's flow and choice navigation follow the organization's imsss:controlMode (SCORM 2004
SN §3.2); the clusters' own modes and hideLMSUI travel in the item tree. Versions stored before
have none, which reads as the specification's defaults (choice, no flow).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("content_package_versions") as batch_op:
        batch_op.add_column(
            sa.Column("control_mode", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("content_package_versions") as batch_op:
        batch_op.drop_column("control_mode")
