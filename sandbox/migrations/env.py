"""Alembic environment of the sandbox's tables, on the engine sandbox/migrate.py hands over."""

from __future__ import annotations

from alembic import context

from sandbox.migrate import VERSION_TABLE, is_sandbox_table
from sandbox.models import SandboxBase

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SandboxBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
        compare_type=True,
        include_name=is_sandbox_table,  # the tool's tables belong to migrations/
    )
    with context.begin_transaction():
        context.run_migrations()
