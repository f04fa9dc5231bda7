"""Fixtures shared by the hardening tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.hardening.fuzz_support import strictest_app


@pytest.fixture
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path: Path, framework_data: dict[str, Any]
) -> Iterator[Flask]:
    """A seeded app on PostgreSQL (SQLite where none answers outside CI)."""
    with strictest_app(request, tmp_path, framework_data) as application:
        yield application
