"""Fixtures for the sandbox LMS: an app with the sandbox on, and a browser on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.support.sandbox import PLATFORM, AppTransport, Browser, sandbox_app_on


@pytest.fixture
def sandbox_app(tmp_path: Path, sandbox_sqlite: Path) -> Iterator[Flask]:
    """An app with the sandbox on, the framework loaded, platform and tool on two hosts."""
    application = sandbox_app_on(tmp_path, sandbox_sqlite)
    application.extensions["plugin.keysets"].http.mount(PLATFORM + "/", AppTransport(application))
    yield application
    application.extensions["plugin.db"].dispose()


@pytest.fixture
def browser(sandbox_app: Flask) -> Browser:
    """A browser on the sandbox app."""
    return Browser(sandbox_app.test_client())
