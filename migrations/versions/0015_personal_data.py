"""personal-data rights: whose each statement is, a ledger of purged ones, the access audit
and the counts erasures leave behind

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00.000000

Outbox rows get the person key of their statement's actor (docs/ARCHITECTURE.md §10), filled
here from the stored statements, so that an erasure finds every statement about a person.
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
BATCH = 500


def _person_key(statement: object) -> str | None:
    # The same rule as plugin.xapi.ledger.statement_person_key, frozen as of this revision.
    if isinstance(statement, str):
        statement = json.loads(statement)
    if not isinstance(statement, dict) or statement.get("verb", {}).get("id") == VOIDED:
        return None
    account = (statement.get("actor") or {}).get("account")
    if not isinstance(account, dict):
        return None
    text = f"{account.get('homePage', '')}\n{account.get('name', '')}"
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("xapi_outbox") as batch_op:
        batch_op.add_column(sa.Column("person_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_xapi_outbox_person_key"), ["person_key"])
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, statement FROM xapi_outbox WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        for row_id, statement in rows:
            key = _person_key(statement)
            if key is not None:
                connection.execute(
                    sa.text("UPDATE xapi_outbox SET person_key = :key WHERE id = :id"),
                    {"key": key, "id": row_id},
                )
        last = rows[-1][0]
    op.create_table(
        "xapi_statement_ledger",
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("delivered_at", plugin.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("statement_id", "target", name=op.f("pk_xapi_statement_ledger")),
    )
    op.create_index(
        op.f("ix_xapi_statement_ledger_person_key"), "xapi_statement_ledger", ["person_key"]
    )
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_privacy_audit_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_audit")),
    )
    op.create_index(op.f("ix_privacy_audit_at"), "privacy_audit", ["at"])
    op.create_index(op.f("ix_privacy_audit_organisation_id"), "privacy_audit", ["organisation_id"])
    op.create_index(op.f("ix_privacy_audit_subject"), "privacy_audit", ["subject"])
    op.create_table(
        "privacy_erased_counts",
        sa.Column("module_key", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("updated_at", plugin.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("module_key", name=op.f("pk_privacy_erased_counts")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("privacy_erased_counts")
    op.drop_index(op.f("ix_privacy_audit_subject"), table_name="privacy_audit")
    op.drop_index(op.f("ix_privacy_audit_organisation_id"), table_name="privacy_audit")
    op.drop_index(op.f("ix_privacy_audit_at"), table_name="privacy_audit")
    op.drop_table("privacy_audit")
    op.drop_index(op.f("ix_xapi_statement_ledger_person_key"), table_name="xapi_statement_ledger")
    op.drop_table("xapi_statement_ledger")
    with op.batch_alter_table("xapi_outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_xapi_outbox_person_key"))
        batch_op.drop_column("person_key")
