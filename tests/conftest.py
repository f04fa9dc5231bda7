"""Shared fixtures: an app per test on its own database, PostgreSQL when reachable, the LTI
test platform registered with it and a login/launch driver, and the session's Ralph LRS."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from plugin import create_app
from plugin.competencies.framework import load_framework, read_framework_file
from plugin.core.db import create_db_engine, normalise_url
from plugin.core.migrate import upgrade_database
from tests.support.app import IRI_BASE, app_config, app_factory, copy_database
from tests.support.flows import Flow, register
from tests.support.grades import GradesWorld, build_world
from tests.support.lrs import RalphServer, start_ralph
from tests.support.platform import TestPlatform, running_platform
from tests.support.sandbox import Browser

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at ``head``, made once and copied for each test (fast isolation)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def framework_data() -> dict[str, Any]:
    """The bundled framework file, parsed and checked once."""
    return read_framework_file()


@pytest.fixture(scope="session")
def seeded_sqlite(migrated_sqlite: Path, framework_data: dict[str, Any]) -> Path:
    """A SQLite file at ``head`` with the bundled framework loaded."""
    path = migrated_sqlite.with_name("seeded.sqlite3")
    shutil.copy(migrated_sqlite, path)
    engine = create_db_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        load_framework(session, framework_data, IRI_BASE)
        session.commit()
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def sandbox_sqlite(seeded_sqlite: Path) -> Path:
    """The seeded SQLite file with the sandbox LMS's own tables (its Alembic history) added."""
    from sandbox.migrate import upgrade_sandbox  # a development package, not the product's

    path = seeded_sqlite.with_name("sandbox.sqlite3")
    shutil.copy(seeded_sqlite, path)
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_sandbox(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(tmp_path: Path, seeded_sqlite: Path) -> Iterator[Flask]:
    """An app on its own SQLite database, migrated, with the seed framework loaded."""
    application = create_app(app_config(tmp_path, copy_database(seeded_sqlite, tmp_path)))
    yield application
    application.extensions["plugin.db"].dispose()


@pytest.fixture
def empty_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    """An app on its own migrated SQLite database with no framework loaded."""
    application = create_app(app_config(tmp_path, copy_database(migrated_sqlite, tmp_path)))
    yield application
    application.extensions["plugin.db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def session(empty_app: Flask) -> Iterator[Session]:
    """A session on a migrated, empty database; rolled back and closed afterwards."""
    db_session = empty_app.extensions["plugin.db"].sessions()
    yield db_session
    db_session.rollback()
    db_session.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL test server, or a skip (a failure under CI=true) when none answers."""
    url = normalise_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema of their own (dropped afterwards)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database, once on SQLite and once (marker ``postgres``) on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = create_db_engine(url)
    yield database
    database.dispose()


@pytest.fixture
def make_app(tmp_path: Path, seeded_sqlite: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps with settings overrides, e.g. ``make_app(lti={"clock_leeway_seconds": 0})``."""
    with app_factory(tmp_path, seeded_sqlite) as build:
        yield build


@pytest.fixture
def platform(app: Flask) -> Iterator[TestPlatform]:
    """A test platform registered with the app, its deployment active."""
    with running_platform() as test_platform:
        register(app, test_platform)
        yield test_platform


@pytest.fixture
def tool(app: Flask) -> FlaskClient:
    """A browser on the tool over HTTPS (the state cookie is Secure)."""
    return app.test_client()


@pytest.fixture
def flow(tool: FlaskClient, platform: TestPlatform) -> Flow:
    """Login/launch driver for the registered test platform."""
    return Flow(tool, platform)


@pytest.fixture
def sandbox_world(tmp_path: Path, sandbox_sqlite: Path) -> Iterator[GradesWorld]:
    """The sandbox LMS and the tool in one app, the tool's outbound calls scripted and recorded."""
    app, transport = build_world(tmp_path, sandbox_sqlite)
    yield GradesWorld(app, transport, Browser(app.test_client()))
    app.extensions["plugin.db"].dispose()


@pytest.fixture(scope="session")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphServer]:
    """A running Ralph LRS for the whole session (started by the launcher, stopped after)."""
    server = start_ralph(tmp_path_factory.mktemp("ralph") / "data")
    yield server
    server.stop()
    server.http.close()


@pytest.fixture
def running_ralph(ralph: RalphServer) -> RalphServer:
    """The session's Ralph, started again if a test left it stopped."""
    if ralph.process is None or ralph.process.poll() is not None:
        ralph.start()
    return ralph
