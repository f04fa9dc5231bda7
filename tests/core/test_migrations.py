"""Schema only through Alembic: ``upgrade head`` on an empty database equals the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from plugin import create_app
from plugin.core.db import create_db_engine
from plugin.core.migrate import current_revision, downgrade_database, upgrade_database
from plugin.models import import_all_models
from tests.support.app import app_config


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


def test_a_production_database_gets_no_sandbox_table(tmp_path: Path) -> None:
    database = tmp_path / "production.sqlite3"
    app = create_app(
        app_config(
            tmp_path,
            f"sqlite:///{database}",
            env="production",
            lti={"base_url": "https://tool.example.gov.tw"},
            xapi={"lrs": [{"name": "lrs", "endpoint": "https://lrs.example.gov.tw/xAPI/"}]},
        )
    )
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    app.extensions["plugin.db"].dispose()
    engine = create_db_engine(f"sqlite:///{database}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert "lti_launches" in tables  # the tool's own chain ran
    assert not [table for table in tables if table.startswith("sandbox")]


def test_the_tool_models_hold_no_sandbox_table() -> None:
    assert not [name for name in import_all_models().metadata.tables if "sandbox" in name]
