"""Fixtures for the sandbox LMS: an app with the sandbox on, and a browser on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from plugin import create_app
from tests.support.app import app_config
from tests.support.flows import TOOL
from tests.support.sandbox import PLATFORM, AppTransport, Browser


@pytest.fixture
def sandbox_app(tmp_path: Path, sandbox_sqlite: Path) -> Iterator[Flask]:
    """An app with the sandbox on, the framework loaded, platform and tool on two hosts."""
    database = tmp_path / "plugin.sqlite3"
    shutil.copy(sandbox_sqlite, database)
    config = app_config(
        tmp_path,
        f"sqlite:///{database}",
        sandbox={"enabled": True, "platform_url": PLATFORM},
        lti={"base_url": TOOL},
    )
    application = create_app(config)
    application.extensions["plugin.keysets"].http.mount(PLATFORM + "/", AppTransport(application))
    yield application
    application.extensions["plugin.db"].dispose()


@pytest.fixture
def browser(sandbox_app: Flask) -> Browser:
    """A browser on the sandbox app."""
    return Browser(sandbox_app.test_client())
