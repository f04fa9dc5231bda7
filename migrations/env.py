"""Alembic environment: runs on the engine the tool hands over (see plugin.core.migrate)."""

from __future__ import annotations

from alembic import context

from plugin.core.db import Base
from plugin.core.migrate import is_tool_table
from plugin.models import import_all_models

import_all_models()
target_metadata = Base.metadata
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
        compare_type=True,
        include_name=is_tool_table,  # a development database also holds the sandbox's tables
    )
    with context.begin_transaction():
        context.run_migrations()
