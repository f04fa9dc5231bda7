"""Fixtures of the content tests: a module of the default organisation, and an app on
PostgreSQL for the tests that need its locking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from plugin import create_app
from plugin.competencies.framework import load_framework
from plugin.core.db import create_db_engine
from plugin.core.migrate import upgrade_database
from tests.support.app import IRI_BASE, app_config
from tests.support.scorm import tagged_module


@pytest.fixture
def module_key(app: Flask) -> str:
    """A page module of the default organisation, to attach packages to."""
    return tagged_module(app, [])[0]


@pytest.fixture
def pg_app(tmp_path: Path, postgres_url: str, framework_data: dict[str, Any]) -> Iterator[Flask]:
    """An app on a fresh PostgreSQL schema at ``head`` with the framework loaded."""
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    with Session(engine) as session:
        load_framework(session, framework_data, IRI_BASE)
        session.commit()
    engine.dispose()
    application = create_app(app_config(tmp_path, postgres_url))
    yield application
    application.extensions["plugin.db"].dispose()
