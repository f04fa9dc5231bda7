"""The sandbox's tables come from its own Alembic history, only where the sandbox is enabled."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from plugin import create_app
from plugin.core.db import create_db_engine
from plugin.core.migrate import current_revision, is_tool_table, upgrade_database
from plugin.models import import_all_models
from sandbox.migrate import VERSION_TABLE, downgrade_sandbox, is_sandbox_table, upgrade_sandbox
from sandbox.models import SandboxBase, SandboxCourse
from tests.support.app import app_config

SANDBOX_TABLES = set(SandboxBase.metadata.tables)


def sandbox_tables(url: str) -> set[str]:
    """The sandbox_* tables of the database at ``url``."""
    engine = create_db_engine(url)
    tables = {name for name in inspect(engine).get_table_names() if name.startswith("sandbox_")}
    engine.dispose()
    return tables


def test_db_upgrade_with_the_sandbox_enabled_creates_its_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    app = create_app(app_config(tmp_path, url, sandbox={"enabled": True}))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    app.extensions["plugin.db"].dispose()
    assert result.exit_code == 0, result.output
    assert sandbox_tables(url) == SANDBOX_TABLES | {VERSION_TABLE}


def test_db_upgrade_with_the_sandbox_disabled_creates_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    app = create_app(app_config(tmp_path, url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    app.extensions["plugin.db"].dispose()
    assert result.exit_code == 0, result.output
    assert sandbox_tables(url) == set()


def test_sandbox_migrations_leave_no_difference_to_its_models(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    upgrade_database(engine)
    upgrade_sandbox(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": is_sandbox_table,  # the tool's tables are not its models
            },
        )
        differences = compare_metadata(context, SandboxBase.metadata)
    engine.dispose()
    assert differences == []


def test_the_tools_autogenerate_leaves_the_sandbox_tables_alone(tmp_path: Path) -> None:
    # `flask --app plugin db revision` on a development database must not drop them.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    upgrade_database(engine)
    upgrade_sandbox(engine)
    with engine.connect() as connection:
        unfiltered = MigrationContext.configure(connection, opts={"compare_type": True})
        removed = {
            diff[1].name
            for diff in compare_metadata(unfiltered, import_all_models().metadata)
            if diff[0] == "remove_table"
        }
        filtered = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": is_tool_table}
        )
        differences = compare_metadata(filtered, import_all_models().metadata)
    engine.dispose()
    assert removed == SANDBOX_TABLES | {VERSION_TABLE}  # what the hook keeps out
    assert differences == []


def test_a_database_that_had_the_tables_from_the_old_0003_keeps_its_rows(tmp_path: Path) -> None:
    # Before the move, the tool's revision 0003 created these tables in every database.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old-dev.sqlite3'}")
    upgrade_database(engine)
    SandboxBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(SandboxCourse(context_id="kept-course", title="Kept"))
        session.commit()
    tool_revision = current_revision(engine)
    upgrade_sandbox(engine)
    with Session(engine) as session:
        assert session.scalars(select(SandboxCourse.context_id)).all() == ["kept-course"]
    with engine.connect() as connection:
        stamped = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    assert stamped == [("sandbox_0001",)]
    assert current_revision(engine) == tool_revision  # the tool's chain is untouched
    engine.dispose()


def test_sandbox_downgrade_drops_only_its_own_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    engine = create_db_engine(url)
    upgrade_database(engine)
    tool_tables = set(inspect(engine).get_table_names())
    upgrade_sandbox(engine)
    downgrade_sandbox(engine, "base")
    assert set(inspect(engine).get_table_names()) - {VERSION_TABLE} == tool_tables
    engine.dispose()
