"""rollup indexes for a full recompute: covering evidence index, one attainment index less

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 23:30:00.000000

A full recompute reads every learner's evidence chunk by chunk, by learner id range; with
the observation time, source id, level and score in the index it reads the index alone, in
learner order, instead of visiting a table page per row (PostgreSQL: an index-only scan in
place of a bitmap heap scan over most of the table for each chunk). It writes attainment in
bulk, and the single-column index on rollup_attainment.learner_id only repeated the prefix
of the (learner_id, item_id) unique constraint's index: every write paid for both.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = ["learner_id", "item_id", "observed_at", "source_id", "level", "score"]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("rollup_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_evidence_learner_item")
        batch_op.create_index("ix_rollup_evidence_learner_item", COVERING, unique=False)
    with op.batch_alter_table("rollup_attainment", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_attainment_learner_id")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("rollup_attainment", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_attainment_learner_id", ["learner_id"], unique=False)
    with op.batch_alter_table("rollup_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_evidence_learner_item")
        batch_op.create_index(
            "ix_rollup_evidence_learner_item", ["learner_id", "item_id"], unique=False
        )
