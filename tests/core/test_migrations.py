"""Schema only through Alembic: ``upgrade head`` on an empty database equals the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from plugin.core.db import create_db_engine
from plugin.core.migrate import current_revision, downgrade_database, upgrade_database
from plugin.models import import_all_models


def schema_differences(url: str) -> list[object]:
    """Migrate an empty database at ``url`` to head and diff it against the models."""
    engine = create_db_engine(url)
    try:
        upgrade_database(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, import_all_models().metadata)
    finally:
        engine.dispose()


def test_sqlite_upgrade_head_leaves_no_difference_to_the_models(tmp_path: Path) -> None:
    assert schema_differences(f"sqlite:///{tmp_path / 'fresh.sqlite3'}") == []


@pytest.mark.postgres
def test_postgres_upgrade_head_leaves_no_difference_to_the_models(postgres_url: str) -> None:
    assert schema_differences(postgres_url) == []


def test_every_model_table_is_created_by_migrations(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    upgrade_database(engine)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(import_all_models().metadata.tables)
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    upgrade_database(engine)
    head = current_revision(engine)
    downgrade_database(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(engine)
    assert current_revision(engine) == head
    engine.dispose()
