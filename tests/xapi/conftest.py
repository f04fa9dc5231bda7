"""Fixtures for the delivery tests: apps whose statement outbox a test fills and reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from plugin import create_app
from tests.support.app import app_config, copy_database
from tests.support.outbox import Outbox


@pytest.fixture
def make_outbox(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Callable[..., Outbox]]:
    """Build apps on their own SQLite database with ``xapi`` settings overrides."""
    apps: list[Flask] = []

    def build(**xapi: Any) -> Outbox:
        folder = tmp_path / f"app-{len(apps)}"
        folder.mkdir()
        database_url = copy_database(migrated_sqlite, folder)
        application = create_app(app_config(folder, database_url, xapi=xapi))
        apps.append(application)
        return Outbox(application)

    yield build
    for application in apps:
        application.extensions["plugin.db"].dispose()
